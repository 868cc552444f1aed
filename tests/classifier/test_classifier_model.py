"""The text model: training from seeds, artifact round trip, taxonomy-hash fallback to rules."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from classifier.classify import Classifier
from classifier.doc import Doc
from classifier.errors import ModelError
from classifier.model import ARTIFACT, METADATA, TextModel, fit, load_model, read_metadata
from classifier.risk import RiskConfig
from classifier.rules import RuleMatcher
from classifier.taxonomy import Taxonomy, parse_taxonomy
from classifier.weak import negative_examples, seed_examples, weak_labels

PROBES = [
    Doc(id="p1", title="Draft regulation on the safety of toys and dolls"),
    Doc(id="p2", title="欧盟修订玩具安全法规"),
    Doc(id="p3", title="Energy efficiency of household refrigerators and freezers"),
    Doc(id="p4", title="Jouets: exigences de sécurité"),
]


def test_seeds_cover_every_cluster_in_both_languages(taxonomy: Taxonomy) -> None:
    seeds = seed_examples(taxonomy)
    per = {cid: [d for d, lab in seeds if lab == [cid]] for cid in taxonomy.ids}
    assert all(len(docs) >= 10 for docs in per.values())
    assert any("玩具" in d.title for d in per["toys"])
    assert any("Tricycles" in d.title for d in per["toys"])  # HS 2022 description of 9503
    negatives = negative_examples(taxonomy)
    assert negatives and all(lab == [] for _, lab in negatives)
    assert not any(d.id == "neg:9503" for d, _ in negatives)


def test_weak_labels_from_hs_codes(taxonomy: Taxonomy) -> None:
    m = RuleMatcher(taxonomy)
    assert weak_labels(Doc(id="a", title="x", hs_codes=["950300"]), m) == [
        "motorcycles_ebikes_scooters",
        "toys",
    ]
    assert weak_labels(Doc(id="b", title="x", hs_codes=["100310"]), m) == []
    assert weak_labels(Doc(id="c", title="x", hs_codes=["85"]), m) is None
    assert weak_labels(Doc(id="d", title="x"), m) is None


def test_model_predicts_calibrated_probabilities(trained: TextModel, taxonomy: Taxonomy) -> None:
    proba = trained.predict_proba(PROBES)
    assert proba.shape == (4, len(taxonomy))
    assert np.all((proba >= 0) & (proba <= 1))
    toys = taxonomy.ids.index("toys")
    fridge = taxonomy.ids.index("household_appliances")
    assert proba[0, toys] > 0.5 and proba[1, toys] > 0.5  # English and Chinese
    assert proba[2, fridge] > 0.3 and int(np.argmax(proba[2])) == fridge
    assert proba[0, toys] > proba[2, toys]
    meta = trained.meta
    assert meta["taxonomy_hash"] == taxonomy.hash
    assert len(meta["training_data_hash"]) == 64
    assert meta["trained_at"] and meta["version"].startswith("model-")
    assert trained.predict_proba([]).shape == (0, len(taxonomy))


def test_artifact_round_trip(tiny_model: TextModel, taxonomy: Taxonomy, tmp_path: Path) -> None:
    path = tiny_model.save(tmp_path)
    assert path == tmp_path / ARTIFACT
    meta = read_metadata(tmp_path)
    assert meta is not None and meta["version"] == tiny_model.version
    loaded = load_model(tmp_path, taxonomy)
    assert loaded is not None and loaded.version == tiny_model.version
    np.testing.assert_allclose(loaded.predict_proba(PROBES), tiny_model.predict_proba(PROBES), rtol=1e-6)


def test_model_reason_and_version_in_labels(
    trained: TextModel, taxonomy: Taxonomy, risk_config: RiskConfig
) -> None:
    clf = Classifier(taxonomy, risk_config, model=trained)
    label = clf.classify_docs([Doc(id="news:1", title="玩具安全新规", kind="news")])[0]
    assert label.model_version == trained.version
    reasons = [r for c in label.clusters for r in c.reasons]
    assert any(r.startswith("model:") for r in reasons)


def test_taxonomy_change_warns_and_falls_back_to_rules(
    tiny_model: TextModel, taxonomy: Taxonomy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tiny_model.save(tmp_path)
    data = {
        "version": 1,
        "clusters": [
            {
                "id": c.id,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "sector": c.sector,
                "hs_prefixes": list(c.hs_prefixes),
                "keywords_en": [*c.keywords_en, "extra words"],
            }
            for c in taxonomy.clusters
        ],
    }
    changed = parse_taxonomy(data, "changed.yaml")
    assert changed.hash != taxonomy.hash
    with caplog.at_level(logging.WARNING, logger="classifier.model"):
        assert load_model(tmp_path, changed) is None
    assert "another cluster taxonomy" in caplog.text and "rules only" in caplog.text


def test_stale_or_broken_artifacts_fall_back(
    tiny_model: TextModel, taxonomy: Taxonomy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_model(tmp_path, taxonomy) is None  # nothing there
    tiny_model.save(tmp_path)
    meta = json.loads((tmp_path / METADATA).read_text(encoding="utf-8"))
    meta["sklearn"] = "0.0.1"
    (tmp_path / METADATA).write_text(json.dumps(meta), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="classifier.model"):
        assert load_model(tmp_path, taxonomy) is None
    assert "scikit-learn 0.0.1" in caplog.text
    tiny_model.save(tmp_path)
    (tmp_path / ARTIFACT).write_bytes(b"not a joblib file")
    with caplog.at_level(logging.WARNING, logger="classifier.model"):
        assert load_model(tmp_path, taxonomy) is None
    assert "cannot be read" in caplog.text
    (tmp_path / METADATA).write_text("{broken", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable model metadata"):
        read_metadata(tmp_path)


def test_training_refuses_unknown_or_thin_labels(taxonomy: Taxonomy) -> None:
    docs = [Doc(id="a", title="x")]
    with pytest.raises(ModelError, match="not a cluster"):
        fit(docs, [["no_such_cluster"]], taxonomy)
    with pytest.raises(ModelError, match="fewer than 3 training examples"):
        fit(docs, [["toys"]], taxonomy)


def test_fast_prediction_equals_scikit_learn(trained: TextModel) -> None:
    # predict_proba folds the 45 x 5 calibrated SVMs into one product; the numbers are scikit-learn's
    assert trained._linear is not None
    x = trained.features.transform(PROBES)
    np.testing.assert_allclose(trained.predict_proba(PROBES), trained.classifier.predict_proba(x), atol=1e-9)


def test_a_code_neither_the_words_nor_the_model_support_is_a_slip(
    trained: TextModel, taxonomy: Taxonomy, risk_config: RiskConfig
) -> None:
    # criterion 1 of the gold README: bleaching powder coded 845140 (textile washing and bleaching machines)
    clf = Classifier(taxonomy, risk_config, model=trained)
    slip, bare, named, fire, pens, shoots = clf.classify_docs(
        [
            Doc(
                id="MWI/209",
                title="DMS 575:2024, Stable bleaching powder – Specification",
                hs_codes=["845140"],
            ),
            # a title that names no product leaves the notice to its codes
            Doc(
                id="KGZ/1",
                title="Draft Technical Regulation No. 12/2026",
                member="Kyrgyz Republic",
                hs_codes=["9503"],
            ),
            Doc(id="EU/2", title="Draft regulation on the safety of toys", hs_codes=["9503"]),
            # an ICS code alone is a slip too: the fire behaviour of construction products under lighters' 13.220.40
            Doc(
                id="EU/1190",
                title="Classes of reaction to fire of construction products",
                ics_codes=["13.220.40"],
            ),
            # ... and an HS and an ICS code of one cluster, under a title naming another cluster's product by its
            # words: ball point pens coded 9613 and 97.180 (lighters')
            Doc(
                id="KEN/2058",
                title="Ball point pens and refills - Specification",
                hs_codes=["9613"],
                ics_codes=["97.180"],
            ),
            # a rule word of the cluster ("phytosanitary") is no product word: fresh bamboo shoots coded 4601
            # (plaited bamboo goods) are vegetables
            Doc(
                id="USA/3640",
                kind="sps",
                title="Importation of fresh bamboo shoots into the United States",
                description="Phytosanitary requirements for fresh bamboo shoots.",
                hs_codes=["4601"],
            ),
        ]
    )
    assert "sewing_machinery" not in {c.cluster_id for c in slip.clusters}
    assert "lighters" not in {c.cluster_id for c in fire.clusters}
    assert pens.clusters[0].cluster_id == "stationery_pens"
    assert "lighters" not in {c.cluster_id for c in pens.clusters}
    assert "bamboo_products" not in {c.cluster_id for c in shoots.clusters}
    assert [c.cluster_id for c in bare.clusters] == ["toys"]
    assert named.clusters[0].cluster_id == "toys"
    # without a model nothing can say the words name another thing: the code stands
    rules_only = Classifier(taxonomy, risk_config).classify_docs(
        [Doc(id="MWI/209", title="Stable bleaching powder", hs_codes=["845140"])]
    )[0]
    assert [c.cluster_id for c in rules_only.clusters] == ["sewing_machinery"]
