"""Snippets with the query's matches marked, computed the same way for every backend.

Chinese phrases are marked as whole phrases (``<mark>锂电池</mark>``, never character by character), and
English matches by analysed term, so ``battery`` marks ``batteries``. Output is HTML: the text is
escaped and each match is wrapped in ``<mark>``…``</mark>``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from index import analysis
from index.query import CjkMatch, EnMatch, Plan, positive_leaves

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
#: Characters of text shown per snippet field.
FRAGMENT_CHARS = {"title": 300, "title_zh": 200, "products_zh": 200, "description": 240}
_LEAD = 40  # context kept before the first match of a fragment
_SNAP = 20  # how far a fragment start may move to reach a word boundary


def spans(text: str, plan: Plan | None) -> list[tuple[int, int]]:
    """Character spans of ``text`` matched by the positive leaves of ``plan``, merged and sorted."""
    leaves = positive_leaves(plan)
    if not text or not leaves:
        return []
    found: list[tuple[int, int]] = []
    en = [leaf for leaf in leaves if isinstance(leaf, EnMatch)]
    for leaf in leaves:
        if isinstance(leaf, CjkMatch):
            start = text.find(leaf.text)
            while start >= 0:
                found.append((start, start + len(leaf.text)))
                start = text.find(leaf.text, start + 1)
    if en:
        tokens = analysis.english_tokens(text)
        at = {pos: (term, s, e) for pos, term, s, e in tokens}
        for leaf in en:
            first_term = leaf.terms[0][1]
            last_rel = leaf.terms[-1][0]
            for pos, term, s, _e in tokens:
                if term != first_term:
                    continue
                if all(at.get(pos + rel, ("",))[0] == t for rel, t in leaf.terms[1:]):
                    found.append((s, at[pos + last_rel][2]))
    return _merge(found)


def _merge(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(found):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def render(text: str, marks: list[tuple[int, int]], max_chars: int) -> str:
    """An escaped fragment of at most ``max_chars`` characters with the marks that fall inside it."""
    if len(text) <= max_chars:
        begin, end = 0, len(text)
    elif not marks:
        begin, end = 0, max_chars
    else:
        best, best_n = 0, -1
        for s, _e in marks:  # the window that holds the most marks, starting a little before one
            b = max(0, min(s - _LEAD, len(text) - max_chars))
            n = sum(1 for ms, me in marks if ms >= b and me <= b + max_chars)
            if n > best_n:
                best, best_n = b, n
        begin, end = best, best + max_chars
        first_mark = min((ms for ms, _me in marks if ms >= begin), default=end)
        space = text.find(" ", begin, min(begin + _SNAP, first_mark))
        if begin > 0 and space >= 0:  # start the fragment at a word, not inside one
            begin = space + 1
    out = ["…" if begin > 0 else ""]
    cursor = begin
    for s, e in marks:
        if s < begin or e > end:
            continue
        out.append(html.escape(text[cursor:s], quote=False))
        out.append(MARK_OPEN + html.escape(text[s:e], quote=False) + MARK_CLOSE)
        cursor = e
    out.append(html.escape(text[cursor:end], quote=False))
    if end < len(text):
        out.append("…")
    return "".join(out)


def snippets(doc: Mapping[str, Any], plan: Plan | None) -> dict[str, str]:
    """Snippets of the title, description and Chinese fields of an index document."""
    out: dict[str, str] = {}
    for name, size in FRAGMENT_CHARS.items():
        text = doc.get(name)
        if not text and name not in ("title", "description"):
            continue
        text = str(text or "")
        out[name] = render(text, spans(text, plan), size)
    return out
