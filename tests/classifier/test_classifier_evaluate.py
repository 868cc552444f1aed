"""Evaluation arithmetic, gold file reading and the keyword baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.classify import Classifier
from classifier.doc import Doc
from classifier.errors import GoldFileError
from classifier.evaluate import KeywordBaseline, evaluate, read_gold, scores, select
from classifier.taxonomy import Taxonomy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "classifier"


def test_micro_macro_per_cluster() -> None:
    gold = [frozenset({"a"}), frozenset({"a", "b"}), frozenset()]
    pred = [{"a"}, {"a", "c"}, {"b"}]
    s = scores(gold, pred)
    # tp a=2; fp c=1, b=1; fn b=1
    assert s["micro"] == {"precision": 0.5, "recall": 0.6667, "f1": 0.5714}
    assert s["per_cluster"]["a"]["f1"] == 1.0
    assert s["per_cluster"]["b"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
        "tp": 0,
        "fp": 1,
        "fn": 1,
    }
    assert s["macro"]["clusters"] == 3 and s["macro"]["f1"] == round(1 / 3, 4)
    assert s["exact_match"] == round(1 / 3, 4)


def test_read_gold_csv(taxonomy: Taxonomy) -> None:
    items = read_gold(FIXTURES / "gold_small.csv", taxonomy)
    assert [it.doc.id for it in items][:2] == ["G/TBT/N/EU/9001", "G/TBT/N/USA/9002"]
    first = items[0]
    assert first.doc.hs_codes == ["9503"] and first.doc.ics_codes == ["97.200.50"]
    assert first.doc.member == "EU" and first.gold == frozenset({"toys"}) and first.split == "test"
    assert items[2].doc.kind == "sps" and items[2].gold == frozenset()
    assert len(select(items, "dev")) == 2 and len(select(items, "all")) == 4


def test_read_gold_jsonl(taxonomy: Taxonomy, tmp_path: Path) -> None:
    items = read_gold(FIXTURES / "news_small.jsonl", taxonomy)
    assert items[0].doc.language == "zh" and items[0].doc.kind == "news"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "t", "text": "x", "gold_clusters": "toys"}\n', encoding="utf-8")
    with pytest.raises(GoldFileError, match="must be a list"):
        read_gold(bad, taxonomy)
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(GoldFileError, match="not JSON"):
        read_gold(bad, taxonomy)


GOLD = Path(__file__).resolve().parents[1] / "fixtures" / "gold"


@pytest.mark.parametrize(
    ("name", "count", "splits"),
    [
        ("eping_2025-06.csv", 229, {"dev", "test"}),
        ("news.jsonl", 146, {"dev", "test"}),
        ("blind_eping.csv", 160, {"blind"}),
        ("blind_news.jsonl", 90, {"blind"}),
        ("blind2_eping.csv", 120, {"blind2"}),
        ("blind2_news.jsonl", 60, {"blind2"}),
        ("blind3_eping.csv", 100, {"blind3"}),
        ("blind3_news.jsonl", 60, {"blind3"}),
        ("blind4_eping.csv", 120, {"blind4"}),
        ("blind4_news.jsonl", 60, {"blind4"}),
        ("blind5_eping.csv", 120, {"blind5"}),
        ("blind5_news.jsonl", 60, {"blind5"}),
        ("blind6_eping.csv", 120, {"blind6"}),
        ("blind6_news.jsonl", 60, {"blind6"}),
        ("blind7_eping.csv", 120, {"blind7"}),
        ("blind7_news.jsonl", 60, {"blind7"}),
        ("blind8_eping.csv", 120, {"blind8"}),
        ("blind8_news.jsonl", 60, {"blind8"}),
        ("blind9_eping.csv", 120, {"blind9"}),
        ("blind9_news.jsonl", 60, {"blind9"}),
        ("blind10_eping.csv", 120, {"blind10"}),
        ("blind10_news.jsonl", 60, {"blind10"}),
        ("blind11_eping.csv", 120, {"blind11"}),
        ("blind11_news.jsonl", 60, {"blind11"}),
        ("blind12_eping.csv", 120, {"blind12"}),
        ("blind12_news.jsonl", 60, {"blind12"}),
        ("blind13_eping.csv", 120, {"blind13"}),
        ("blind13_news.jsonl", 60, {"blind13"}),
    ],
)
def test_gold_files_read_whole(taxonomy: Taxonomy, name: str, count: int, splits: set[str]) -> None:
    # every row of the evaluation sets the README describes is read, with known cluster ids only
    items = read_gold(GOLD / name, taxonomy)
    assert len(items) == count
    assert {it.split for it in items} == splits
    assert all(it.gold <= set(taxonomy.ids) for it in items)


def test_keyword_baseline_is_naive(taxonomy: Taxonomy) -> None:
    base = KeywordBaseline(taxonomy)
    assert "toys" in base.predict(Doc(id="x", title="Toys and games"))
    # no plural handling and no negatives: that is what the system improves on
    assert "toys" not in base.predict(Doc(id="x", title="A toy"))
    assert "toys" in base.predict(Doc(id="x", title="warnings about toy poodles"))
    assert "tea" in base.predict(Doc(id="x", title="茶叶农药残留"))


def test_evaluate_reports_system_and_baseline(rules: Classifier, taxonomy: Taxonomy) -> None:
    items = read_gold(FIXTURES / "gold_small.csv", taxonomy)
    report = evaluate(rules, items)
    assert report["system"]["micro"]["f1"] == 1.0
    assert report["errors"] == []
    text_only = evaluate(rules, items, text_only=True)
    assert text_only["text_only"] is True and "baseline" in text_only


def test_text_only_drops_codes_and_their_pasted_titles(rules: Classifier) -> None:
    # ePing pastes the chapter-32 title beside the code on a wood-primer standard: in text-only mode that
    # is the code in words and goes with it; the member's own words stay
    doc = Doc(
        id="G/TBT/N/MWI/178",
        title="Primers for wood - Specification",
        products="Wood primers (HS code(s): 3208); TANNING OR DYEING EXTRACTS; TANNINS AND THEIR DERIVATIVES; "
        "DYES, PIGMENTS AND OTHER COLOURING MATTER; PAINTS AND VARNISHES; PUTTY AND OTHER MASTICS; INKS "
        "(HS code(s): 32)",
        hs_codes=["3208", "32"],
    )
    plain = rules.text_only(doc)
    assert plain.codes() == ([], [])
    assert "Wood primers" in plain.products and "DYES" not in plain.products and "code" not in plain.products
    assert doc.products.endswith("(HS code(s): 32)")  # the original is left alone
    labels = rules.classify_docs([doc], text_only=True)[0]
    assert {c.cluster_id for c in labels.clusters} & {
        "chemicals_dyes_fluoro",
        "textile_fabrics_fibres",
    } == set()
