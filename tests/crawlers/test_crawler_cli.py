"""``tbtwatch crawl`` and ``tbtwatch sources`` as an operator runs them (a subprocess, a fresh home)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crawl_mockserver import MockServer

from tbtwatch.models import Notice

ROOT = Path(__file__).resolve().parents[2]
#: test politeness, passed the way a developer would
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]


def _tbtwatch(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TBTWATCH_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "TBTWATCH_CRAWL__MIN_DELAY_SECONDS": "0",
    }
    env.pop("TBTWATCH_CONFIG_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "tbtwatch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_crawl_json_output_and_second_crawl(tmp_path: Path, mirror: MockServer) -> None:
    home, out = tmp_path / "home", tmp_path / "out" / "wto.jsonl"
    args = ["crawl", "wto_news", "--base-url", mirror.url, "-a", "years=2013", "--json", *FAST]
    first = _tbtwatch(home, *args, "--output", str(out))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert list(summary)[:6] == ["source", "items", "new", "changed", "quarantined", "errors"]
    assert summary["source"] == "wto_news" and summary["errors"] == 0
    assert summary["new"] == 18  # 16 data-file entries and 2 feed entries (the third is in the data file)
    lines = out.read_text(encoding="utf-8").splitlines()
    notices = [Notice.model_validate_json(line) for line in lines]
    assert len(notices) == 18 and all(n.kind == "news" and n.id == n.base_id for n in notices)
    assert {n.language for n in notices} == {"en"}

    second = _tbtwatch(home, *args)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert (again["new"], again["changed"], again["unchanged"]) == (0, 0, 18)

    listing = _tbtwatch(home, "sources", "list", "--json")
    rows = {r["source"]: r for r in json.loads(listing.stdout)}
    assert rows["wto_news"]["last_status"] == "ok" and rows["wto_news"]["last_new"] == 0
    assert rows["eping_api"]["last_run"] is None and rows["samr_daily"]["schedule"].endswith(
        "(Asia/Shanghai)"
    )


def test_crawl_text_summary(tmp_path: Path, mirror: MockServer) -> None:
    done = _tbtwatch(tmp_path / "home", "crawl", "bricspic", "--base-url", mirror.url, *FAST)
    assert done.returncode == 0, done.stderr
    assert "bricspic: items 3, new 3, changed 0, quarantined 0, errors 0 (ok)" in done.stdout


def test_crawl_usage_errors(tmp_path: Path, mirror: MockServer) -> None:
    home = tmp_path / "home"
    unknown = _tbtwatch(home, "crawl", "nowhere")
    assert unknown.returncode == 1 and "unknown source 'nowhere'. Fix: use one of bricspic" in unknown.stderr
    bad_since = _tbtwatch(home, "crawl", "wto_news", "--since", "1/6/2025")
    assert bad_since.returncode == 1 and "is not a date. Fix: give YYYY-MM-DD" in bad_since.stderr
    bad_url = _tbtwatch(home, "crawl", "wto_news", "--base-url", "127.0.0.1:8000")
    assert bad_url.returncode == 1 and "--base-url" in bad_url.stderr
    bad_arg = _tbtwatch(home, "crawl", "wto_news", "--base-url", mirror.url, "-a", "yeers=2013")
    assert bad_arg.returncode == 1
    assert "SpiderArgumentError: spider wto_news has no argument 'yeers'" in bad_arg.stderr
    assert "Traceback" not in bad_arg.stderr
