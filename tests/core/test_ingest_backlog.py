"""The ingest backlog: a notice a stage failed on reaches the later stages once that stage recovers, and
every notice reaches every stage exactly once per change (the real classifier, tantivy index and alert
matching stages; the only stand-in is a classifier stage that fails on purpose)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from alerts.clusters import cluster_names
from alerts.recipients import parse_recipients
from alerts.repository import AlertsRepository
from alerts.stage import AlertsStage
from classifier.stage import ClassifierStage
from index.embedded import EmbeddedBackend
from index.query import Query
from index.stage import IndexStage
from tbtwatch.ingest import Ingestor, Stage
from tbtwatch.models import Notice
from tbtwatch.settings import REPO_ROOT, Settings, load_settings
from tbtwatch.store import Store

NOTICES = REPO_ROOT / "tests" / "fixtures" / "alerts" / "eping_notices.json"


class Counted:
    """A real stage, with a count of the notices handed to it."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.name = stage.name
        self.seen: Counter[str] = Counter()

    def process(self, notices: list[Notice], store: Store) -> None:
        """Run the wrapped stage, then count."""
        self.stage.process(notices, store)
        self.seen.update(n.id for n in notices)


class Flaky(Counted):
    """A real stage that fails while ``broken`` is set (a classifier model that cannot load, say)."""

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.broken: type[BaseException] | None = None

    def process(self, notices: list[Notice], store: Store) -> None:
        """Fail (raise ``broken``) or run the wrapped stage."""
        if self.broken is not None:
            raise self.broken(f"{self.name} is down")
        super().process(notices, store)


def _notices() -> list[Notice]:
    return [Notice.model_validate(r) for r in json.loads(NOTICES.read_text(encoding="utf-8"))]


def _subscribe_to_every_cluster(settings: Settings, store: Store) -> None:
    ids = sorted(cluster_names(settings.config_dir))
    recipients = [
        {
            "id": "wp-all",
            "type": "warning_point",
            "name": "全省预警点",
            "addresses": ["all@wp.example.cn"],
            "subscriptions": [{"clusters": ids}],
        }
    ]
    AlertsRepository(store).import_recipients(parse_recipients({"recipients": recipients}))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(tmp_path / "home", environ={})


def test_a_notice_the_classifier_failed_on_is_indexed_and_matched_once_it_recovers(
    tmp_path: Path, settings: Settings
) -> None:
    notices = _notices()
    first, second = notices[:6], notices[6:]
    backend = EmbeddedBackend(tmp_path / "index")
    classifier = Flaky(ClassifierStage(settings))
    index = Counted(IndexStage(backend))
    alerts = Counted(AlertsStage())
    stages: list[Stage] = [classifier, index, alerts]
    with Store.open(tmp_path / "store.sqlite3") as store:
        _subscribe_to_every_cluster(settings, store)
        repo = AlertsRepository(store)

        classifier.broken = RuntimeError
        with Ingestor(store, source="test", stages=stages) as ing:
            ing.add_all(first)
        assert ing.report.errors == 1 and "classifier is down" in ing.report.messages[0]
        assert sorted(store.backlog("classifier")) == sorted(n.id for n in first)
        # nothing went on past the failed stage: no unlabelled notice in the index or matched without labels
        assert not index.seen and not alerts.seen and backend.count() == 0 and repo.alerts_for() == []
        assert store.count() == len(first)  # stored all the same

        classifier.broken = None
        with Ingestor(store, source="test", stages=stages) as ing:
            ing.add_all(second)
        assert ing.report.errors == 0
        for stage in stages:
            assert store.backlog(stage.name) == []
        every = Counter(n.id for n in notices)
        assert classifier.seen == every and index.seen == every and alerts.seen == every

        labels = store.get_labels_many([n.id for n in notices])
        assert len(labels) == len(notices)
        assert sorted(backend.ids(Query())) == sorted(every)
        labelled = {nid for nid, lab in labels.items() if lab.clusters}
        assert labelled, "the fixture notices touch Zhejiang clusters"
        for nid in labelled:  # indexed with its clusters: the index ran after the classifier
            cluster = labels[nid].clusters[0].cluster_id
            assert nid in backend.ids(Query(clusters=[cluster]))
        matched = Counter(a.notice_id for a in repo.alerts_for())
        assert matched == Counter(labelled)  # matched on clusters, each pair once

        # unchanged notices go nowhere; a changed one goes through every stage once more
        changed = Notice.model_validate({**notices[0].model_dump(), "title": notices[0].title + " (revised)"})
        with Ingestor(store, source="test", stages=stages) as ing:
            ing.add_all([*notices[1:], changed])
        assert (ing.report.unchanged, ing.report.changed) == (len(notices) - 1, 1)
        every[changed.id] += 1
        assert classifier.seen == every and index.seen == every and alerts.seen == every
        assert store.integrity_check() == "ok"


def test_a_run_stopped_between_stages_resumes_at_the_stage_it_had_reached(
    tmp_path: Path, settings: Settings
) -> None:
    notices = _notices()[:4]
    backend = EmbeddedBackend(tmp_path / "index")
    classifier = Counted(ClassifierStage(settings))
    index = Flaky(IndexStage(backend))
    alerts = Counted(AlertsStage())
    stages: list[Stage] = [classifier, index, alerts]
    with Store.open(tmp_path / "store.sqlite3") as store:
        # KeyboardInterrupt is no Exception: the run stops there, as a killed process would
        index.broken = KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt), Ingestor(store, source="test", stages=stages) as ing:
            ing.add_all(notices)
        ids = sorted(n.id for n in notices)
        assert store.backlog("classifier") == [] and sorted(store.backlog("index")) == ids
        assert backend.count() == 0

        index.broken = None
        with Ingestor(store, source="test", stages=stages) as ing:
            pass
        assert ing.report.errors == 0
        once = Counter(ids)
        assert classifier.seen == once and index.seen == once and alerts.seen == once
        assert sorted(backend.ids(Query())) == ids
        assert all(store.backlog(s.name) == [] for s in stages)
