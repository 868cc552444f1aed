"""Fixtures of the index tests: the corpus, a loaded embedded index, and an Elasticsearch endpoint.

Elasticsearch: a real cluster when ``TBTWATCH_ES_URL`` is set; otherwise the ``noida-db`` emulator
(an Elasticsearch 8.15 API on 127.0.0.1, from the ``test`` extra) started on a free port for the
session. When neither is available the Elasticsearch tests are skipped with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from index_testlib import drop_es_backend, make_es_backend

from index.documents import build_document
from index.embedded import EmbeddedBackend
from tbtwatch.models import Labels, Notice

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "index"


@pytest.fixture(scope="session")
def corpus() -> tuple[list[Notice], dict[str, Labels]]:
    """The contract corpus: real ePing rows plus constructed Chinese items, with constructed labels."""
    data = json.loads((FIXTURES / "notices.json").read_text(encoding="utf-8"))
    notices = [Notice.model_validate(n) for n in data["notices"]]
    labels = {lab["notice_id"]: Labels.model_validate(lab) for lab in data["labels"]}
    return notices, labels


@pytest.fixture(scope="session")
def corpus_docs(corpus: tuple[list[Notice], dict[str, Labels]]) -> list[dict[str, Any]]:
    """The index documents of the corpus (what the reference scan reads)."""
    notices, labels = corpus
    return [build_document(n, labels.get(n.id)) for n in notices]


@pytest.fixture(scope="session")
def embedded_loaded(
    tmp_path_factory: pytest.TempPathFactory, corpus: tuple[list[Notice], dict[str, Labels]]
) -> EmbeddedBackend:
    """An embedded index holding the corpus (shared by read-only tests)."""
    backend = EmbeddedBackend(tmp_path_factory.mktemp("embedded") / "index")
    notices, labels = corpus
    backend.bulk_upsert(notices, labels)
    return backend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _noida_binary() -> Path | None:
    try:
        pkg = resources.files("noida_db")
    except ModuleNotFoundError:
        return None
    binary = Path(str(pkg.joinpath("noida-db.exe" if os.name == "nt" else "noida-db")))
    if not binary.is_file():
        return None
    binary.chmod(0o755)
    return binary


def _wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> str | None:
    """None when the endpoint answers ``GET /``, else why not."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as resp:
                if resp.status == 200:
                    return None
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    return f"not ready after {timeout:.0f} s ({last})"


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real cluster (``TBTWATCH_ES_URL``) or of a noida-db emulator started for this session."""
    url = os.environ.get("TBTWATCH_ES_URL")
    if url:
        yield url.rstrip("/")
        return
    binary = _noida_binary()
    if binary is None:
        pytest.skip(
            "no Elasticsearch: TBTWATCH_ES_URL is not set and the noida-db emulator is not installed "
            "(pip install -e '.[test]')"
        )
    port = _free_port()
    data = tmp_path_factory.mktemp("noida")
    log = (data / "noida.log").open("wb")
    proc = subprocess.Popen(
        [
            str(binary),
            "start",
            "--only",
            "elasticsearch",
            "--elasticsearch-port",
            str(port),
            "--data-dir",
            str(data),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        problem = _wait_ready(url, proc)
        if problem:
            log.flush()
            tail = (data / "noida.log").read_text(errors="replace")[-300:]
            pytest.skip(f"the noida-db emulator could not be started ({problem}): {tail}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def es_is_emulator(es_url: str) -> bool:
    """True when the endpoint is the noida-db emulator."""
    import urllib.request

    with urllib.request.urlopen(es_url + "/", timeout=5) as resp:
        info = json.loads(resp.read())
    return bool(info.get("cluster_uuid") == "noida-local" or info.get("name") == "noida-db")


@pytest.fixture(scope="session")
def es_loaded(es_url: str, corpus: tuple[list[Notice], dict[str, Labels]]) -> Iterator[Any]:
    """An Elasticsearch index holding the corpus (shared by read-only tests)."""
    backend = make_es_backend(es_url)
    notices, labels = corpus
    backend.bulk_upsert(notices, labels)
    yield backend
    drop_es_backend(backend)


@pytest.fixture(scope="session")
def es_stems_porter2(es_loaded: Any) -> bool:
    """Whether the cluster's ``porter2`` stemmer is Snowball English (the emulator stems like Porter)."""
    index = es_loaded.alias_indices()[0]
    tokens = es_loaded.client.indices.analyze(index=index, analyzer="tbt_english", text="international")[
        "tokens"
    ]
    return bool(tokens and tokens[0]["token"] == "internat")


@pytest.fixture(params=["embedded", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def backend(request: pytest.FixtureRequest) -> Any:
    """Each backend, loaded with the corpus."""
    if request.param == "embedded":
        return request.getfixturevalue("embedded_loaded")
    return request.getfixturevalue("es_loaded")
