"""WTO document symbols: parsing, normalisation and the links between a measure's documents.

Forms handled (whitespace anywhere and any letter case are tolerated on input)::

    G/TBT/N/EU/1050                 regular notification
    G/SPS/N/THA/155/Rev.2/Add.1     suffixes stack: Add, Rev, Corr, Suppl, each with a number
    G/TBT/Notif.00/005              pre-2000 TBT numbering (year and sequence kept as written)

A cell may hold a joint notification, several symbols separated by commas or semicolons
(``G/TBT/N/BDI/608, G/TBT/N/KEN/1808``); :func:`split_symbols` returns each. tbtwatch stores one
notice per symbol and lists the others of the same joint notification in ``Notice.joint_ids``.

>>> s = parse(" g/sps/n/tha/155/rev. 2/add.1 ")
>>> str(s), s.base_id, s.doc_type
('G/SPS/N/THA/155/Rev.2/Add.1', 'G/SPS/N/THA/155', 'addendum')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tbtwatch.errors import SymbolError

SUFFIXES: dict[str, str] = {"ADD": "Add", "REV": "Rev", "CORR": "Corr", "SUPPL": "Suppl"}
_SUFFIX_DOC_TYPE: dict[str, str] = {
    "Add": "addendum",
    "Rev": "revision",
    "Corr": "corrigendum",
    "Suppl": "supplement",
}
_MODERN = re.compile(r"^G/(TBT|SPS)/N/([A-Z]{2,4})/(\d{1,6})((?:/(?:ADD|REV|CORR|SUPPL)\.?\d{1,4})*)$")
_OLD = re.compile(r"^G/(TBT)/NOTIF\.(\d{2})/(\d{1,5})((?:/(?:ADD|REV|CORR|SUPPL)\.?\d{1,4})*)$")
_SUFFIX = re.compile(r"/(ADD|REV|CORR|SUPPL)\.?(\d{1,4})")
_SPLIT = re.compile(r"[,;\n]+")
_MAX_LEN = 120


@dataclass(frozen=True, slots=True)
class Symbol:
    """A parsed WTO TBT/SPS document symbol; ``str()`` gives the normalised form."""

    area: str  # "TBT" or "SPS"
    member: str | None  # None for pre-2000 G/TBT/Notif.YY/NNN symbols
    number: str  # "1050", or "005" for old symbols (kept as written)
    year: str | None = None  # two-digit year of pre-2000 symbols
    suffixes: tuple[tuple[str, int], ...] = ()

    def __str__(self) -> str:
        if self.year is not None:
            head = f"G/{self.area}/Notif.{self.year}/{self.number}"
        else:
            head = f"G/{self.area}/N/{self.member}/{self.number}"
        return head + "".join(f"/{name}.{n}" for name, n in self.suffixes)

    @property
    def kind(self) -> str:
        """``tbt`` or ``sps``."""
        return self.area.lower()

    @property
    def base(self) -> Symbol:
        """The regular notification this document belongs to (suffixes removed)."""
        return Symbol(self.area, self.member, self.number, self.year, ())

    @property
    def base_id(self) -> str:
        """Normalised symbol of :attr:`base`."""
        return str(self.base)

    @property
    def parent(self) -> Symbol | None:
        """The document this one amends (last suffix removed), or None for a base symbol."""
        if not self.suffixes:
            return None
        return Symbol(self.area, self.member, self.number, self.year, self.suffixes[:-1])

    @property
    def doc_type(self) -> str:
        """Structural type from the last suffix: regular, addendum, revision, corrigendum, supplement."""
        if not self.suffixes:
            return "regular"
        return _SUFFIX_DOC_TYPE[self.suffixes[-1][0]]


def parse(text: str) -> Symbol:
    """Parse one symbol; raise :class:`SymbolError` naming the problem when it is not one."""
    if not isinstance(text, str):
        raise SymbolError(f"document symbol must be text, got {type(text).__name__}")
    if len(text) > _MAX_LEN:
        raise SymbolError(f"document symbol is too long ({len(text)} characters)")
    compact = re.sub(r"\s+", "", text).upper().rstrip("/.")
    if not compact:
        raise SymbolError("document symbol is empty")
    m = _MODERN.match(compact)
    if m:
        area, member, number, tail = m.groups()
        return Symbol(area, member, str(int(number)), None, _parse_suffixes(tail))
    m = _OLD.match(compact)
    if m:
        area, year, number, tail = m.groups()
        return Symbol(area, None, number, year, _parse_suffixes(tail))
    if _SPLIT.search(compact):
        raise SymbolError(f"{text.strip()!r} holds several symbols; split it with split_symbols()")
    raise SymbolError(
        f"{text.strip()!r} is not a WTO TBT/SPS document symbol "
        "(expected G/TBT/N/<MEMBER>/<n> or G/SPS/N/<MEMBER>/<n>, optional /Add.k /Rev.k /Corr.k /Suppl.k)"
    )


def _parse_suffixes(tail: str) -> tuple[tuple[str, int], ...]:
    out = []
    for name, num in _SUFFIX.findall(tail):
        n = int(num)
        if n == 0:
            raise SymbolError(f"suffix /{SUFFIXES[name]}.0 is not valid: numbering starts at 1")
        out.append((SUFFIXES[name], n))
    return tuple(out)


def normalise(text: str) -> str:
    """Return the normalised form of one symbol (``parse(text)`` as text)."""
    return str(parse(text))


def split_symbols(cell: str) -> list[Symbol]:
    """Parse a cell that may hold a joint notification (symbols separated by ``,`` ``;`` or newlines).

    Duplicates are dropped, order is kept; one bad part makes the whole cell invalid.
    """
    parts = [p for p in _SPLIT.split(cell or "") if p.strip()]
    if not parts:
        raise SymbolError("document symbol is empty")
    seen: dict[str, Symbol] = {}
    for part in parts:
        sym = parse(part)
        seen.setdefault(str(sym), sym)
    return list(seen.values())
