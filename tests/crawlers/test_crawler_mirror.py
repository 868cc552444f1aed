"""The crawler tests' mirror: the test-only overlay served on top of the demo's site, one copy of each page."""

from __future__ import annotations

import httpx
import pytest
from crawl_mockserver import MIRROR_LAYERS, OVERLAY, ROUTE, MockServer

from tbtwatch.demo.mirror import SITE_DIR

#: The only demo pages the overlay replaces: the tests' robots.txt forbids a folder (the demo's allows all).
SHADOWED = {"robots.txt"}
DIGESTS = "/html/1/tongbaopingyi/tongbaosudi/meiritongbao"


def test_the_overlay_holds_no_copy_of_a_demo_page() -> None:
    assert MIRROR_LAYERS == (OVERLAY, SITE_DIR / "mirror")
    base = SITE_DIR / "mirror"
    shadowed = {
        str(f.relative_to(OVERLAY))
        for f in OVERLAY.rglob("*")
        if f.is_file() and (base / f.relative_to(OVERLAY)).exists()
    }
    assert shadowed == SHADOWED
    # route files may stand beside a demo page: they change how it is served, they do not copy it
    beside = {
        str(r.relative_to(OVERLAY)).removesuffix(ROUTE)
        for r in OVERLAY.rglob(f"*{ROUTE}")
        if (base / r.relative_to(OVERLAY)).with_name(r.name.removesuffix(ROUTE)).is_file()
    }
    assert beside == {
        f"{DIGESTS.lstrip('/')}/2029000000000000001.html",
        f"{DIGESTS.lstrip('/')}/2029000000000000002.html",
    }


def test_pages_come_from_both_layers(mirror: MockServer) -> None:
    robots = httpx.get(mirror.url + "/robots.txt")
    assert robots.status_code == 200 and "Disallow: /private/" in robots.text  # the overlay's
    article = httpx.get(mirror.url + "/p/0ODODQPQ.html")  # the demo's
    assert (
        article.status_code == 200 and article.content == (SITE_DIR / "mirror/p/0ODODQPQ.html").read_bytes()
    )
    assert article.headers["content-type"] == "text/html; charset=utf-8"
    faults = httpx.get(mirror.url + "/list/w/faults", params={"page": 1})  # the overlay's
    assert faults.status_code == 200 and "/p/GBK1.html" in faults.text
    feed = httpx.get(mirror.url + "/asean.org/feed/")  # a folder of the demo's: its index.xml
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/xml")


def test_an_overlay_route_changes_how_a_demo_page_is_served(mirror: MockServer) -> None:
    lying = httpx.get(mirror.url + DIGESTS + "/2029000000000000001.html")
    demo_bytes = (SITE_DIR / "mirror" / DIGESTS.lstrip("/") / "2029000000000000001.html").read_bytes()
    assert lying.content == demo_bytes and lying.headers["content-type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        demo_bytes.decode("utf-8")  # the header lies: the page is GBK
    bare = httpx.get(mirror.url + DIGESTS + "/2029000000000000002.html")
    assert bare.status_code == 200 and bare.headers["content-type"] == "text/html"
