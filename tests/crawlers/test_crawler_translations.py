"""A Chinese title from the SAMR digest that arrives after its notice reaches the classifier and the index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.backend import open_backend
from index.query import Query
from tbtwatch.settings import load_settings
from tbtwatch.store import Store


def test_late_chinese_title_is_indexed(crawl: Callable[..., Any], crawl_env: Path) -> None:
    first = crawl("eping_api", since="2025-06-01", spider_args={"until": "2025-06-30"})
    assert first.errors == 0 and first.new > 0, first.as_dict()
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        stored = {n.id for n in store.iter_notices()}

    digest = crawl("samr_daily")
    assert digest.errors == 0, digest.messages

    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        translated = [n for n in store.get_many(sorted(stored)) if n.title_zh]
    assert translated, "the SAMR fixture translates none of the ePing API fixture's notices"
    backend = open_backend(load_settings())
    try:
        for notice in translated:
            words = notice.title_zh[:4]
            hits = backend.ids(Query(text=f'"{words}"'))
            assert notice.id in hits, (notice.id, words)
    finally:
        backend.close()
