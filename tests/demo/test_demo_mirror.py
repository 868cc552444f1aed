"""The demo mirror: fixture paths as on the live sites, the ePing search API, bad requests, a taken port."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tbtwatch.demo.mirror import API_PATH, DEMO_API_KEY, SITE_DIR, Mirror, MirrorError, SiteTree
from tbtwatch.demo.pipeline import saved_mirror_port

KEY = {"Ocp-Apim-Subscription-Key": DEMO_API_KEY}


@pytest.fixture(scope="module")
def mirror() -> Iterator[Mirror]:
    with Mirror(SITE_DIR) as m:
        yield m


def test_site_files_keep_the_live_paths(mirror: Mirror) -> None:
    robots = httpx.get(mirror.url + "/robots.txt")
    assert robots.status_code == 200 and "Disallow:" in robots.text and "/private" not in robots.text
    page2 = httpx.get(mirror.url + "/list/w/zxfb", params={"page": 2})
    assert page2.status_code == 200 and "/p/STD0003.html" in page2.text
    feed = httpx.get(mirror.url + "/asean.org/feed/")  # a folder: its index.xml
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/xml")
    workbook = httpx.get(mirror.url + "/NotificationExcelFiles/Notification_EN.xlsx")
    assert workbook.content[:2] == b"PK"


@pytest.mark.parametrize(
    "path", ["/nowhere.html", "/../../pyproject.toml", "/%2e%2e/%2e%2e/pyproject.toml", "/p/", "/list/w/zxfb"]
)
def test_missing_and_escaping_paths_are_404(mirror: Mirror, path: str) -> None:
    # http.client sends the path as written (httpx would remove the dot segments first)
    conn = http.client.HTTPConnection("127.0.0.1", mirror.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        assert response.status == 404
        assert b"[project]" not in response.read()
    finally:
        conn.close()


def _search(mirror: Mirror, **params: object) -> httpx.Response:
    query = {"domainIds": 1, "distributionDateFrom": "2025-06-01", "distributionDateTo": "2025-06-30"}
    query.update(params)  # type: ignore[arg-type]
    return httpx.get(mirror.url + API_PATH, params=query, headers=KEY)


def test_api_filters_by_domain_and_window_and_pages(mirror: Mirror) -> None:
    items = json.loads((SITE_DIR / "eping_api" / "notifications.json").read_text(encoding="utf-8"))
    tbt = _search(mirror, pageSize=1000).json()
    sps = _search(mirror, domainIds=2, pageSize=1000).json()
    assert tbt["totalCount"] + sps["totalCount"] >= len(items)  # undated items answer every window
    assert all("SPS" not in str(i.get("area") or i.get("documentSymbol")) for i in tbt["items"])
    page = _search(mirror, pageSize=5, page=2).json()
    assert (page["currentPage"], page["pageSize"], len(page["items"])) == (2, 5, 5)
    assert page["items"] == tbt["items"][5:10]
    narrow = _search(mirror, distributionDateFrom="2025-06-12", distributionDateTo="2025-06-12").json()
    assert {"G/TBT/N/SAU/1401", "G/TBT/N/BRA/1600"} <= {i["documentSymbol"] for i in narrow["items"]}


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {}, 401),
        ({}, {"Ocp-Apim-Subscription-Key": "wrong"}, 401),
        ({"distributionDateFrom": "yesterday"}, KEY, 400),
        ({"page": "x"}, KEY, 400),
    ],
)
def test_api_refuses_bad_requests(
    mirror: Mirror, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    query = {"domainIds": "1", "distributionDateFrom": "2025-06-01", "distributionDateTo": "2025-06-30"}
    response = httpx.get(mirror.url + API_PATH, params={**query, **params}, headers=headers)
    assert response.status_code == status
    assert "message" in response.json()


def test_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with Mirror(SITE_DIR, port=port) as m:
            assert m.fell_back and m.port != port
            assert httpx.get(m.url + "/robots.txt").status_code == 200


def test_missing_fixtures_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MirrorError, match="demo fixtures are missing"):
        Mirror(tmp_path)


def test_saved_port_ignores_a_damaged_state_file(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    for text in ("not json", "[]", '{"mirror_port": "x"}', '{"mirror_port": 80}'):
        (tmp_path / "demo" / "state.json").write_text(text, encoding="utf-8")
        assert saved_mirror_port(tmp_path) == 0
    assert saved_mirror_port(tmp_path / "absent") == 0


def test_layers_first_wins_and_nothing_outside_is_found(tmp_path: Path) -> None:
    top, base = tmp_path / "top", tmp_path / "base"
    for layer, files in (
        (top, {"a.html": "top", "p/x.html.route.json": "{}"}),
        (base, {"a.html": "base", "p/x.html": "x", "feed/index.xml": "f", "list@page=2": "2"}),
    ):
        for name, text in files.items():
            (layer / name).parent.mkdir(parents=True, exist_ok=True)
            (layer / name).write_text(text, encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no", encoding="utf-8")
    site = SiteTree(top, base)
    assert site.locate("/a.html", "").read_text(encoding="utf-8") == "top"  # type: ignore[union-attr]
    assert site.locate("/p/x.html", "") == (base / "p/x.html").resolve()  # the route above does not hide it
    assert site.locate("/feed", "") == site.locate("/feed/", "") == (base / "feed/index.xml").resolve()
    assert site.locate("/list", "page=2") == (base / "list@page=2").resolve()
    assert site.name_of("/p/y.html", "", sidecar=".route.json") is None
    assert site.name_of("/p/x.html", "", sidecar=".route.json") == "p/x.html"
    for escaping in ("/../secret.txt", "/p/../../secret.txt", "/list", "/"):
        assert site.locate(escaping, "") is None
