"""Cleaning of text, dates and code cells."""

from __future__ import annotations

import contextlib
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tbtwatch import normalise
from tbtwatch.errors import ValidationError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2025, 6, 11, 0, 0), date(2025, 6, 11)),
        ("2025-06-11", date(2025, 6, 11)),
        ("2025-06-11T00:00:00", date(2025, 6, 11)),
        ("2025-06-11T08:30:00+02:00", date(2025, 6, 11)),
        ("11/06/2025", date(2025, 6, 11)),
        ("11.06.2025", date(2025, 6, 11)),
        ("2025/06/11", date(2025, 6, 11)),
        ("11 June 2025", date(2025, 6, 11)),
        ("June 11, 2025", date(2025, 6, 11)),
        ("2025年6月11日", date(2025, 6, 11)),
        ("", None),
        (None, None),
        ("Not stated", None),
        ("N/A", None),
    ],
)
def test_dates(value: object, expected: date | None) -> None:
    assert normalise.parse_date(value) == expected


@pytest.mark.parametrize(
    "value", ["31/02/2025", "soon", "13/13/2025", "0001-01-01", "9999-12-31", 45000, "11 Juno 2025"]
)
def test_bad_dates(value: object) -> None:
    with pytest.raises(ValidationError):
        normalise.parse_date(value, "final date for comments")


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.datetimes()))
def test_parse_date_never_raises_anything_else(value: object) -> None:
    with contextlib.suppress(ValidationError):
        normalise.parse_date(value)


def test_codes_from_eping_cells() -> None:
    hs = "910212 - Wrist-watches, whether or not incorporating a stop-watch facility; 8517 - Telephone sets; 87 - VEHICLES"
    assert normalise.split_hs(hs) == ["910212", "8517", "87"]
    assert normalise.split_hs("8516.60 - Ovens") == ["851660"]
    ics = "23.020.20 - Vessels and containers mounted on vehicles; 43.060.40 - Fuel systems; 43.080 - Commercial vehicles"
    assert normalise.split_ics(ics) == ["23.020.20", "43.060.40", "43.080"]
    assert normalise.split_hs("") == [] and normalise.split_ics(None) == []


def test_clean_text_and_html() -> None:
    assert normalise.clean_text("a_x000D_\nb\xa0 c  ") == "a\nb c"
    assert (
        normalise.html_to_text("<p>Toys &amp; games</p><br>line<script>x</script>") == "Toys & games\nline x"
    )
    assert normalise.hyperlink('=HYPERLINK("https://x/y"," G/TBT/N/EU/1")') == ("https://x/y", "G/TBT/N/EU/1")
    assert normalise.hyperlink("plain") == ("", "plain")


def test_kind_and_doc_type() -> None:
    assert normalise.kind_from_text("", "Food safety (SPS); Animal health (SPS)") == "sps"
    assert normalise.kind_from_text("Other", "https://docs.wto.org/G/TBTN25/USA2211.DOCX") == "tbt"
    assert normalise.kind_from_text("", "") is None
    assert normalise.doc_type_from_notification_type("Addendum to Emergency Notification (SPS)") == "addendum"
    assert normalise.doc_type_from_notification_type("Emergency notifications (SPS)") == "emergency"
