"""The query language: parsing, planning, validation; bad input raises only QuerySyntaxError."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import QuerySyntaxError
from index.query import (
    And,
    CjkMatch,
    EnMatch,
    Not,
    Or,
    Phrase,
    Query,
    SymbolRef,
    Word,
    parse_text,
    plan,
    positive_leaves,
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("", None),
        ("   ", None),
        ("battery", Word("battery")),
        ("toy safety", And((Word("toy"), Word("safety")))),
        ("toy AND safety", And((Word("toy"), Word("safety")))),
        ("toy OR 玩具", Or((Word("toy"), Word("玩具")))),
        ("a b OR c", Or((And((Word("a"), Word("b"))), Word("c")))),
        ("NOT food", Not(Word("food"))),
        ("-food toys", And((Not(Word("food")), Word("toys")))),
        ("e-commerce", Word("e-commerce")),
        ('"lithium battery"', Phrase("lithium battery")),
        ("“锂电池 安全”", Phrase("锂电池 安全")),
        ("「玩具」", Phrase("玩具")),
        ("（toy OR 玩具） -food", And((Or((Word("toy"), Word("玩具"))), Not(Word("food"))))),
        ("-(a OR b)", Not(Or((Word("a"), Word("b"))))),
        ("and or not", And((Word("and"), Word("or"), Word("not")))),
        ("G/TBT/N/EU/1050", SymbolRef("G/TBT/N/EU/1050")),
        ("g/sps/n/tha/155/rev.2", SymbolRef("G/SPS/N/THA/155/Rev.2")),
        ("G/TBT/nonsense", Word("G/TBT/nonsense")),
    ],
)
def test_parse(text: str, tree: object) -> None:
    assert parse_text(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"lithium battery', "never closed"),
        ("“锂电池", "never closed"),
        ("”", "no opening quote"),
        ("(toy OR 玩具", "never closed"),
        ("toy)", "no opening parenthesis"),
        ("()", "empty parentheses"),
        ("toy AND", "needs a word"),
        ("AND toy", "needs a word"),
        ("toy OR OR food", "needs a word"),
        ("NOT", "needs a word"),
        ("toy NOT", "needs a word"),
        ("(" * 40 + "x" + ")" * 40, "nested more than"),
        ("x " * 65, "more than 64"),
        ("x" * 1001, "longer than"),
        ("a\x00b", "NUL"),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        parse_text(text)


@given(st.text(max_size=200))
@settings(max_examples=400, deadline=None)
def test_any_text_raises_only_our_error(text: str) -> None:
    try:
        tree = parse_text(text)
        plan(tree)
        Query(text=text).plan()
    except QuerySyntaxError:
        pass


@given(
    st.lists(
        st.sampled_from(['"', "(", ")", "AND", "OR", "NOT", "-", "玩具", "toy", "“", "”", " ", "（"]),
        max_size=30,
    )
)
@settings(max_examples=400, deadline=None)
def test_operator_soup_raises_only_our_error(parts: list[str]) -> None:
    with contextlib.suppress(QuerySyntaxError):
        Query(text=" ".join(parts)).plan()


def test_plan_analyses_english_and_chinese() -> None:
    assert plan(parse_text("batteries")) == EnMatch("batteries", ((0, "batteri"),))
    assert plan(parse_text("锂电池")) == CjkMatch("锂电池")
    # mixed scripts in one word: both parts must match
    assert plan(parse_text("LED灯具")) == And((EnMatch("LED", ((0, "led"),)), CjkMatch("灯具")))
    # a phrase keeps the stop-word gap, as Elasticsearch's match_phrase does
    assert plan(parse_text('"restriction of hazardous substances"')) == EnMatch(
        "restriction of hazardous substances", ((0, "restrict"), (2, "hazard"), (3, "substanc"))
    )


def test_plan_drops_words_without_terms() -> None:
    assert plan(parse_text("the")) is None
    assert plan(parse_text("the battery")) == EnMatch("battery", ((0, "batteri"),))
    assert plan(parse_text("battery -the")) == EnMatch("battery", ((0, "batteri"),))
    assert plan(parse_text("!!! OR ???")) is None


def test_plan_flattens_nested_groups() -> None:
    p = plan(parse_text("(a1 AND b1) AND (c1 AND d1)"))
    assert isinstance(p, And) and len(p.items) == 4


def test_positive_leaves_skip_negated_ones() -> None:
    p = plan(parse_text("toy -food NOT (NOT 玩具)"))
    assert positive_leaves(p) == [EnMatch("toy", ((0, "toy"),)), CjkMatch("玩具")]


def test_query_normalises_filters() -> None:
    q = Query(
        members=["eu", " usa "],
        kinds="TBT, news",
        hs_prefixes=["8507.60", "95 03"],
        ics_prefixes=["97.200"],
        risks=["HIGH"],
        distributed_from="2025-06-01",
    )
    assert q.members == ("EU", "USA")
    assert [k.value for k in q.kinds] == ["tbt", "news"]
    assert q.hs_prefixes == ("850760", "9503")
    assert q.distributed_from == date(2025, 6, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"members": ["Europe"]}, "not a WTO member code"),
        ({"kinds": ["tbx"]}, "kinds"),
        ({"risks": ["severe"]}, "risks"),
        ({"hs_prefixes": ["95a3"]}, "HS prefix"),
        ({"ics_prefixes": ["97-200"]}, "ICS prefix"),
        ({"distributed_from": "2025-06-30", "distributed_to": "2025-06-01"}, "starts .* after it ends"),
        ({"distributed_from": "next week"}, "distributed_from"),
        ({"size": 101}, "size"),
        ({"page": 0}, "page"),
        ({"page": 600, "size": 20}, "goes past result 10000"),
        ({"sort": "popularity"}, "sort"),
        ({"text": '"open'}, "never closed"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_query_rejects_bad_options_with_our_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message):
        Query(**kwargs)  # type: ignore[arg-type]


def test_relevance_without_text_sorts_by_date() -> None:
    assert Query().effective_sort == "date"
    assert Query(text="toy").effective_sort == "relevance"
    assert Query(text="toy", sort="date").effective_sort == "date"
    assert Query(page=3, size=10).offset == 20


def test_replace_validates_like_a_new_query() -> None:
    q = Query(text="toy")
    assert q.replace(members=["eu"]).members == ("EU",)
    with pytest.raises(QuerySyntaxError):
        q.replace(members=["Europe"])
