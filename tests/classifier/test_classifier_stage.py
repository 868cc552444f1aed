"""The ingest stage through a real SQLite store: labels are saved for new and changed notices."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from classifier.model import TextModel
from classifier.stage import ClassifierStage, make_stage
from tbtwatch.ingest import STAGE_FACTORIES, Rejected, default_stages, ingest
from tbtwatch.models import Kind, Notice, Risk
from tbtwatch.settings import load_settings
from tbtwatch.store import Store


def _notice(n: int, title: str, **kw: object) -> Notice:
    sym = f"G/TBT/N/EU/{n}"
    return Notice(id=sym, base_id=sym, kind=Kind.TBT, member="EU", title=title, source="test", **kw)  # type: ignore[arg-type]


def test_stage_is_registered_first() -> None:
    assert STAGE_FACTORIES[0] == "classifier.stage:make_stage"


def test_ingest_labels_new_and_changed_notices(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    stages = default_stages(settings)
    assert [s.name for s in stages][:1] == ["classifier"]
    store = Store.open(settings.store_path)
    try:
        toys = _notice(
            1,
            "Regulation prohibiting bisphenols in toys",
            hs_codes=["9503"],
            distributed_on=date(2025, 6, 2),
            comment_deadline=date(2099, 8, 1),
        )
        tea = _notice(2, "Maximum residue limits for pesticides in tea")
        other = _notice(3, "Geometrical design of roads")
        report = ingest(
            [toys, tea, other, Rejected("bad row", {"x": 1})], store, source="test", stages=[stages[0]]
        )
        assert report.new == 3 and report.quarantined == 1 and report.errors == 0
        labels = store.get_labels_many([toys.id, tea.id, other.id])
        assert labels[toys.id].clusters[0].cluster_id == "toys"
        assert "hs:9503" in labels[toys.id].clusters[0].reasons
        assert labels[toys.id].risk is Risk.HIGH
        assert labels[tea.id].clusters[0].cluster_id == "tea"
        assert labels[other.id].clusters == [] and labels[other.id].risk is Risk.LOW
        assert labels[toys.id].model_version == "rules"
        # a changed notice is labelled again
        changed = _notice(3, "Geometrical design of roads and toys for playgrounds")
        ingest([changed], store, source="test", stages=[stages[0]])
        assert store.get_labels(changed.id).clusters[0].cluster_id == "toys"  # type: ignore[union-attr]
    finally:
        store.close()


def test_stage_picks_up_a_new_model(tmp_path: Path, tiny_model: TextModel) -> None:
    settings = load_settings(tmp_path, environ={})
    stage = make_stage(settings)
    assert isinstance(stage, ClassifierStage)
    assert stage.classifier.version == "rules"
    tiny_model.save(settings.models_dir)
    assert stage.classifier.version == tiny_model.version
    store = Store.open(settings.store_path)
    try:
        stage.process([], store)
        stage.process([_notice(4, "Toy safety")], store)
        assert store.get_labels("G/TBT/N/EU/4").model_version == tiny_model.version  # type: ignore[union-attr]
    finally:
        store.close()
