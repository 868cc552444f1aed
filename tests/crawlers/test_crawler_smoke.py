"""Every registered spider crawls the mirror through the ingest path, and a second crawl finds nothing new."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crawlers.spiders import registry
from tbtwatch.store import Store

#: Spider arguments that keep each crawl on what the mirror holds (the shipped options otherwise).
MIRROR_ARGS: dict[str, dict[str, Any]] = {
    "wto_news": {"spider_args": {"years": "2013"}},
    "eping_api": {"since": "2025-06-01", "spider_args": {"until": "2025-06-30"}},
}


@pytest.mark.parametrize("spider", sorted(registry()))
def test_spider_crawls_mirror_twice(spider: str, crawl: Callable[..., Any], crawl_env: Path) -> None:
    first = crawl(spider, **MIRROR_ARGS.get(spider, {}))
    assert first.source == spider
    assert first.errors == 0, first.messages
    assert first.items > 0 and first.new > 0, first.as_dict()
    assert first.status == "ok"

    second = crawl(spider, **MIRROR_ARGS.get(spider, {}))
    assert second.new == 0, second.as_dict()
    assert second.changed == 0, second.as_dict()
    assert second.errors == 0, second.messages

    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        runs = store.runs(spider)
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[1].new == first.new and runs[0].new == 0
    assert all(r.finished_at for r in runs)
