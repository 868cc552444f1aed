"""The index ingest stage and the ``tbtwatch search`` / ``tbtwatch reindex`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from test_index_embedded import _hold_writer

from index.embedded import EmbeddedBackend
from index.query import Query
from index.stage import IndexStage
from tbtwatch.ingest import STAGE_FACTORIES, Ingestor, default_stages
from tbtwatch.models import Labels, Notice
from tbtwatch.settings import load_settings
from tbtwatch.store import Store

REPO = Path(__file__).resolve().parents[2]


class _SaveLabels:
    """Stands where the classifier stage runs: saves the corpus labels of each batch."""

    name = "labels"

    def __init__(self, labels: dict[str, Labels]) -> None:
        self.labels = labels

    def process(self, notices: list[Notice], store: Store) -> None:
        store.save_labels([self.labels[n.id] for n in notices if n.id in self.labels])


def test_index_stage_is_registered_after_the_classifier(tmp_path: Path) -> None:
    assert "index.stage:make_stage" in STAGE_FACTORIES
    if "classifier.stage:make_stage" in STAGE_FACTORIES:
        assert STAGE_FACTORIES.index("classifier.stage:make_stage") < STAGE_FACTORIES.index(
            "index.stage:make_stage"
        )
    stages = [s for s in default_stages(load_settings(tmp_path, environ={})) if isinstance(s, IndexStage)]
    assert len(stages) == 1 and stages[0].backend.name == "embedded"


def test_ingest_indexes_new_notices_with_labels_and_translations(
    tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]
) -> None:
    notices, labels = corpus
    backend = EmbeddedBackend(tmp_path / "index")
    with Store.open(tmp_path / "store.sqlite3") as store:
        store.set_translation("G/TBT/N/USA/2211", "zh", title="辅助燃油箱", products=None, source="test")
        with Ingestor(store, source="test", stages=[_SaveLabels(labels), IndexStage(backend)]) as ing:
            ing.add_all(notices)
        assert ing.report.errors == 0
    assert backend.count() == len(notices)
    assert backend.search(Query(text="辅助燃油箱")).ids == [
        "G/TBT/N/USA/2211"
    ]  # translation read from the store
    toys = [n for n, lab in labels.items() if any(c.cluster_id == "toys" for c in lab.clusters)]
    assert sorted(backend.ids(Query(clusters=["toys"]))) == sorted(toys)


def test_a_failing_index_stage_keeps_the_batch_for_the_next_ingest(
    tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]
) -> None:
    notices, _labels = corpus
    path = tmp_path / "index"
    backend = EmbeddedBackend(path, lock_timeout=0.3)
    backend.bulk_upsert(notices[:1])
    with Store.open(tmp_path / "store.sqlite3") as store:
        with _hold_writer(path, 30) as proc:
            with Ingestor(store, source="test", stages=[IndexStage(backend)]) as ing:
                ing.add_all(notices[1:6])
            proc.kill()
        assert ing.report.errors == 1 and "being written by another process" in ing.report.messages[0]
        assert len(store.backlog("index")) == 5
        assert backend.count() == 1
        with Ingestor(store, source="test", stages=[IndexStage(backend)]):
            pass  # the backlog is retried when an ingest starts
        assert store.backlog("index") == []
    assert backend.count() == 6


def _run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TBTWATCH_")},
        "PYTHONPATH": str(REPO),
        "TBTWATCH_HOME": str(home),
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "tbtwatch", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]) -> Path:
    """A home whose store holds the corpus and its labels (nothing indexed yet)."""
    notices, labels = corpus
    with Store.open(tmp_path / "tbtwatch.sqlite3") as store:
        store.upsert_many(notices)
        store.save_labels(labels.values())
    return tmp_path


def test_reindex_then_search(home: Path, corpus: tuple[list[Notice], dict[str, Labels]]) -> None:
    out = _run(home, "reindex", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["indexed"] == len(corpus[0])

    out = _run(home, "search", "玩具", "--json", "--limit", "2")
    data = json.loads(out.stdout)
    assert data["total"] >= 3 and len(data["hits"]) == 2
    assert any("<mark>玩具</mark>" in "".join(h["snippets"].values()) for h in data["hits"])
    assert {b["key"] for b in data["facets"]["kind"]} <= {"tbt", "sps", "news"}

    out = _run(home, "search", "--member", "USA,CHN", "--hs", "87", "--sort", "date", "--json")
    ids = [h["id"] for h in json.loads(out.stdout)["hits"]]
    assert ids and all(i.startswith(("G/TBT/N/USA", "G/TBT/N/CHN")) for i in ids)

    out = _run(home, "search", "--open", "--json")  # today is long after the corpus's deadlines
    assert json.loads(out.stdout)["total"] == 0


def test_search_table_shows_chinese_cluster_names(home: Path) -> None:
    _run(home, "reindex")
    out = _run(home, "search", "--cluster", "toys")
    assert out.returncode == 0, out.stderr
    assert "玩具产业集群" in out.stdout and "条结果" in out.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["search", '"open phrase'], 1, "error: query: the quote"),
        (["search", "toy", "--from", "June"], 1, "--from 'June' is not a date"),
        (["search", "toy", "--sort", "random"], 1, "sort"),
        (["search", "toy", "--backend", "solr"], 2, "unknown backend"),
        (["search", "toy", "--backend", "elasticsearch"], 2, "TBTWATCH_ES_URL"),
        (["reindex", "--backend", "elasticsearch"], 2, "TBTWATCH_ES_URL"),
    ],
)
def test_bad_input_is_one_message_and_an_exit_code(
    home: Path, args: list[str], code: int, message: str
) -> None:
    out = _run(home, *args)
    assert out.returncode == code
    assert message in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_unreachable_cluster_from_the_command_line(home: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _run(
        home,
        "search",
        "toy",
        "--backend",
        "elasticsearch",
        env={"TBTWATCH_ES_URL": f"http://127.0.0.1:{port}"},
    )
    assert out.returncode == 1
    assert "is unreachable" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 3  # one message, wrapped by the terminal width


@pytest.mark.elasticsearch
def test_reindex_and_search_on_elasticsearch(home: Path, es_url: str) -> None:
    from index_testlib import drop_es_backend, make_es_backend

    alias = f"tbtwatch-cli-{uuid.uuid4().hex[:8]}"
    env = {"TBTWATCH_ES_URL": es_url, "TBTWATCH_INDEX__ES_INDEX": alias}
    try:
        out = _run(home, "reindex", "--backend", "elasticsearch", "--json", env=env)
        assert out.returncode == 0, out.stderr
        _run(home, "reindex", "--json")
        results: list[Any] = []
        for backend in ("elasticsearch", "embedded"):
            out = _run(
                home, "search", "safety OR 安全", "--sort", "date", "--json", "--backend", backend, env=env
            )
            results.append([h["id"] for h in json.loads(out.stdout)["hits"]])
        assert results[0] and results[0] == results[1]
    finally:
        drop_es_backend(make_es_backend(es_url, alias))
