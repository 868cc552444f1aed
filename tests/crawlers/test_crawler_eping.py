"""eping_api against the mock API: quirks end up right in the store, windows are incremental, the key is sent,
documents are linked to their base notification, and without a key the workbook is crawled instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from crawl_mockserver import API_PATH, MockServer

from tbtwatch.store import Store

ROOT = Path(__file__).resolve().parents[2]
JUNE = {"since": "2025-06-01", "spider_args": {"until": "2025-06-15"}}


def _api_requests(mirror: MockServer, after: int = 0) -> list[dict[str, Any]]:
    return [r for r in mirror.requests()[after:] if r["path"] == API_PATH]


def _tbtwatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TBTWATCH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tbtwatch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_api_crawl(crawl: Callable[..., Any], crawl_env: Path, mirror: MockServer) -> None:
    before = len(mirror.requests())
    summary = crawl("eping_api", **JUNE)
    assert summary.errors == 0, summary.messages
    # rejected: a null title, an item with neither title nor symbol, a deadline before distribution,
    # an unreadable distribution date, a member that is not a WTO member
    assert summary.quarantined == 5
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        reasons = sorted(q["reason"] for q in store.quarantined("eping_api"))
        eu = store.get("G/TBT/N/EU/1150")
        family = store.family("G/TBT/N/EU/1150")
        joint = [
            store.get(f"G/TBT/N/{s}") for s in ("BDI/650", "KEN/1850", "RWA/1100", "TZA/1300", "UGA/2200")
        ]
        odd = store.get("G/TBT/N/USA/2145")
        undated = store.get("G/TBT/N/CHN/2000")
        synthetic = [n for n in store.iter_notices() if n.synthetic_id]
        added = [store.get("G/TBT/N/EU/1165"), store.get("G/TBT/N/USA/2160")]
        total = store.count()
    assert reasons[0] == "distribution date: cannot read 'not a date' as a date"
    assert eu is not None and eu.distributed_on == date(2025, 6, 2) and eu.hs_codes == ["950300"]
    assert [(f["id"], f["doc_type"]) for f in family] == [
        ("G/TBT/N/EU/1150", "regular"),
        ("G/TBT/N/EU/1150/Add.1", "addendum"),
        ("G/TBT/N/EU/1150/Corr.1", "corrigendum"),
    ]
    assert all(n is not None for n in joint) and joint[1].member == "KEN"  # type: ignore[union-attr]
    assert odd is not None and odd.member == "USA"
    assert undated is not None and undated.distributed_on is None  # returned in every window, stored once
    assert [n.member for n in synthetic] == ["PER"]
    assert all(n is not None and n.distributed_on == date(2025, 6, 11) for n in added)
    assert total == 25  # 23 notices of the constructed quirks, and the demo's 2 of 2025-06-11

    calls = _api_requests(mirror, before)
    assert calls and all(c["api_key"] for c in calls)
    assert all(c["user_agent"].startswith("tbtwatch/") and "(+http" in c["user_agent"] for c in calls)
    queries = [parse_qs(c["query"]) for c in calls]
    assert {q["domainIds"][0] for q in queries} == {"1", "2"}
    assert {q["pageSize"][0] for q in queries} == {"100"}
    # the gateway caps pages at 10: the spider pages by the size the API reports
    assert any(q["page"] == ["2"] for q in queries)
    assert "/robots.txt" in [r["path"] for r in mirror.requests()[before:]]

    # `tbtwatch show BASE` lists the later documents of the measure
    shown = _tbtwatch(crawl_env, "show", " g/tbt/n/eu/1150 ", "--json")
    assert shown.returncode == 0, shown.stderr
    assert [f["id"] for f in json.loads(shown.stdout)["family"]] == [f["id"] for f in family]
    text = _tbtwatch(crawl_env, "show", "G/SPS/N/USA/3500")
    assert "G/SPS/N/USA/3500/Rev.1" in text.stdout and "(revision)" in text.stdout


def test_incremental_windows(
    crawl: Callable[..., Any], crawl_env: Path, mirror: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = crawl("eping_api", since="2025-06-01", spider_args={"until": "2025-06-08"})
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        assert store.get_state("eping_api")["until"] == "2025-06-08"
    before = len(mirror.requests())
    second = crawl("eping_api", spider_args={"until": "2025-06-15"})  # no since: from the saved state
    starts = sorted(parse_qs(c["query"])["distributionDateFrom"][0] for c in _api_requests(mirror, before))
    assert starts[0] == "2025-06-05"  # the last end minus 3 days of overlap
    assert second.new > 0 and first.new + second.new == 25
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        assert store.get_state("eping_api")["until"] == "2025-06-15"

    # a run with errors (a wrong key) keeps the state where the last clean run left it
    monkeypatch.setenv("TBTWATCH_EPING_API_KEY", "wrong-key")
    failed = crawl("eping_api", spider_args={"until": "2025-06-30"})
    assert failed.errors > 0 and "HTTP 401" in "\n".join(failed.messages)
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        assert store.get_state("eping_api")["until"] == "2025-06-15"
        assert store.runs("eping_api")[0].status == "errors"


def test_windows_split_when_too_big(crawl: Callable[..., Any], crawl_env: Path, mirror: MockServer) -> None:
    before = len(mirror.requests())
    summary = crawl(
        "eping_api",
        since="2025-06-01",
        spider_args={"until": "2025-06-15", "split_over": "5", "domains": "tbt", "window_days": "30"},
    )
    assert summary.errors == 0
    windows = {
        (parse_qs(c["query"])["distributionDateFrom"][0], parse_qs(c["query"])["distributionDateTo"][0])
        for c in _api_requests(mirror, before)
    }
    assert ("2025-06-01", "2025-06-15") in windows and len(windows) > 3
    assert summary.new == 19  # every TBT notice of the fortnight, split windows or not


def test_without_key_the_workbook_is_crawled(
    crawl: Callable[..., Any], crawl_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TBTWATCH_EPING_API_KEY")
    summary = crawl("eping_api")
    assert summary.fallback_from == "eping_api" and summary.source == "eping_workbook"
    assert summary.items == 229 and summary.errors == 0
    with Store.open(crawl_env / "tbtwatch.sqlite3") as store:
        assert [r.source for r in store.runs()] == ["eping_workbook"]
        # real export: the symbol cell is a HYPERLINK formula with a leading space
        jpn = store.get("G/SPS/N/JPN/1345/Add.1")
    assert jpn is not None and jpn.base_id == "G/SPS/N/JPN/1345" and jpn.doc_type == "addendum"
