"""The JSON API, OpenAPI document, docs page, health and Prometheus metrics."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
import orjson
from web_testlib import SIGNING_KEY

from index.backend import open_backend
from index.query import Query
from tbtwatch.settings import Settings, load_settings
from tbtwatch.web.i18n import translator
from tbtwatch.web.render import deadline_text
from tbtwatch.web.security import Keys, admin_session_valid, make_admin_session
from tbtwatch.web.server import WebServer


def test_api_search_returns_the_backend_results(client: httpx.Client, web_settings: Settings) -> None:
    r = client.get("/api/search", params={"q": "玩具 OR safety", "kind": "tbt", "size": "5", "page": "2"})
    assert r.status_code == 200
    data = r.json()
    expected = open_backend(web_settings).search(Query(text="玩具 OR safety", kinds=["tbt"], size=5, page=2))
    assert data["total"] == expected.total and [h["id"] for h in data["hits"]] == expected.ids
    assert data["page"] == 2 and set(data["facets"]) == {"member", "cluster", "kind", "risk", "month"}
    assert all("title" in h["snippets"] for h in data["hits"])


def test_api_search_bad_input_is_400_json(client: httpx.Client) -> None:
    for params in (
        {"q": "(toys"},
        {"size": "1000"},
        {"page": "0"},
        {"from": "yesterday"},
        {"risk": "extreme"},
    ):
        r = client.get("/api/search", params=params)
        assert r.status_code == 400, params
        assert r.headers["content-type"].startswith("application/json") and r.json()["detail"]


def test_api_notice_and_404(client: httpx.Client) -> None:
    r = client.get("/api/notices/G/TBT/N/CHN/2058")
    assert r.status_code == 200
    data = r.json()
    assert data["notice"]["title_zh"] == "民用无人驾驶航空器唯一产品识别码"
    assert data["member_zh"] == "中国" and data["open_for_comment"] is False and data["days_left"] < 0
    assert data["labels"]["risk"] in ("low", "medium", "high")
    family = client.get("/api/notices/G/TBT/N/BRA/366/Add.1").json()["family"]
    assert [f["id"] for f in family][-2:] == ["G/TBT/N/BRA/366/Add.1", "G/TBT/N/BRA/366/Add.1/Corr.1"]
    missing = client.get("/api/notices/G/TBT/N/EU/99999")
    assert missing.status_code == 404 and "not in the store" in missing.json()["detail"]


def test_api_stats_and_sources(client: httpx.Client) -> None:
    stats = client.get("/api/stats").json()
    assert stats["total"] == 229 and stats["by_kind"] == {"tbt": 186, "sps": 43}
    assert stats["per_month"] == {"2025-06": {"tbt": 186, "sps": 43}}
    assert stats["top_members"][0] == {"member": "MWI", "name_zh": "马拉维", "name_en": "Malawi", "count": 40}
    assert stats["per_cluster"] and all(c["name_zh"] for c in stats["per_cluster"])
    assert stats["open_for_comment"] == []
    sources = client.get("/api/sources").json()["sources"]
    assert [s["source"] for s in sources] == ["eping_workbook"]
    assert sources[0]["last_run"]["status"] == "ok" and sources[0]["last_run"]["items"] == 229


def test_openapi_and_docs_page(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/search",
        "/api/notices/{notice_id}",
        "/api/stats",
        "/api/sources",
        "/healthz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    assert not any(
        p.startswith(("/search", "/subscriptions", "/unsubscribe", "/admin")) for p in spec["paths"]
    )
    docs = client.get("/docs")
    assert docs.status_code == 200 and "GET /api/search" in docs.text and "<script" not in docs.text


def test_health_and_metrics(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    client.get("/search", params={"q": "toys"})
    client.get("/notices/G/TBT/N/XXX/1")
    text = client.get("/metrics").text
    assert "tbtwatch_notices_total 229" in text
    assert "tbtwatch_outbox_pending " in text and "tbtwatch_index_documents 229" in text
    assert re.search(r'tbtwatch_http_requests_total\{method="GET",route="/search",status="200"\} \d+', text)
    assert 'route="/notices/{notice_id:path}",status="404"' in text  # route templates, never raw paths
    assert 'tbtwatch_http_request_duration_seconds_bucket{method="GET",route="/search",le="+Inf"}' in text
    assert "Bearer" not in text


def test_deadline_words() -> None:
    t = translator("zh")
    today = date(2025, 6, 10)
    assert deadline_text("2025-06-20", today, t) == "剩余 10 天"
    assert deadline_text(date(2025, 6, 10), today, t) == "今天截止"
    assert deadline_text("2025-06-01", today, t) == "评议期已过"
    assert deadline_text(None, today, translator("en")) == "no comment period"


def test_admin_sessions_expire_and_follow_the_token(web_settings: Settings) -> None:
    keys = Keys(web_settings)
    cookie = make_admin_session(keys, web_settings, now=1_000_000)
    assert admin_session_valid(keys, web_settings, cookie, now=1_000_100)
    assert not admin_session_valid(keys, web_settings, cookie, now=1_000_000 + 9 * 3600)
    assert not admin_session_valid(keys, web_settings, cookie.replace(".", ".0", 1), now=1_000_100)
    from tbtwatch.settings import load_settings

    rotated = load_settings(
        web_settings.home,
        environ={"TBTWATCH_ADMIN_TOKEN": "another-token-entirely", "TBTWATCH_SIGNING_KEY": SIGNING_KEY},
    )
    assert not admin_session_valid(Keys(rotated), rotated, cookie, now=1_000_100)


def test_results_dict_is_as_dict(web_settings: Settings) -> None:
    from tbtwatch.web.api import results_dict

    backend = open_backend(web_settings)
    for query in (
        Query(text="safety"),
        Query(text="玩具"),
        Query(members=["USA"], sort="date"),
        Query(text="zzzq"),
    ):
        results = backend.search(query)
        # hits and buckets stay dataclasses for orjson: the same JSON as the deep-copied dict
        assert orjson.loads(orjson.dumps(results_dict(results))) == results.as_dict()


def test_api_search_facets_can_be_left_out(client: httpx.Client) -> None:
    params = {"q": "safety", "size": "5"}
    full = client.get("/api/search", params=params).json()
    bare = client.get("/api/search", params={**params, "facets": "false"}).json()
    assert full["facets"]["member"] and bare["facets"] == {}
    assert [h["id"] for h in bare["hits"]] == [h["id"] for h in full["hits"]]
    assert bare["hits"] == full["hits"] and bare["total"] == full["total"]
    assert client.get("/api/search", params={**params, "facets": "1"}).json()["facets"] == full["facets"]
    bad = client.get("/api/search", params={**params, "facets": "maybe"})
    assert bad.status_code == 400 and "facets" in bad.json()["detail"]
    for odd in ("²", "١", "1.0", "-1"):  # digits int() refuses, or not whole positive numbers
        assert client.get("/api/search", params={"page": odd}).status_code == 400, odd


def test_search_page_without_facets(client: httpx.Client) -> None:
    page = client.get("/search", params={"q": "safety", "facets": "0"})
    assert page.status_code == 200 and 'id="facets"' not in page.text
    assert 'name="facets" value="0"' in page.text  # kept when the form is sent again
    assert 'id="facets"' in client.get("/search", params={"q": "safety"}).text


def test_api_search_on_an_unreachable_elasticsearch_is_503(tmp_path: Path) -> None:
    # the Elasticsearch search runs in the thread pool (not on the event loop): its errors still answer 503
    (tmp_path / "tbtwatch.toml").write_text(
        '[index]\nbackend = "elasticsearch"\nes_url = "http://127.0.0.1:9"\n', encoding="utf-8"
    )
    server = WebServer(load_settings(tmp_path, environ={}), host="127.0.0.1", port=0)
    server.start()
    try:
        r = httpx.get(f"{server.url}/api/search", params={"q": "toys"}, timeout=60)
    finally:
        server.stop()
    assert r.status_code == 503 and "unavailable" in r.json()["detail"]
