"""Matching: criteria semantics, the inverted index against a brute-force reference, the ingest stage
(each pair once, updates for later documents of a measure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts_testlib import exporter, import_recipients, ingest, labels, make_notice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.matching import KeywordMatcher, SubscriptionIndex, normalise_text, stem
from alerts.recipients import RISK_LEVEL, normalise_keyword
from alerts.repository import AlertsRepository, StoredSubscription
from alerts.stage import AlertsStage
from tbtwatch.models import Labels, Notice, Risk
from tbtwatch.store import Store


def sub(sid: int, rid: int | None = None, **criteria: Any) -> StoredSubscription:
    """A stored subscription with the given criteria."""
    fields = {
        k: tuple(criteria.get(k, ())) for k in ("clusters", "hs_prefixes", "keywords", "members", "kinds")
    }
    return StoredSubscription(
        sid, rid if rid is not None else sid, "", min_risk=criteria.get("min_risk"), **fields
    )


def matched(
    index: SubscriptionIndex, notice: Notice, lab: Labels | None = None
) -> dict[int, tuple[str, ...]]:
    """recipient id -> reasons."""
    return {m.recipient_id: m.reasons for m in index.match_one(notice, lab)}


TOY = make_notice(
    "G/TBT/N/EU/1050",
    title="Draft Regulation on the safety of toys",
    description="Lays down requirements for toys, including chemical substances in toy materials.",
    products="Toys; games (HS 9503)",
    hs_codes=["950300"],
    title_zh="欧盟玩具安全法规草案",
)


def test_each_criterion_and_their_combination() -> None:
    index = SubscriptionIndex(
        [
            sub(1, clusters=["toys"]),
            sub(2, hs_prefixes=["9503"]),
            sub(3, hs_prefixes=["9504"]),
            sub(4, members=["EU"]),
            sub(5, members=["USA"]),
            sub(6, kinds=["tbt"]),
            sub(7, kinds=["sps"]),
            sub(8, keywords=["toy"]),
            sub(9, keywords=["玩具"]),
            sub(10, min_risk="high"),
            sub(11, min_risk="medium"),
            sub(12, hs_prefixes=["9503"], members=["EU"], kinds=["tbt"], min_risk="medium"),
            sub(13, hs_prefixes=["9503"], members=["USA"]),  # one criterion fails: no match
            sub(14, clusters=["toys", "tea"], keywords=["ceramic", "toy"]),  # any value inside a criterion
        ]
    )
    got = matched(index, TOY, labels(TOY.id, ["toys"], Risk.MEDIUM))
    assert sorted(got) == [1, 2, 4, 6, 8, 9, 11, 12, 14]
    assert got[12] == ("hs:9503", "member:EU", "kind:tbt", "risk:medium")
    assert got[14] == ("cluster:toys", "kw:toy")
    assert got[9] == ("kw:玩具",)


def test_notice_without_labels_matches_on_hs_keyword_member_kind_only() -> None:
    index = SubscriptionIndex(
        [
            sub(1, clusters=["toys"]),
            sub(2, hs_prefixes=["95"]),
            sub(3, keywords=["toys"]),
            sub(4, min_risk="low"),
        ]
    )
    assert sorted(matched(index, TOY, None)) == [2, 3]


def test_hs_prefix_both_ways() -> None:
    index = SubscriptionIndex(
        [sub(1, hs_prefixes=["950300"]), sub(2, hs_prefixes=["9503"]), sub(3, hs_prefixes=["85"])]
    )
    chapter = make_notice("G/TBT/N/EU/1051", hs_codes=["95"])
    assert matched(index, chapter) == {1: ("hs:95",), 2: ("hs:95",)}, "a chapter-level notice concerns 9503"
    ten_digit = make_notice("G/TBT/N/EU/1052", hs_codes=["9503001000"])
    assert sorted(matched(index, ten_digit)) == [1, 2]
    assert matched(index, make_notice("G/TBT/N/EU/1053", hs_codes=["9504"])) == {}


def test_keyword_matching_rules() -> None:
    m = KeywordMatcher(["toy", "Battery", "lead content", "玩具", "PFAS涂层", "glass", "dye"])
    text = normalise_text(
        "TOYS and toy-like articles; lithium BATTERIES; the Lead  Content of paints; "
        "儿童玩具；含PFAS涂层的炊具; glasses; azo dyes; autotoyota"
    )
    assert m.find(text) == {"toy", "battery", "lead content", "玩具", "pfas涂层", "glass", "dye"}
    assert m.find(normalise_text("toyota cars, leading contents, 玩")) == set()
    assert m.find(normalise_text("Ｔｏｙｓ")) == {"toy"}, "full-width letters are folded (NFKC)"
    assert stem("batteries") == "battery" and stem("boxes") == "box" and stem("glass") == "glass"


def test_keywords_are_searched_in_every_text_field() -> None:
    index = SubscriptionIndex(
        [sub(1, keywords=["magnets"]), sub(2, keywords=["玩具"]), sub(3, keywords=["children"])]
    )
    n = make_notice(
        "G/TBT/N/EU/1054",
        title="x",
        products="Magnet sets",
        keywords=["Children"],
        products_zh="磁力玩具",
    )
    assert sorted(matched(index, n)) == [1, 2, 3]


def test_several_subscriptions_of_one_recipient_give_one_match() -> None:
    index = SubscriptionIndex([sub(7, rid=1, hs_prefixes=["9503"]), sub(9, rid=1, members=["EU"])])
    [m] = index.match_one(TOY, None)
    assert (m.recipient_id, m.subscription_id) == (1, 7)
    assert m.reasons == ("hs:9503", "member:EU")


def test_index_looks_only_at_candidates() -> None:
    subs = [sub(i, hs_prefixes=[f"{8400 + i % 1000:04d}"], members=["EU"]) for i in range(20_000)]
    subs.append(sub(99_999, hs_prefixes=["9503"]))
    index = SubscriptionIndex(subs)
    f = index.features(TOY, None)
    assert len(index.candidates(f)) == 1, "20,000 EU subscriptions on other HS codes are never looked at"
    assert [m.recipient_id for m in index.match_one(TOY, None)] == [99_999]


# -- the index agrees with a brute-force reading of the documented semantics --------------------------------
def brute_force(subs: list[StoredSubscription], notice: Notice, lab: Labels | None) -> set[int]:
    """The slow, obvious matcher: every subscription against the notice."""
    text = normalise_text(
        " \n ".join([notice.title, notice.description, notice.products, " ; ".join(notice.keywords)])
    )
    finder = KeywordMatcher([k for s in subs for k in s.keywords])
    found = finder.find(text)
    out = set()
    clusters = {c.cluster_id for c in lab.clusters} if lab else set()
    risk = RISK_LEVEL[lab.risk.value] if lab else 0
    for s in subs:
        ok = True
        if s.clusters:
            ok &= bool(clusters & set(s.clusters))
        if s.hs_prefixes:
            ok &= any(c.startswith(p) or p.startswith(c) for c in notice.hs_codes for p in s.hs_prefixes)
        if s.keywords:
            ok &= any(normalise_keyword(k) in found for k in s.keywords)
        if s.members:
            ok &= notice.member in s.members
        if s.kinds:
            ok &= notice.kind.value in s.kinds
        if s.min_risk:
            ok &= risk >= RISK_LEVEL[s.min_risk]
        if ok:
            out.add(s.recipient_id)
    return out


HS = st.sampled_from(["84", "8415", "841581", "85", "8516", "851660", "95", "9503", "950300", "6506"])
WORDS = ["toy", "toys", "battery", "glass", "feed", "lead content", "玩具", "电池", "饲料"]
CLUSTERS = ["toys", "batteries_energy_storage", "household_appliances", "tea"]
MEMBERS = ["EU", "USA", "JPN", "BRA"]


@st.composite
def subscriptions(draw: st.DrawFn) -> list[StoredSubscription]:
    out = []
    for i in range(draw(st.integers(1, 40))):
        crit: dict[str, Any] = {}
        if draw(st.booleans()):
            crit["clusters"] = draw(st.lists(st.sampled_from(CLUSTERS), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            crit["hs_prefixes"] = draw(st.lists(HS, min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            crit["keywords"] = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            crit["members"] = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            crit["kinds"] = draw(st.lists(st.sampled_from(["tbt", "sps"]), min_size=1, max_size=1))
        if draw(st.booleans()) or not crit:
            crit["min_risk"] = draw(st.sampled_from(["low", "medium", "high"]))
        out.append(sub(i + 1, rid=i + 1, **crit))
    return out


@st.composite
def notices(draw: st.DrawFn) -> tuple[Notice, Labels | None]:
    member = draw(st.sampled_from(MEMBERS))
    area = draw(st.sampled_from(["TBT", "SPS"]))
    words = draw(st.lists(st.sampled_from([*WORDS, "rules", "ceramics", "toyota"]), max_size=5))
    n = make_notice(
        f"G/{area}/N/{member}/{draw(st.integers(1, 999))}",
        title="Notification " + " ".join(words),
        hs_codes=draw(st.lists(HS, max_size=3, unique=True)),
    )
    lab = None
    if draw(st.booleans()):
        lab = labels(
            n.id,
            draw(st.lists(st.sampled_from(CLUSTERS), max_size=2, unique=True)),
            draw(st.sampled_from(list(Risk))),
        )
    return n, lab


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subscriptions(), st.lists(notices(), min_size=1, max_size=4))
def test_index_agrees_with_brute_force(
    subs: list[StoredSubscription], batch: list[tuple[Notice, Labels | None]]
) -> None:
    index = SubscriptionIndex(subs)
    for notice, lab in batch:
        assert {m.recipient_id for m in index.match_one(notice, lab)} == brute_force(subs, notice, lab)


# -- the ingest stage ---------------------------------------------------------------------------------------
def _alerts(repo: AlertsRepository) -> dict[tuple[str, str], Any]:
    keys = {r.id: r.key for r in repo.list_recipients()}
    return {(keys[a.recipient_id], a.notice_id): a for a in repo.alerts_for()}


def test_stage_records_matches_of_real_notices(
    store: Store, repo: AlertsRepository, eping_notices: dict[str, Notice]
) -> None:
    import_recipients(repo)
    toy = TOY
    lab = [
        labels(toy.id, ["toys"], Risk.HIGH),
        labels("G/TBT/N/USA/552/Rev.3/Add.5", ["household_appliances"], Risk.MEDIUM),
        labels("G/TBT/N/USA/2208", ["chemicals_dyes_fluoro"], Risk.LOW),
    ]
    ingest(store, [*eping_notices.values(), toy], lab)
    got = _alerts(repo)
    assert set(got) == {
        ("wp-yiwu-toys", "G/TBT/N/EU/1050"),
        ("exp-en-buyer", "G/TBT/N/EU/1050"),  # HS 95
        ("wp-ningbo-appliances", "G/TBT/N/USA/552/Rev.3/Add.5"),
        ("exp-cixi-aircon", "G/TBT/N/USA/552/Rev.3/Add.5"),  # HS 8415 + USA + risk >= medium
        ("exp-en-buyer", "G/TBT/N/USA/2208"),  # keyword phthalate
        ("exp-feed", "G/SPS/N/EU/860"),  # keyword feed + SPS
        ("exp-feed", "G/SPS/N/JPN/1345/Add.1"),
        ("exp-feed", "G/SPS/N/USA/3516"),
    }
    assert got[("exp-cixi-aircon", "G/TBT/N/USA/552/Rev.3/Add.5")].reasons == [
        "hs:8415",
        "member:USA",
        "risk:medium",
    ]
    assert got[("wp-yiwu-toys", "G/TBT/N/EU/1050")].risk == "high"


def test_each_pair_is_recorded_once(store: Store, repo: AlertsRepository) -> None:
    import_recipients(repo)
    ingest(store, [TOY], [labels(TOY.id, ["toys"])])
    ingest(store, [TOY], [labels(TOY.id, ["toys"])])  # unchanged: the stage does not even run
    changed = TOY.model_copy(update={"title": "Draft Regulation on the safety of toys (corrected)"})
    ingest(store, [Notice.model_validate(changed.model_dump())])  # changed content: stage runs again
    assert len(repo.alerts_for(notice_id=TOY.id)) == 2


def test_addendum_goes_to_earlier_recipients_as_an_update(store: Store, repo: AlertsRepository) -> None:
    import_recipients(repo)
    ingest(store, [TOY], [labels(TOY.id, ["toys"], Risk.HIGH)])
    # The addendum has no HS code and is labelled with another cluster: by itself it matches nobody.
    add1 = make_notice("G/TBT/N/EU/1050/Add.1", title="Adoption of the toy safety regulation", hs_codes=[])
    ingest(store, [add1], [labels(add1.id, ["tea"], Risk.LOW)])
    got = _alerts(repo)
    assert {k for k in got if k[1] == add1.id} == {("wp-yiwu-toys", add1.id), ("exp-en-buyer", add1.id)}
    update = got[("wp-yiwu-toys", add1.id)]
    assert update.is_update and update.subscription_id is None
    assert update.reasons == ["update:G/TBT/N/EU/1050"]
    # An unrelated measure's addendum reaches no one.
    other = make_notice("G/TBT/N/EU/999/Add.1", title="x")
    ingest(store, [other])
    assert not repo.alerts_for(notice_id=other.id)


def test_revision_in_the_same_batch_as_its_measure(store: Store, repo: AlertsRepository) -> None:
    import_recipients(repo, {"recipients": [exporter("exp-a", "a@example.cn", hs_prefixes=["9503"])]})
    rev = make_notice(
        "G/TBT/N/EU/1050/Rev.1", title="Revised toy regulation", distributed_on=dt.date(2025, 6, 11)
    )
    ingest(store, [TOY, rev])
    got = _alerts(repo)
    assert got[("exp-a", rev.id)].is_update
    assert not got[("exp-a", TOY.id)].is_update


def test_stage_rebuilds_its_index_when_subscriptions_change(store: Store, repo: AlertsRepository) -> None:
    stage = AlertsStage()
    first = stage.index_for(repo)
    assert stage.index_for(repo) is first
    import_recipients(repo)
    second = stage.index_for(repo)
    assert second is not first and len(second) == 6
    repo.remove_recipient("exp-feed")
    assert len(stage.index_for(repo)) == 5
