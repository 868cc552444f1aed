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
from index.query import CjkMatch, EnMatch, Leaf, Plan, positive_leaves

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
#: Characters of text shown per snippet field.
FRAGMENT_CHARS = {"title": 300, "title_zh": 200, "products_zh": 200, "description": 240}
_LEAD = 40  # context kept before the first match of a fragment
_SNAP = 20  # how far a fragment start may move to reach a word boundary


def spans(text: str, plan: Plan | None) -> list[tuple[int, int]]:
    """Character spans of ``text`` matched by the positive leaves of ``plan``, merged and sorted."""
    return _spans(text, positive_leaves(plan))


def _spans(text: str, leaves: list[Leaf]) -> list[tuple[int, int]]:
    if not text or not leaves:
        return []
    found: list[tuple[int, int]] = []
    en: list[EnMatch] = []
    for leaf in leaves:
        if isinstance(leaf, CjkMatch):
            start = text.find(leaf.text)
            while start >= 0:
                found.append((start, start + len(leaf.text)))
                start = text.find(leaf.text, start + 1)
        elif isinstance(leaf, EnMatch):
            en.append(leaf)
    if en:
        found += _english_spans(text, en)
    return merge_spans(found)


def _english_spans(text: str, leaves: list[EnMatch]) -> list[tuple[int, int]]:
    """Spans of English leaves: the same as matching every analysed token, without analysing them all.

    A cheap pass (C-speed tokenising, set operations against the words already analysed) finds the words
    whose term starts a leaf; only their occurrences, and for phrases the few tokens after them, are looked
    at.
    """
    firsts = {leaf.terms[0][1] for leaf in leaves}
    # first term -> the words of the text that have it
    starting = analysis.VOCABULARY.words_with_terms(set(analysis.words(text)), firsts)
    if not starting:
        return []
    found: list[tuple[int, int]] = []
    for leaf in leaves:
        for word in starting.get(leaf.terms[0][1], ()):
            for s in _occurrences(text, word):
                if len(leaf.terms) == 1:
                    found.append((s, s + len(word)))
                    continue
                end = _phrase_end(text, s, leaf.terms)
                if end is not None:
                    found.append((s, end))
    return found


def _occurrences(text: str, word: str) -> list[int]:
    """Starts of ``word`` in ``text`` as a whole token (not inside a longer run of word characters)."""
    out = []
    n = len(word)
    s = text.find(word)
    while s >= 0:
        before_ok = s == 0 or not analysis.is_word_char(text[s - 1])
        if before_ok and (s + n == len(text) or not analysis.is_word_char(text[s + n])):
            out.append(s)
        s = text.find(word, s + 1)
    return out


def _phrase_end(text: str, start: int, terms: tuple[tuple[int, str], ...]) -> int | None:
    """End of the phrase ``terms`` whose first token starts at ``start``, or None when it is not there."""
    last = terms[-1][0]
    following = []  # the tokens at relative positions 0..last
    for m in analysis.tokens_from(text, start):
        following.append(m)
        if len(following) > last:
            break
    for rel, t in terms[1:]:
        if rel >= len(following):
            return None
        word = following[rel].group()
        if analysis.is_han_char(word) or analysis.term(word) != t:
            return None
    return following[last].end()


def merge_spans(found: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, overlapping or touching ``(start, end)`` spans joined into one."""
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
    leaves = positive_leaves(plan)
    for name, size in FRAGMENT_CHARS.items():
        text = doc.get(name)
        if not text and name not in ("title", "description"):
            continue
        text = str(text or "")
        out[name] = render(text, _spans(text, leaves), size)
    return out
