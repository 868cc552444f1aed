"""The Elasticsearch backend: the JSON we send (snapshots), configuration, errors, alias switching.

Snapshots live in ``tests/fixtures/index/``; after an intended change regenerate them with
``TBTWATCH_UPDATE_SNAPSHOTS=1 pytest tests/index/test_index_elastic.py`` and review the diff.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from index_testlib import drop_es_backend, make_es_backend

from index.backend import open_backend
from index.elastic import ElasticsearchBackend, index_template, make_client, mappings, search_body
from index.errors import IndexUnavailableError, IndexWriteError, SearchError
from index.query import Query
from tbtwatch.errors import ConfigError
from tbtwatch.models import Labels, Notice
from tbtwatch.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "index"

SNAPSHOT_QUERIES: dict[str, Query] = {
    "match_all_by_date": Query(),
    "english_word": Query(text="batteries"),
    "english_phrase_with_stop_word": Query(text='"restriction of hazardous substances"'),
    "chinese_substring": Query(text="锂电池"),
    "boolean_mix": Query(text="(toy OR 玩具) AND safety -food NOT 食品"),
    "not_only": Query(text="NOT vehicle", facets=False),
    "symbol": Query(text="G/TBT/N/EU/1050"),
    "stop_words_only": Query(text="the of"),
    "all_filters": Query(
        text="LED灯具",
        kinds=["tbt", "sps"],
        members=["EU", "USA"],
        clusters=["lighting"],
        hs_prefixes=["9405", "8539"],
        ics_prefixes=["29.140"],
        risks=["high", "medium"],
        distributed_from="2025-01-01",
        distributed_to="2025-06-30",
        deadline_from="2025-07-01",
        deadline_to="2025-12-31",
        open_on="2025-07-15",
        sort="date",
        page=3,
        size=10,
    ),
}


def _snapshot(name: str, data: Any) -> None:
    path = FIXTURES / name
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("TBTWATCH_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}; create it with TBTWATCH_UPDATE_SNAPSHOTS=1"
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(text), (
        f"{name} changed; if intended, regenerate with TBTWATCH_UPDATE_SNAPSHOTS=1 and review the diff"
    )


def test_index_template_snapshot() -> None:
    _snapshot("es_index_template.json", index_template("tbtwatch"))


def test_search_bodies_snapshot() -> None:
    _snapshot("es_search_bodies.json", {name: search_body(q) for name, q in SNAPSHOT_QUERIES.items()})


@pytest.mark.parametrize(
    ("option", "index_an", "search_an"),
    [("smartcn", "smartcn", "smartcn"), ("ik", "ik_max_word", "ik_smart")],
)
def test_chinese_analyzer_plugins_are_selectable(option: str, index_an: str, search_an: str) -> None:
    cjk = mappings(option)["properties"]["title"]["fields"]["cjk"]
    assert (cjk["analyzer"], cjk["search_analyzer"]) == (index_an, search_an)


# -- configuration --------------------------------------------------------------------------------------
def test_client_needs_a_url(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"TBTWATCH_INDEX__BACKEND": "elasticsearch"})
    with pytest.raises(ConfigError, match="TBTWATCH_ES_URL"):
        open_backend(s)


def test_basic_auth_needs_the_password_from_the_environment(tmp_path: Path) -> None:
    env = {"TBTWATCH_ES_URL": "https://es.example.org:9200", "TBTWATCH_INDEX__ES_USERNAME": "tbt"}
    with pytest.raises(ConfigError, match="TBTWATCH_ES_PASSWORD"):
        make_client(load_settings(tmp_path, environ=env))


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request as an Elasticsearch that refuses the credentials, recording the headers."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {"error": {"type": "security_exception", "reason": "unable to authenticate"}, "status": 401}
        )
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("env", "header"),
    [
        ({"TBTWATCH_ES_API_KEY": "a2V5OnNlY3JldA=="}, "ApiKey a2V5OnNlY3JldA=="),
        (
            {"TBTWATCH_INDEX__ES_USERNAME": "analyst", "TBTWATCH_ES_PASSWORD": "s3cret"},
            "Basic " + base64.b64encode(b"analyst:s3cret").decode(),
        ),
    ],
)
def test_credentials_are_sent_and_a_refusal_is_one_clear_line(
    tmp_path: Path, refusing_server: str, env: dict[str, str], header: str
) -> None:
    s = load_settings(tmp_path, environ={"TBTWATCH_ES_URL": refusing_server, **env})
    backend = ElasticsearchBackend.from_settings(s)
    with pytest.raises(IndexUnavailableError) as err:
        backend.search(Query(text="toy"))
    assert "refused the credentials" in str(err.value) and "\n" not in str(err.value)
    assert "s3cret" not in str(err.value)
    assert _Recorder.seen[0]["authorization"] == header
    backend.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_cluster_is_one_line_of_ours(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={"TBTWATCH_ES_URL": f"http://127.0.0.1:{_closed_port()}"})
    backend = ElasticsearchBackend.from_settings(s)
    for call in (lambda: backend.search(Query(text="toy")), backend.count, lambda: backend.rebuild(iter([]))):
        with pytest.raises(IndexUnavailableError) as err:
            call()
        message = str(err.value)
        assert "is unreachable" in message and "Connection refused" in message and "\n" not in message
    backend.close()


# -- against a cluster or the emulator ---------------------------------------------------------------
pytestmark_es = pytest.mark.elasticsearch


@pytest.fixture
def fresh_es(es_url: str) -> Iterator[ElasticsearchBackend]:
    backend = make_es_backend(es_url)
    yield backend
    drop_es_backend(backend)


@pytestmark_es
def test_reindex_moves_the_alias_and_drops_the_old_index(
    fresh_es: ElasticsearchBackend,
    corpus: tuple[list[Notice], dict[str, Labels]],
    corpus_docs: list[dict[str, Any]],
) -> None:
    notices, labels = corpus
    fresh_es.bulk_upsert(notices[:5], labels)
    (first,) = fresh_es.alias_indices()
    assert fresh_es.count() == 5
    assert fresh_es.rebuild(iter(corpus_docs)) == len(corpus_docs)
    (second,) = fresh_es.alias_indices()
    assert second != first and second.startswith(f"{fresh_es.alias}-v1-")
    assert not fresh_es.client.indices.exists(index=first)
    assert fresh_es.count() == len(corpus_docs)
    template = fresh_es.client.indices.get_index_template(name=f"{fresh_es.alias}-notices")
    assert template["index_templates"][0]["index_template"]["index_patterns"] == [f"{fresh_es.alias}-v*"]


@pytestmark_es
def test_an_index_named_like_the_alias_is_refused(
    fresh_es: ElasticsearchBackend, corpus_docs: list[dict[str, Any]]
) -> None:
    fresh_es.client.indices.create(index=fresh_es.alias)
    with pytest.raises(IndexUnavailableError, match="where tbtwatch expects an alias"):
        fresh_es.upsert_documents(corpus_docs[:1])
    fresh_es.client.indices.delete(index=fresh_es.alias)


@pytestmark_es
def test_an_index_of_another_schema_asks_for_reindex(
    fresh_es: ElasticsearchBackend, corpus_docs: list[dict[str, Any]]
) -> None:
    fresh_es.client.indices.create(index=f"{fresh_es.alias}-v0-old", aliases={fresh_es.alias: {}})
    with pytest.raises(IndexUnavailableError, match=r"another version.*reindex --backend elasticsearch"):
        fresh_es.upsert_documents(corpus_docs[:1])
    assert fresh_es.rebuild(iter(corpus_docs[:3])) == 3  # reindex is the fix
    assert fresh_es.count() == 3


@pytestmark_es
def test_rejected_documents_raise_with_the_reason(
    fresh_es: ElasticsearchBackend, corpus_docs: list[dict[str, Any]]
) -> None:
    fresh_es.upsert_documents(corpus_docs[:1])
    bad = {**corpus_docs[1], "unmapped_field": "x"}
    try:
        fresh_es.upsert_documents([bad])
    except IndexWriteError as exc:
        assert "rejected 1 documents" in str(exc) and "strict" in str(exc).lower()
    else:
        pytest.skip(
            "this Elasticsearch (the noida-db emulator) accepted a field outside a dynamic: strict mapping"
        )


@pytestmark_es
def test_configured_from_settings_and_environment(
    es_url: str, tmp_path: Path, corpus: tuple[list[Notice], dict[str, Labels]]
) -> None:
    alias = f"tbtwatch-cfg-{os.getpid()}"
    env = {
        "TBTWATCH_ES_URL": es_url,
        "TBTWATCH_INDEX__ES_INDEX": alias,
        "TBTWATCH_INDEX__BACKEND": "elasticsearch",
    }
    backend = open_backend(load_settings(tmp_path, environ=env))
    try:
        assert isinstance(backend, ElasticsearchBackend) and backend.alias == alias
        assert (
            backend.search(Query(text="toy")).total == 0
        )  # nothing indexed yet: an empty answer, not an error
        notices, labels = corpus
        backend.bulk_upsert(notices, labels)
        assert backend.search(Query(text="玩具")).total >= 3
        assert backend.delete([notices[0].id, "missing"]) == 2
        assert backend.count() == len(notices) - 1
    finally:
        drop_es_backend(backend)


@pytestmark_es
def test_bad_requests_are_our_error(fresh_es: ElasticsearchBackend) -> None:
    with pytest.raises(SearchError, match="failed while searching"):
        fresh_es.ensure_template()
        fresh_es._search({"query": {"no_such_query": {}}})
