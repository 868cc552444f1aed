"""Risk grading: each documented signal moves the score in the right direction."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from classifier.doc import Doc
from classifier.risk import RiskConfig, RiskGrader
from tbtwatch.models import Risk

TODAY = date(2025, 6, 10)


@pytest.fixture
def grader(risk_config: RiskConfig) -> RiskGrader:
    return RiskGrader(risk_config, high=0.7, medium=0.4)


def _score(grader: RiskGrader, match: float = 0.95, **kw: object) -> tuple[Risk, list[str], float]:
    d = Doc(id="G/TBT/N/EU/1", title=str(kw.pop("title", "Toys")), **kw)  # type: ignore[arg-type]
    return grader.grade(d, match, TODAY)


def test_no_cluster_is_low(grader: RiskGrader) -> None:
    grade, reasons, score = _score(grader, match=0.0, member="EU")
    assert grade is Risk.LOW and score == 0.0 and reasons == ["no cluster matched"]


def test_eu_ban_with_open_deadline_is_high(grader: RiskGrader) -> None:
    grade, reasons, _ = _score(
        grader,
        title="Regulation prohibiting PFAS in toys",
        member="EU",
        comment_deadline=TODAY + timedelta(days=20),
    )
    assert grade is Risk.HIGH
    assert {"mandatory", "ban", "chemical_limits", "deadline:20d"} <= set(reasons)
    assert reasons[0].startswith("market:EU(eu 1")


def test_market_weight_orders_members(grader: RiskGrader) -> None:
    kw = {"title": "Draft standard for toys", "kind": "tbt"}
    eu = _score(grader, member="EU", **kw)[2]
    asean = _score(grader, member="VNM", **kw)[2]
    bri = _score(grader, member="KEN", **kw)[2]
    other = _score(grader, member="NOR", **kw)[2]
    assert eu > asean > bri > other


def test_voluntary_standard_weighs_less_than_regulation(grader: RiskGrader) -> None:
    regulation = _score(grader, title="Technical regulation on toys", kind="news", member="KEN")
    voluntary = _score(grader, title="Voluntary national standard for toys", kind="news", member="KEN")
    assert "mandatory" in regulation[1] and "voluntary" in voluntary[1]
    assert regulation[2] > voluntary[2]


def test_emergency_and_certification_and_labelling_add(grader: RiskGrader) -> None:
    base = _score(grader, title="Toys", member="KEN")[2]
    emergency = _score(grader, title="Toys", member="KEN", doc_type="emergency")
    assert "emergency" in emergency[1] and emergency[2] > base
    cert = _score(grader, title="Certification and labelling of toys", member="KEN")
    assert {"certification", "labelling"} <= set(cert[1]) and cert[2] > base


def test_deadline_soon_counts_more_than_far_and_closed_not_at_all(grader: RiskGrader) -> None:
    soon = _score(grader, member="KEN", comment_deadline=TODAY + timedelta(days=5))[2]
    far = _score(grader, member="KEN", comment_deadline=TODAY + timedelta(days=90))[2]
    closed = _score(grader, member="KEN", comment_deadline=TODAY - timedelta(days=1))[2]
    assert soon > far > closed


def test_corrigendum_weighs_less(grader: RiskGrader) -> None:
    regular = _score(grader, member="EU")[2]
    corr = _score(grader, member="EU", doc_type="corrigendum")
    assert corr[2] < regular and any(r.startswith("doc_type:corrigendum") for r in corr[1])


def test_weak_match_lowers_risk(grader: RiskGrader) -> None:
    assert _score(grader, match=0.4, member="EU")[2] < _score(grader, match=0.95, member="EU")[2]


def test_news_market_from_text(grader: RiskGrader) -> None:
    grade, reasons, _ = _score(grader, title="欧盟禁止玩具中使用双酚", kind="news")
    assert reasons[0].startswith("market:eu")
    assert "ban" in reasons
    assert grade in (Risk.HIGH, Risk.MEDIUM)
