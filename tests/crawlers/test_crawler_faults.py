"""Bad input and faults on a real HTTP server: none crashes the crawl; bad items are quarantined with reasons;
each run is recorded with its counts and errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from crawl_mockserver import MockServer

from crawlers.errors import CrawlRunError
from tbtwatch.store import Store

#: Short timeout and two retries so that the slow page and the flaky feed finish quickly.
FAULT_SETTINGS = {"DOWNLOAD_TIMEOUT": "1", "RETRY_TIMES": "2"}


def _hits(mirror: MockServer, path: str) -> list[dict[str, Any]]:
    return [r for r in mirror.requests() if r["path"] == path]


def test_article_faults(
    crawl: Callable[..., Any], faults_config: Path, crawl_env: Path, mirror: MockServer
) -> None:
    summary = crawl("yidaiyilu_faults", settings=FAULT_SETTINGS)
    assert summary.status == "errors"  # recorded, not crashed
    errors = "\n".join(summary.messages)
    assert "/p/F404.html: HTTP 404" in errors
    assert "/p/SLOW1.html" in errors and "Timeout" in errors
    assert "/p/BIG1.html" in errors and "larger than download max size" in errors
    assert "/p/AWAY1.html" in errors and "offsite" in errors
    assert summary.errors == 4, errors
    assert (summary.new, summary.quarantined) == (3, 1), summary.as_dict()

    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        titles = sorted(n.title for n in store.iter_notices(kind="news"))
        [q] = store.quarantined("yidaiyilu_faults")
        [run] = store.runs("yidaiyilu_faults")
    assert titles == [
        "俄罗斯发布电气产品认证新规（GBK页面，错误的字符集头）",  # GBK body, header says UTF-8
        "印度标准局更新玩具强制认证目录（GBK页面，没有字符集）",  # GBK body, no charset anywhere
        "标准化工作会议召开（先失败后成功）",  # 500, then 200 on the retry
    ]
    assert q["reason"] == "no publication date" and q["raw"]["url"].endswith("/p/TRUNC1.html")
    assert (run.status, run.errors, run.new, run.quarantined) == ("errors", 4, 3, 1)

    assert len(_hits(mirror, "/p/FLAKY1.html")) == 2
    assert len(_hits(mirror, "/p/SLOW1.html")) == 3  # first try and two retries
    assert _hits(mirror, "/list/w/faults") and any(
        r["query"] == "page=2" for r in _hits(mirror, "/list/w/faults")
    )
    assert not [
        r for r in mirror.requests() if r["host"].startswith("localhost")
    ]  # the redirect was not followed


def test_digest_faults(
    crawl: Callable[..., Any], faults_config: Path, crawl_env: Path, mirror: MockServer
) -> None:
    summary = crawl("samr_faults", settings=FAULT_SETTINGS)
    errors = "\n".join(summary.messages)
    assert "Forbidden by robots.txt" in errors
    assert "no notification table" in errors
    assert (summary.errors, summary.quarantined, summary.new) == (2, 1, 2), summary.as_dict()
    assert not _hits(mirror, "/private/meiritongbao/2029000000000000009.html")
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        assert store.get_translation("G/TBT/N/VNM/351", "zh")["title"] == "纺织品安全国家技术法规"  # type: ignore[index]
        [q] = store.quarantined("samr_faults")
    assert "no notification table" in q["reason"] and q["raw"]["item"] == "PageProblem"


def test_feed_faults(
    crawl: Callable[..., Any], faults_config: Path, crawl_env: Path, mirror: MockServer
) -> None:
    summary = crawl("feeds_faults", settings=FAULT_SETTINGS)
    errors = "\n".join(summary.messages)
    assert "feeds.example.org/gone.xml: HTTP 404" in errors
    assert "broken.xml: not an RSS or Atom feed" in errors
    assert (summary.errors, summary.quarantined) == (2, 2), summary.as_dict()
    # ok.xml (2), flaky.xml after two 503s (1), truncated.xml (the complete entry: 1)
    assert summary.new == 4
    assert len(_hits(mirror, "/feeds.example.org/flaky.xml")) == 3
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        regions = {n.title: n.regions_affected for n in store.iter_notices(kind="news")}
        reasons = sorted(q["reason"] for q in store.quarantined("feeds_faults"))
    assert regions["National standard on LED lamps published"] == "test"
    assert "Standard for ceramic tiles adopted" in regions
    # the page that is not a feed, and the entry cut off by the truncation, with every reason
    assert reasons == [
        "not an RSS or Atom feed (no rss, feed or rdf element)",
        "url '' is not an absolute http(s) URL; title is empty; no publication date",
    ]


def test_run_timeout_stops_the_crawl_and_records_the_run(crawl: Callable[..., Any], crawl_env: Path) -> None:
    started = time.monotonic()
    with pytest.raises(CrawlRunError, match="ran past 8 s and was stopped"):
        # the article of this list page takes a minute to answer
        crawl("yidaiyilu", spider_args={"aliases": "hang"}, timeout=8, grace=2)
    assert time.monotonic() - started < 25
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        runs = store.runs("yidaiyilu")
    # the crawl closed cleanly on SIGINT (or was killed and recorded by the runner): never left open
    assert runs and all(r.finished_at and r.status == "failed" for r in runs)
