"""Search, notice and dashboard pages against a real server, store and tantivy index of the real workbook."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from openpyxl import load_workbook

from index.backend import open_backend
from index.query import Query
from tbtwatch.settings import Settings


def hits_of(html: str) -> list[str]:
    """Notice ids linked from a results page, in order."""
    return re.findall(r'class="notice-link" href="/notices/([^"]+)"', html)


def total_of(html: str) -> int:
    m = re.search(r'id="total">(?:共 )?(\d+)', html)
    assert m, html[:2000]
    return int(m.group(1))


def test_search_page_is_chinese_first_with_every_notice(client: httpx.Client) -> None:
    r = client.get("/search")
    assert r.status_code == 200
    assert 'lang="zh-CN"' in r.text and "检索" in r.text and "分面统计" in r.text
    assert total_of(r.text) == 229
    assert len(hits_of(r.text)) == 20
    assert 'id="facets"' in r.text and "美国 USA" in r.text  # member facet with Chinese names


def test_english_switch_is_remembered_in_a_cookie(client: httpx.Client) -> None:
    r = client.get("/search", params={"lang": "en"})
    assert 'lang="en"' in r.text and "Search" in r.text and "results" in r.text
    assert "tbtwatch_lang=en" in r.headers.get("set-cookie", "")
    again = client.get("/search")
    assert 'lang="en"' in again.text
    back = client.get("/search", params={"lang": "zh"})
    assert 'lang="zh-CN"' in back.text


def test_chinese_search_highlights_the_samr_title(client: httpx.Client) -> None:
    r = client.get("/search", params={"q": "玩具"})
    assert r.status_code == 200
    assert "G/TBT/N/CHN/2058" in hits_of(r.text)
    assert "<mark>玩具</mark>" in r.text


def test_filters_match_the_index(client: httpx.Client, web_settings: Settings) -> None:
    backend = open_backend(web_settings)
    cases = [
        ({"kind": "sps"}, Query(kinds=["sps"])),
        ({"member": "CHN"}, Query(members=["CHN"])),
        ({"hs": "8806"}, Query(hs_prefixes=["8806"])),
        ({"risk": "medium"}, Query(risks=["medium"])),
        (
            {"from": "2025-06-05", "to": "2025-06-06"},
            Query(distributed_from="2025-06-05", distributed_to="2025-06-06"),
        ),
        (
            {"q": "safety", "kind": ["tbt", "sps"], "sort": "date"},
            Query(text="safety", kinds=["tbt", "sps"], sort="date"),
        ),
    ]
    for params, query in cases:
        r = client.get("/search", params=params)
        assert r.status_code == 200, params
        expected = backend.search(query)
        assert total_of(r.text) == expected.total, params
        assert hits_of(r.text) == [i.replace("/", "/") for i in expected.ids], params
    cluster = backend.search(Query()).facets["cluster"][0]
    r = client.get("/search", params={"cluster": cluster.key})
    assert total_of(r.text) == cluster.count
    # every notice of the workbook closed for comment in 2025: "open for comment" today finds none
    assert total_of(client.get("/search", params={"open": "1"}).text) == 0


def test_pagination_walks_the_result_set(client: httpx.Client) -> None:
    first = client.get("/search", params={"sort": "date"})
    second = client.get("/search", params={"sort": "date", "page": "2"})
    assert 'id="next-page"' in first.text and 'id="prev-page"' in second.text
    assert set(hits_of(first.text)).isdisjoint(hits_of(second.text))
    last = client.get("/search", params={"sort": "date", "page": "12"})
    assert len(hits_of(last.text)) == 229 - 11 * 20 and 'id="next-page"' not in last.text


@pytest.mark.parametrize(
    "params",
    [
        {"q": '"unclosed'},
        {"q": "toys AND"},
        {"from": "2025-13-01"},
        {"page": "abc"},
        {"page": "100000"},
        {"member": "<script>"},
        {"hs": "95a3"},
        {"sort": "random"},
        {"kind": "food"},
    ],
)
def test_bad_queries_answer_400_with_the_reason(client: httpx.Client, params: dict[str, str]) -> None:
    r = client.get("/search", params=params)
    assert r.status_code == 400
    assert "Traceback" not in r.text
    assert 'id="query-error"' in r.text
    assert "<script>" not in r.text


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("<script>alert(1)</script>\r\nSet-Cookie: evil=1 <img src=x onerror=alert(1)>", 200),
        ('"><script>alert(1)</script>\r\nSet-Cookie: evil=1', 400),  # unclosed quote: a syntax error
    ],
)
def test_hostile_query_text_is_escaped(client: httpx.Client, text: str, status: int) -> None:
    r = client.get("/search", params={"q": text})
    assert r.status_code == status
    assert "<script>alert" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;" in r.text
    assert "evil" not in r.headers.get("set-cookie", "")
    api = client.get("/api/search", params={"q": text})
    assert api.status_code == status
    if status == 200:
        assert api.json()["query"] == text
    else:
        assert "quote" in api.json()["detail"]


def test_notice_page_shows_everything(client: httpx.Client) -> None:
    r = client.get("/notices/G/TBT/N/CHN/2058")
    assert r.status_code == 200
    html = r.text
    assert "民用无人驾驶航空器唯一产品识别码" in html  # SAMR title beside the original
    assert "Unique product identification code for civil unmanned aircraft" in html
    assert "中国 (CHN)" in html and "8806" in html
    assert 'id="clusters"' in html and 'class="reason"' in html
    assert 'id="risk"' in html and "评议期已过" in html  # deadline 2025-08-09 is past
    assert "https://" in html  # document links


def test_notice_page_orders_the_life_of_the_measure(client: httpx.Client) -> None:
    r = client.get("/notices/G/TBT/N/BRA/366/Add.1")
    assert r.status_code == 200
    life = r.text[r.text.index('id="life"') :]
    order = [life.index(i) for i in ("G/TBT/N/BRA/366/Add.1", "G/TBT/N/BRA/366/Add.1/Corr.1")]
    assert order == sorted(order)
    assert "巴西关于电气设备合格评定的修订通报" in r.text


@pytest.mark.parametrize("path", ["/notices/G/TBT/N/XXX/1", "/notices/<script>", "/no/such/page"])
def test_unknown_pages_answer_404(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert "找不到" in r.text and "<script>" not in r.text


def test_export_csv_and_xlsx_hold_the_whole_result_set(client: httpx.Client) -> None:
    r = client.get("/search/export.csv", params={"kind": "sps"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("通报号") and len(rows) == 1 + 43
    assert all(row[1] == "sps" for row in rows[1:])
    x = client.get("/search/export.xlsx", params={"q": "玩具"})
    assert x.status_code == 200
    sheet = load_workbook(io.BytesIO(x.content), read_only=True).active
    assert sheet is not None
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[1][0] == "G/TBT/N/CHN/2058" and "民用无人驾驶航空器" in str(values[1][5])


def test_export_is_capped_by_the_setting(web_home: object) -> None:
    from pathlib import Path

    from tbtwatch.settings import load_settings
    from tbtwatch.web.server import WebServer

    settings = load_settings(Path(str(web_home)), environ={"TBTWATCH_WEB__EXPORT_LIMIT": "7"})
    server = WebServer(settings, host="127.0.0.1", port=0)
    server.start()
    try:
        r = httpx.get(f"{server.url}/search/export.csv", timeout=30)
        assert len(list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))) == 1 + 7
    finally:
        server.stop()


def test_dashboard_draws_svg_charts_with_chinese_names(client: httpx.Client) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200
    html = r.text
    assert html.count("<svg") == 3 and "<script" not in html
    assert "马拉维 MWI" in html  # the top notifying member of the workbook, with its Chinese name
    assert "2025-06" in html and "TBT 技术性贸易壁垒" in html
    assert "目前没有评议期内的通报" in html
    assert "229" in html


def test_security_headers_on_pages_and_api(client: httpx.Client) -> None:
    for path in ("/search", "/api/search", "/notices/nope", "/static/style.css"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_oversized_bodies_are_refused_with_413(client: httpx.Client, web_settings: Settings) -> None:
    big = b"x" * (web_settings.web.max_body_bytes + 1)
    r = client.post(
        "/admin/login", content=big, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413

    def chunks() -> object:
        for _ in range(web_settings.web.max_body_bytes // 65536 + 2):
            yield b"y" * 65536

    streamed = client.post(
        "/admin/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413


def test_a_broken_index_answers_503_with_the_fix(tmp_path: object) -> None:
    from pathlib import Path

    from tbtwatch.settings import load_settings
    from tbtwatch.web.server import WebServer

    home = Path(str(tmp_path)) / "home"
    (home / "index").mkdir(parents=True)
    (home / "index" / "CURRENT").write_text("not-an-index-folder\n", encoding="utf-8")
    server = WebServer(load_settings(home, environ={}), host="127.0.0.1", port=0)
    server.start()
    try:
        page = httpx.get(f"{server.url}/search", params={"q": "toys"}, timeout=30)
        assert (
            page.status_code == 503
            and "搜索索引暂不可用" in page.text
            and "tbtwatch reindex" in page.text
            and "Traceback" not in page.text
        )
        api = httpx.get(f"{server.url}/api/search", timeout=30)
        assert api.status_code == 503 and "reindex" in api.json()["detail"]
        assert httpx.get(f"{server.url}/dashboard", timeout=30).status_code == 200  # the store still answers
    finally:
        server.stop()


def test_notice_and_dashboard_in_english(client: httpx.Client) -> None:
    r = client.get("/notices/G/TBT/N/CHN/2058", params={"lang": "en"})
    assert "Original title" in r.text and "Chinese title (SAMR daily digest)" in r.text
    assert "民用无人驾驶航空器唯一产品识别码" in r.text  # notice texts are never translated away
    assert "comment period closed" in r.text and "China (CHN)" in r.text
    d = client.get("/dashboard")
    assert "Notices per month by kind" in d.text and "Malawi MWI" in d.text


def test_malformed_cookies_are_ignored(web_url: str) -> None:
    for cookie in ('tbtwatch_csrf="unterminated', "tbtwatch_lang=<script>; tbtwatch_csrf=short", ';;;=,"a b'):
        r = httpx.get(f"{web_url}/search", headers={"cookie": cookie}, timeout=30)
        assert r.status_code == 200 and 'lang="zh-CN"' in r.text
        assert "tbtwatch_csrf=" in r.headers.get("set-cookie", "")  # a fresh CSRF cookie replaces the bad one
