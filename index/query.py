"""The query language shared by every backend: :class:`Query` (text plus filters) and the text parser.

Text syntax (operators in capitals; everything else is a word)::

    battery                      English words are stemmed: finds battery, batteries
    玩具  锂电池                   Chinese matches exact substrings
    "lithium ion battery"        a phrase (also “…” and 「…」)
    toys AND 玩具  /  toys 玩具    words side by side must all match (AND is the default)
    battery OR 电池               either
    NOT food  /  -food           exclude
    (toy OR 玩具) -food           parentheses group
    G/TBT/N/EU/1050              a document symbol finds that document and the rest of its measure

A word that mixes scripts (``LED灯具``) must match both parts (``LED`` AND ``灯具``). Words that carry no
searchable term (stop words such as ``the``, punctuation) are ignored; a text made only of them matches
nothing. :func:`parse_text` and :class:`Query` raise only :class:`QuerySyntaxError`.

>>> q = Query(text='"lithium battery" OR 锂电池', members=["EU"], sort="date")
>>> q.plan()                                         # doctest: +SKIP
Or(items=(EnMatch(text='lithium battery', terms=((0, 'lithium'), (1, 'batteri'))), CjkMatch(text='锂电池')))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from index import analysis
from index.errors import QuerySyntaxError
from tbtwatch import symbols
from tbtwatch.errors import SymbolError
from tbtwatch.models import Kind, Risk

MAX_TEXT_CHARS = 1000
MAX_DEPTH = 32
MAX_LEAVES = 64
MAX_PAGE_SIZE = 100
#: Elasticsearch's default ``index.max_result_window``; both backends refuse to page beyond it.
MAX_RESULT_WINDOW = 10_000

_OPEN_QUOTES = {'"': '"', "“": "”", "「": "」", "＂": "＂"}
_OPEN_PARENS = {"(", "（"}
_CLOSE_PARENS = {")", "）"}
_OPERATORS = {"AND", "OR", "NOT"}
_WORD_END = re.compile(r"[\s()（）\"“”「」＂]")
_SYMBOL_HINT = re.compile(r"^g\s*/\s*(tbt|sps)\s*/", re.IGNORECASE)
T = TypeVar("T", covariant=True)


# -- syntax tree of the text ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Word:
    """A bare word as typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Quoted text as typed."""

    text: str


@dataclass(frozen=True, slots=True)
class SymbolRef:
    """A WTO document symbol (normalised): matches the document and every document of its measure."""

    id: str


@dataclass(frozen=True, slots=True)
class And(Generic[T]):
    """Every item must match."""

    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class Or(Generic[T]):
    """At least one item must match."""

    items: tuple[T, ...]


@dataclass(frozen=True, slots=True)
class Not(Generic[T]):
    """The item must not match."""

    item: T


# -- planned leaves: what the backends compile ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class EnMatch:
    """English text: one analysed term, or a phrase of terms with relative positions (stop-word gaps kept)."""

    text: str
    terms: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class CjkMatch:
    """A run of Han characters that must occur contiguously."""

    text: str


#: The syntax tree of query text, as typed.
Node: TypeAlias = "Word | Phrase | SymbolRef | And[Node] | Or[Node] | Not[Node]"
#: The analysed tree the backends compile.
Leaf: TypeAlias = "EnMatch | CjkMatch | SymbolRef"
Plan: TypeAlias = "EnMatch | CjkMatch | SymbolRef | And[Plan] | Or[Plan] | Not[Plan]"


# -- parser -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Tok:
    kind: Literal["word", "phrase", "and", "or", "not", "minus", "open", "close"]
    text: str
    pos: int


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in _OPEN_PARENS:
            toks.append(_Tok("open", ch, i))
            i += 1
        elif ch in _CLOSE_PARENS:
            toks.append(_Tok("close", ch, i))
            i += 1
        elif ch in _OPEN_QUOTES or ch in "”」":
            if ch not in _OPEN_QUOTES:
                raise QuerySyntaxError(
                    f"query: closing quote {ch!r} at position {i + 1} has no opening quote"
                )
            end = text.find(_OPEN_QUOTES[ch], i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f"query: the quote {ch!r} at position {i + 1} is never closed. "
                    "Fix: close the phrase with "
                    f"{_OPEN_QUOTES[ch]!r}."
                )
            toks.append(_Tok("phrase", text[i + 1 : end], i))
            i = end + 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and _boundary(text, i):
            toks.append(_Tok("minus", ch, i))
            i += 1
        else:
            m = _WORD_END.search(text, i)
            end = m.start() if m else n
            word = text[i:end]
            op = word if word in _OPERATORS else ""
            toks.append(_Tok(op.lower() if op else "word", word, i))  # type: ignore[arg-type]
            i = end
    return toks


def _boundary(text: str, i: int) -> bool:
    # "-food" negates only at the start of a word, never inside "e-commerce"
    return i == 0 or text[i - 1].isspace() or text[i - 1] in _OPEN_PARENS


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.leaves = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node | None:
        if not self.toks:
            return None
        node = self.or_expr(0)
        tok = self.peek()
        if tok is not None and tok.kind == "close":
            raise QuerySyntaxError(f"query: ')' at position {tok.pos + 1} has no opening parenthesis")
        if tok is not None:
            raise QuerySyntaxError(f"query: unexpected {tok.text!r} at position {tok.pos + 1}")
        return node

    def or_expr(self, depth: int) -> Node:
        items = [self.and_expr(depth)]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.take()
            self.expect_operand(tok)
            items.append(self.and_expr(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, depth: int) -> Node:
        items = [self.unary(depth)]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "close"):
            if tok.kind == "and":
                self.take()
                self.expect_operand(tok)
            items.append(self.unary(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def expect_operand(self, op: _Tok) -> None:
        nxt = self.peek()
        if nxt is None or nxt.kind in ("and", "or", "close"):
            raise QuerySyntaxError(
                f"query: {op.text} at position {op.pos + 1} needs a word, phrase or group after it"
            )

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("query: the text ends where a word, phrase or group was expected")
        if tok.kind in ("not", "minus"):
            self.take()
            self.expect_operand(tok)
            return Not(self.unary(depth + 1))
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        tok = self.take()
        if depth > MAX_DEPTH:
            raise QuerySyntaxError(f"query: nested more than {MAX_DEPTH} levels deep")
        if tok.kind == "open":
            nxt = self.peek()
            if nxt is not None and nxt.kind == "close":
                raise QuerySyntaxError(f"query: empty parentheses at position {tok.pos + 1}")
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind != "close":
                raise QuerySyntaxError(
                    f"query: the parenthesis at position {tok.pos + 1} is never closed. Fix: add ')'."
                )
            self.take()
            return node
        if tok.kind in ("word", "phrase"):
            self.leaves += 1
            if self.leaves > MAX_LEAVES:
                raise QuerySyntaxError(f"query: more than {MAX_LEAVES} words and phrases")
            if tok.kind == "phrase":
                return Phrase(tok.text)
            return _word(tok.text)
        if tok.kind == "close":
            raise QuerySyntaxError(f"query: ')' at position {tok.pos + 1} has no opening parenthesis")
        raise QuerySyntaxError(
            f"query: {tok.text} at position {tok.pos + 1} needs a word, phrase or group before it"
        )


def _word(text: str) -> Node:
    if _SYMBOL_HINT.match(text):
        try:
            return SymbolRef(symbols.normalise(text))
        except SymbolError:
            pass  # not a valid symbol after all: search it as text
    return Word(text)


def parse_text(text: str) -> Node | None:
    """Parse query text into a syntax tree (None for blank text); raises only :class:`QuerySyntaxError`."""
    if not isinstance(text, str):
        raise QuerySyntaxError(f"query: text must be a string, not {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise QuerySyntaxError(f"query: text is longer than {MAX_TEXT_CHARS} characters")
    if "\x00" in text:
        raise QuerySyntaxError("query: text contains a NUL character")
    return _Parser(_lex(text)).parse()


# -- planning: analyse leaves, drop the empty ones ------------------------------------------------
def _plan_text(text: str) -> Plan | None:
    runs, rest = analysis.split_han(analysis.prepare(text))
    parts: list[EnMatch | CjkMatch] = []
    terms = analysis.english_terms(rest) if rest.strip() else ()
    if terms:
        parts.append(EnMatch(" ".join(rest.split()), terms))
    parts.extend(CjkMatch(r) for r in runs)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return And(tuple(parts))


def plan(node: Node | None) -> Plan | None:
    """Analyse a syntax tree into backend-ready leaves; None when nothing searchable is left."""
    if node is None:
        return None
    if isinstance(node, (Word, Phrase)):
        return _plan_text(node.text)
    if isinstance(node, SymbolRef):
        return node
    if isinstance(node, Not):
        inner = plan(node.item)
        return Not(inner) if inner is not None else None
    items = [p for p in (plan(i) for i in node.items) if p is not None]
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    flat: list[Plan] = []
    for it in items:  # (a AND b) AND c == a AND b AND c: keeps the backends' queries shallow
        if (isinstance(node, And) and isinstance(it, And)) or (isinstance(node, Or) and isinstance(it, Or)):
            flat.extend(it.items)
        else:
            flat.append(it)
    return And(tuple(flat)) if isinstance(node, And) else Or(tuple(flat))


def positive_leaves(p: Plan | None, negated: bool = False) -> list[Leaf]:
    """Leaves that are not negated: what highlighting marks."""
    if p is None:
        return []
    if isinstance(p, Not):
        return positive_leaves(p.item, not negated)
    if isinstance(p, (And, Or)):
        return [leaf for i in p.items for leaf in positive_leaves(i, negated)]
    return [] if negated else [p]


# -- the query object ------------------------------------------------------------------------------
Sort = Literal["relevance", "date"]


class Query(BaseModel):
    """A search: free text plus filters, sort and page. Values in one list are ORed, lists are ANDed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = ""
    kinds: tuple[Kind, ...] = ()
    members: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    hs_prefixes: tuple[str, ...] = ()
    ics_prefixes: tuple[str, ...] = ()
    risks: tuple[Risk, ...] = ()
    distributed_from: date | None = None
    distributed_to: date | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    open_on: date | None = Field(
        default=None, description="open for comment on this day (deadline on or after)"
    )
    sort: Sort = "relevance"
    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=0, le=MAX_PAGE_SIZE)
    facets: bool = True
    highlight: bool = True

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as exc:
            raise QuerySyntaxError(_explain(exc)) from None

    @field_validator("members", mode="before")
    @classmethod
    def _members(cls, v: Any) -> Any:
        return tuple(str(m).strip().upper() for m in _seq(v) if str(m).strip())

    @field_validator("members")
    @classmethod
    def _check_members(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for m in v:
            if not re.fullmatch(r"[A-Z]{2,4}", m):
                raise ValueError(f"member {m!r} is not a WTO member code such as EU, USA or TPKM")
        return v

    @field_validator("clusters", mode="before")
    @classmethod
    def _clusters(cls, v: Any) -> Any:
        return tuple(str(c).strip() for c in _seq(v) if str(c).strip())

    @field_validator("kinds", "risks", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return tuple(str(k).strip().lower() for k in _seq(v) if str(k).strip())

    @field_validator("hs_prefixes", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> Any:
        out = []
        for raw in _seq(v):
            code = re.sub(r"[\s.]", "", str(raw))
            if not code:
                continue
            if not (code.isdigit() and code.isascii() and len(code) <= 10):
                raise ValueError(f"HS prefix {raw!r} must be 1 to 10 digits (dots and spaces are ignored)")
            out.append(code)
        return tuple(dict.fromkeys(out))

    @field_validator("ics_prefixes", mode="before")
    @classmethod
    def _ics(cls, v: Any) -> Any:
        out = []
        for raw in _seq(v):
            code = str(raw).strip()
            if not code:
                continue
            if not re.fullmatch(r"\d{1,2}|\d{2}\.\d{0,3}|\d{2}\.\d{3}\.\d{0,2}", code, flags=re.ASCII):
                raise ValueError(f"ICS prefix {raw!r} must look like 97, 97.200 or 97.200.50")
            out.append(code)
        return tuple(dict.fromkeys(out))

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        parse_text(v)  # fail early, with the parser's message
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Query:
        for lo, hi, name in (
            (self.distributed_from, self.distributed_to, "distributed"),
            (self.deadline_from, self.deadline_to, "deadline"),
        ):
            if lo and hi and lo > hi:
                raise ValueError(f"{name} range starts ({lo}) after it ends ({hi})")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise ValueError(
                f"page {self.page} of {self.size} goes past result {MAX_RESULT_WINDOW}; narrow the search"
            )
        return self

    def replace(self, **changes: Any) -> Query:
        """A copy with some values changed (validated like a new query)."""
        return Query(**{**self.model_dump(), **changes})

    def plan(self) -> Plan | None:
        """The analysed text (None when there is no text or nothing searchable in it)."""
        return plan(parse_text(self.text))

    @property
    def has_text(self) -> bool:
        """True when the user typed something (even if nothing in it is searchable)."""
        return bool(self.text.strip())

    @property
    def effective_sort(self) -> Sort:
        """Relevance without text has no meaning: such searches are sorted by date."""
        return self.sort if self.has_text else "date"

    @property
    def offset(self) -> int:
        """Index of the first hit of the page."""
        return (self.page - 1) * self.size


def _seq(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, str):
        return [p for p in re.split(r"[,\s]+", v) if p]
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    return [v]


def _explain(exc: PydanticValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("query: ")
        parts.append(msg if loc in ("", "text") else f"{loc}: {msg}")
    return "query: " + "; ".join(parts)
