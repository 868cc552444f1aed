"""The highlighter's cheap pass marks exactly what analysing every token marks (the reference below)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index import analysis, highlight
from index.query import CjkMatch, EnMatch, Plan, Query, positive_leaves

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "index"


def reference_spans(text: str, plan: Plan | None) -> list[tuple[int, int]]:
    """Every English token analysed, every leaf matched at every position: slow and obviously right."""
    leaves = positive_leaves(plan)
    if not text or not leaves:
        return []
    found: list[tuple[int, int]] = []
    for leaf in leaves:
        if isinstance(leaf, CjkMatch):
            start = text.find(leaf.text)
            while start >= 0:
                found.append((start, start + len(leaf.text)))
                start = text.find(leaf.text, start + 1)
    tokens = analysis.english_tokens(text)
    at = {pos: (term, s, e) for pos, term, s, e in tokens}
    for leaf in leaves:
        if not isinstance(leaf, EnMatch):
            continue
        for pos, term, s, _e in tokens:
            if term == leaf.terms[0][1] and all(
                at.get(pos + rel, ("",))[0] == t for rel, t in leaf.terms[1:]
            ):
                found.append((s, at[pos + leaf.terms[-1][0]][2]))
    return highlight.merge_spans(found)


QUERIES = [
    "battery",
    "batteries OR toy",
    '"lithium battery"',
    '"the safety of toys"',  # stop words keep their positions
    '"of the"',  # only stop words: nothing to mark
    "manufacturer's",
    "玩具 OR battery",
    '"锂电池" toys',
    "LED灯具",
    "u.s. food",
    "-food toys",
    "3.5V",
    '"toy safety" OR "safety toy"',
]

_PIECES = [
    "battery", "Batteries", "BATTERY", "batteries'", "lithium", "Lithium-ion", "toy", "toys", "Toys",
    "safety", "of", "the", "The", "food", "manufacturer's", "manufacturer’s", "U.S.", "3.5V", "LED",
    "灯具", "锂电池", "玩具", "锂", "电池", "_", "-", ".", ",", " ", "  ", "\n", "é", "İ", "ß", "ﬁ",
    "battery_", "xbattery", "toys2", "〇", "々",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_PIECES), max_size=40),
    spaced=st.booleans(),
    query=st.sampled_from(QUERIES),
)
def test_cheap_pass_marks_what_full_analysis_marks(pieces: list[str], spaced: bool, query: str) -> None:
    text = (" " if spaced else "").join(pieces)
    plan = Query(text=query).plan()
    assert highlight.spans(text, plan) == reference_spans(text, plan)


@pytest.mark.parametrize("query", QUERIES)
def test_real_texts_marked_as_by_full_analysis(query: str) -> None:
    data = json.loads((FIXTURES / "notices.json").read_text(encoding="utf-8"))
    plan = Query(text=query).plan()
    for notice in data["notices"]:
        for name in ("title", "description", "products", "title_zh", "products_zh"):
            text = notice.get(name) or ""
            assert highlight.spans(text, plan) == reference_spans(text, plan), (notice["id"], name)


def test_phrase_marked_from_its_first_to_its_last_word() -> None:
    text = "Rules on the safety of toys, and toys' safety of the toy."
    plan = Query(text='"safety of toys"').plan()
    marked = [text[s:e] for s, e in highlight.spans(text, plan)]
    assert marked == ["safety of toys"]
