"""A brute-force reference for the query semantics: decide for one index document whether a query matches.

Slow and obviously correct: Chinese leaves are plain substring tests, English leaves compare analysed
terms at their positions, filters compare values. The contract tests and ``bench/search.py`` check the
backends against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from index import analysis
from index.documents import TEXT_FIELDS
from index.query import And, CjkMatch, EnMatch, Not, Or, Plan, Query, SymbolRef


class _Doc:
    """An index document with its English tokens computed on demand."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self._tokens: dict[str, dict[int, str]] = {}

    def texts(self) -> Iterable[tuple[str, str]]:
        for name in TEXT_FIELDS:
            text = self.doc.get(name)
            if text:
                yield name, str(text)

    def tokens(self, name: str, text: str) -> dict[int, str]:
        if name not in self._tokens:
            self._tokens[name] = {pos: term for pos, term, _s, _e in analysis.english_tokens(text)}
        return self._tokens[name]


def _leaf(p: Plan, d: _Doc) -> bool:
    if isinstance(p, CjkMatch):
        return any(p.text in text for _n, text in d.texts())
    if isinstance(p, EnMatch):
        for name, text in d.texts():
            toks = d.tokens(name, text)
            first = p.terms[0][1]
            for pos, term in toks.items():
                if term == first and all(toks.get(pos + rel) == t for rel, t in p.terms[1:]):
                    return True
        return False
    if isinstance(p, SymbolRef):
        return p.id in (d.doc.get("id"), d.doc.get("base_id"))
    raise TypeError(f"not a leaf: {p!r}")


def _text(p: Plan, d: _Doc) -> bool:
    if isinstance(p, And):
        return all(_text(i, d) for i in p.items)
    if isinstance(p, Or):
        return any(_text(i, d) for i in p.items)
    if isinstance(p, Not):
        return not _text(p.item, d)
    return _leaf(p, d)


def _in_range(value: str | None, lo: Any, hi: Any) -> bool:
    if lo is None and hi is None:
        return True
    if value is None:
        return False
    return (lo is None or value >= lo.isoformat()) and (hi is None or value <= hi.isoformat())


def filters_match(q: Query, doc: Mapping[str, Any]) -> bool:
    """True when ``doc`` passes every filter of ``q`` (the text is not looked at)."""
    if q.kinds and doc.get("kind") not in {k.value for k in q.kinds}:
        return False
    if q.members and doc.get("member") not in q.members:
        return False
    if q.clusters and not set(q.clusters) & set(doc.get("clusters") or ()):
        return False
    if q.risks and doc.get("risk") not in {r.value for r in q.risks}:
        return False
    if q.hs_prefixes and not any(c.startswith(p) for c in doc.get("hs_codes") or () for p in q.hs_prefixes):
        return False
    if q.ics_prefixes and not any(
        c.startswith(p) for c in doc.get("ics_codes") or () for p in q.ics_prefixes
    ):
        return False
    if not _in_range(doc.get("distributed_on"), q.distributed_from, q.distributed_to):
        return False
    if not _in_range(doc.get("comment_deadline"), q.deadline_from, q.deadline_to):
        return False
    return _in_range(doc.get("comment_deadline"), q.open_on, None)


def matches(q: Query, doc: Mapping[str, Any], plan: Plan | None = None) -> bool:
    """True when the query (text and filters) matches the index document."""
    if not filters_match(q, doc):
        return False
    if not q.has_text:
        return True
    p = plan if plan is not None else q.plan()
    return p is not None and _text(p, _Doc(doc))


def scan(q: Query, docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of every matching document; newest first (the shared date order) when the query sorts by date."""
    p = q.plan()
    hits = [d for d in docs if matches(q, d, p)]
    if q.effective_sort == "date":
        hits.sort(key=lambda d: -int(d["sort_key"]))
    return [str(d["id"]) for d in hits]
