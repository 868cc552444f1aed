"""WTO document symbols: examples from real data, round trips and rejection of garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tbtwatch import symbols
from tbtwatch.errors import SymbolError

CASES = [
    ("G/TBT/N/EU/1050", "G/TBT/N/EU/1050", "G/TBT/N/EU/1050", "regular"),
    (" G/SPS/N/JPN/1345/Add.1", "G/SPS/N/JPN/1345/Add.1", "G/SPS/N/JPN/1345", "addendum"),
    ("G/SPS/N/THA/155/Rev.2/Add.1", "G/SPS/N/THA/155/Rev.2/Add.1", "G/SPS/N/THA/155", "addendum"),
    ("g/tbt/n/bra/366/add.1/corr.1 ", "G/TBT/N/BRA/366/Add.1/Corr.1", "G/TBT/N/BRA/366", "corrigendum"),
    ("G/TBT/N/USA/513/Rev.1", "G/TBT/N/USA/513/Rev.1", "G/TBT/N/USA/513", "revision"),
    ("G/SPS/N/CAN/1234/Suppl.2", "G/SPS/N/CAN/1234/Suppl.2", "G/SPS/N/CAN/1234", "supplement"),
    ("G/TBT/N/TPKM/501", "G/TBT/N/TPKM/501", "G/TBT/N/TPKM/501", "regular"),
    ("G / TBT / N / USA / 2211 / Add. 3", "G/TBT/N/USA/2211/Add.3", "G/TBT/N/USA/2211", "addendum"),
    ("G/TBT/N/USA/0513", "G/TBT/N/USA/513", "G/TBT/N/USA/513", "regular"),
    ("G/TBT/Notif.00/005", "G/TBT/Notif.00/005", "G/TBT/Notif.00/005", "regular"),
    ("G/TBT/Notif.99/123/Add.1", "G/TBT/Notif.99/123/Add.1", "G/TBT/Notif.99/123", "addendum"),
]


@pytest.mark.parametrize(("raw", "norm", "base", "doc_type"), CASES, ids=[c[1] for c in CASES])
def test_examples(raw: str, norm: str, base: str, doc_type: str) -> None:
    s = symbols.parse(raw)
    assert str(s) == norm
    assert s.base_id == base
    assert s.doc_type == doc_type


def test_parent_chain() -> None:
    s = symbols.parse("G/SPS/N/THA/155/Rev.2/Add.1")
    assert str(s.parent) == "G/SPS/N/THA/155/Rev.2"
    assert s.parent is not None and str(s.parent.parent) == "G/SPS/N/THA/155"
    assert symbols.parse("G/SPS/N/THA/155").parent is None


def test_joint_cell_keeps_order_and_drops_duplicates() -> None:
    cell = " G/TBT/N/BDI/608, G/TBT/N/KEN/1808, G/TBT/N/RWA/1207; G/TBT/N/KEN/1808"
    assert [str(s) for s in symbols.split_symbols(cell)] == [
        "G/TBT/N/BDI/608",
        "G/TBT/N/KEN/1808",
        "G/TBT/N/RWA/1207",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "G/TBT/N/",
        "G/TBT/N/EU",
        "G/XYZ/N/EU/1",
        "G/TBT/N/EU/1050/Add",
        "G/TBT/N/EU/1050/Add.0",
        "G/TBT/N/EU/1050/Foo.1",
        "G/TBT/N/E1/5",
        "TBT/N/EU/5",
        "G/TBT/N/EU/1, G/TBT/N/KEN/2",
        "x" * 500,
        "<script>alert(1)</script>",
    ],
)
def test_garbage_is_rejected_with_a_clear_error(bad: str) -> None:
    with pytest.raises(SymbolError) as info:
        symbols.parse(bad)
    assert str(info.value)


def test_non_text_is_rejected() -> None:
    with pytest.raises(SymbolError, match="must be text"):
        symbols.parse(123)  # type: ignore[arg-type]


suffix = st.tuples(st.sampled_from(["Add", "Rev", "Corr", "Suppl"]), st.integers(1, 9999))
modern = st.builds(
    symbols.Symbol,
    area=st.sampled_from(["TBT", "SPS"]),
    member=st.from_regex(r"[A-Z]{2,4}", fullmatch=True),
    number=st.integers(1, 999999).map(str),
    year=st.none(),
    suffixes=st.lists(suffix, max_size=4).map(tuple),
)
old = st.builds(
    symbols.Symbol,
    area=st.just("TBT"),
    member=st.none(),
    number=st.from_regex(r"[0-9]{3}", fullmatch=True),
    year=st.from_regex(r"[0-9]{2}", fullmatch=True),
    suffixes=st.lists(suffix, max_size=2).map(tuple),
)


@given(modern | old)
def test_parse_format_round_trip(sym: symbols.Symbol) -> None:
    assert symbols.parse(str(sym)) == sym


@given(modern, st.sampled_from([str.lower, str.upper, lambda s: s.replace("/", " / "), lambda s: f"  {s}\t"]))
def test_spacing_and_case_do_not_matter(sym: symbols.Symbol, mangle: object) -> None:
    assert symbols.parse(mangle(str(sym))) == sym  # type: ignore[operator]


@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_raises_symbol_error(text: str) -> None:
    try:
        s = symbols.parse(text)
    except SymbolError:
        return
    assert symbols.parse(str(s)) == s
