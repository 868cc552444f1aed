"""Reindex while searches run (embedded tantivy): threads search without pause while ``tbtwatch reindex``
rebuilds the index in another process; no search fails, and each thread sees the old result set and then
the new one, never a mix or a step back."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from testutil import FIXTURES, subprocess_env, tbtwatch_cmd

from index.embedded import EmbeddedBackend
from index.query import Query
from tbtwatch.eping_workbook import open_workbook
from tbtwatch.ingest import Ingestor
from tbtwatch.models import Notice
from tbtwatch.settings import load_settings
from tbtwatch.store import Store

QUERIES = {
    "all": Query(),
    "text": Query(text="safety OR 安全", facets=True),
    "member": Query(members=["EU"], sort="date", size=5),
}


def _reindex(home: Path) -> None:
    done = subprocess.run(
        tbtwatch_cmd("--home", str(home), "reindex", "--json"),
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_searches_never_fail_and_switch_atomically_while_reindex_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = load_settings(home, environ={})
    with open_workbook(FIXTURES / "eping" / "eping_export_2025-06.xlsx") as wb:
        notices = [n for n in wb.items(source="test") if isinstance(n, Notice)]
    first, rest = notices[: len(notices) // 2], notices[len(notices) // 2 :]
    backend = EmbeddedBackend(settings.index_dir)
    with Store.open(settings.store_path) as store:
        with Ingestor(store, source="test") as ing:
            ing.add_all(first)
        backend.reindex_from(store)
        with Ingestor(store, source="test") as ing:  # in the store, not yet in the index
            ing.add_all(rest)

    # the expected totals of each query before and after the rebuild, from a scratch index of each set
    expected: dict[str, list[int]] = {}
    for label, subset in (("old", first), ("new", notices)):
        scratch = EmbeddedBackend(tmp_path / f"scratch-{label}")
        scratch.bulk_upsert(subset, {})
        for name, q in QUERIES.items():
            expected.setdefault(name, []).append(scratch.search(q).total)
    assert all(old < new for old, new in expected.values()), expected

    searcher = EmbeddedBackend(settings.index_dir)  # one backend shared by the threads, as the web app does
    stop = threading.Event()
    errors: list[str] = []
    seen: dict[str, list[list[int]]] = {name: [] for name in QUERIES}
    lock = threading.Lock()

    def search(name: str) -> None:
        totals: list[int] = []
        while not stop.is_set():
            try:
                totals.append(searcher.search(QUERIES[name]).total)
            except Exception as exc:  # any failure is what this test looks for
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
            time.sleep(0.001)
        with lock:
            seen[name].append(totals)

    threads = [threading.Thread(target=search, args=(name,)) for name in QUERIES for _ in range(2)]
    for t in threads:
        t.start()
    try:
        _reindex(home)
        _reindex(home)  # a second rebuild while searches hold the first one's folder open
        time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors[:5]
    for name, per_thread in seen.items():
        old, new = expected[name]
        for totals in per_thread:
            assert set(totals) <= {old, new}, (name, sorted(set(totals)), (old, new))
            # the switch happens once per thread: old results, then only new ones (never back)
            assert totals == sorted(totals) and totals[-1] == new, name
    fresh = EmbeddedBackend(settings.index_dir)
    assert fresh.count() == len({n.id for n in notices})
