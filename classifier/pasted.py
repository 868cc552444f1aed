"""Code descriptions pasted into a notice's products text.

ePing products cells read ``<text> (HS code(s): 8450); <text> (ICS code(s): 71.100.70)``. Often ``<text>`` is
the member's own product name ("Washing machines and washer-dryers"); often it is the nomenclature title of the
code, pasted ("TANNING OR DYEING EXTRACTS; ... DYES, PIGMENTS ... INKS" for chapter 32 on a wood-primer
standard, "Cosmetics. Toiletries" for ICS 71.100.70 on milking jelly for cows' udders). A pasted title is the
code in words: the HS/ICS rules already weigh the code by how specific it is, so reading its words again as
keywords counts the same evidence twice, and a broad title (a whole chapter) names products the notice is not
about. :class:`CodeTexts` splits a products text into the member's words and the pasted titles.

A segment counts as pasted when nearly all its words (``PASTED_SHARE``) occur in the titles of the codes
listed in its parenthesis or of their parents (chapter, heading; ICS field and group).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from classifier.text import tokens, without_exclusions

ICS_TITLES = Path(__file__).resolve().parent / "data" / "ics_titles.tsv"
PASTED_SHARE = 0.85

CODES_IN_PARENTHESES = re.compile(r"\(\s*(HS|ICS)\s*codes?\s*(?:\(s\))?\s*:\s*([^)]*)\)", re.I)
_SEPARATORS = " ;,.\n\t"
#: words too common to tell a pasted title from the member's text
_STOP = frozenset(
    [
        "and",
        "or",
        "of",
        "for",
        "the",
        "with",
        "in",
        "other",
        "not",
        "whether",
        "than",
        "their",
        "thereof",
        "incl",
    ]
)


@dataclass(frozen=True, slots=True)
class ProductsText:
    """A products text split in two."""

    own: str
    pasted: str


def read_titles(path: Path) -> dict[str, str]:
    """``code<TAB>title`` lines (``#`` comments skipped); empty when the file is missing."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, _, title = line.partition("\t")
            out[code.strip()] = title.strip()
    return out


class CodeTexts:
    """Recognises HS and ICS titles pasted into products text."""

    def __init__(self, hs: dict[str, str], ics: dict[str, str]) -> None:
        self._titles = {"hs": hs, "ics": ics}
        self._words = lru_cache(maxsize=20_000)(self._code_words)

    def split(self, products: str) -> ProductsText:
        """The member's own words and the pasted code titles of ``products``."""
        if "code" not in products.lower():
            return ProductsText(products, "")
        own: list[str] = []
        pasted: list[str] = []
        last = 0
        for m in CODES_IN_PARENTHESES.finditer(products):
            segment = products[last : m.start()]
            last = m.end()
            kind = m.group(1).lower()
            codes = [
                c.strip().replace(".", "") if kind == "hs" else c.strip()
                for c in re.split(r"[;,]", m.group(2))
            ]
            vocab: set[str] = set()
            for code in codes:
                if code:
                    vocab |= self._words(kind, code)
            mine, theirs = self._divide(segment, vocab)
            own.append(mine)
            pasted.append(theirs)
        own.append(products[last:])
        return ProductsText(_join(own), _join(pasted))

    def _divide(self, segment: str, vocab: set[str]) -> tuple[str, str]:
        """The longest ``;``-suffix of ``segment`` that is a pasted title goes to the second part."""
        if not vocab:
            return segment, ""
        pieces = segment.split(";")
        # words and words-in-vocab of each piece, counted once; a tail's counts are suffix sums (linear time
        # however many pieces a hostile products text has)
        counts = []
        for piece in pieces:
            # a pasted HS title keeps its own exclusions ("(excl. household or laundry-type washing machines)"),
            # which the nomenclature titles do not carry: they are not counted either way
            words = [t for t in tokens(without_exclusions(piece)) if t not in _STOP and len(t) > 1]
            counts.append((len(words), sum(t in vocab for t in words)))
        total = [0, 0]
        tails = []
        for n, hit in reversed(counts):
            total = [total[0] + n, total[1] + hit]
            tails.append(tuple(total))
        tails.reverse()
        cut = 0
        for piece, (n, hit) in zip(pieces, tails, strict=True):
            if n and hit >= PASTED_SHARE * n:
                return segment[:cut], segment[cut:]
            cut += len(piece) + 1
        return segment, ""

    def _code_words(self, kind: str, code: str) -> frozenset[str]:
        titles = self._titles[kind]
        if kind == "hs":
            keys = [code[:n] for n in range(2, len(code) + 1, 2)]
        else:
            parts = code.split(".")
            keys = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
        return frozenset(t for key in keys for t in tokens(titles.get(key, "")))


def _join(parts: list[str]) -> str:
    return "; ".join(p.strip(_SEPARATORS) for p in parts if p.strip(_SEPARATORS))
