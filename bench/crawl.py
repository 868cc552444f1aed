"""Benchmark: items per second of the ``eping_api`` crawl against a local server, printed as JSON.

The local server (tests/crawlers/crawl_mockserver.py, in a subprocess) serves 20,000 constructed
notifications (the documented API item format) spread over 200 days, in pages of at most 100. The crawl runs
exactly as ``tbtwatch crawl eping_api`` does (a Scrapy subprocess writing to a fresh SQLite store through the
ingest path) with **politeness switched off**: no download delay, no AutoThrottle, 8 parallel requests to the
one host. That measures our own cost (HTTP, JSON, mapping, validation, SQLite); in production the crawl is
bounded by politeness instead: one request at a time and at least ``crawl.min_delay_seconds`` (2 s) between
requests to wto.org, so at most 100 notifications per 2 s, a ceiling printed as ``production_ceiling``.

Run: ``PYTHONPATH=. python bench/crawl.py [--count 20000]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "crawlers"))

from crawl_mockserver import MockServer, synthetic_items  # noqa: E402

from crawlers.parsers.eping_api import parse_search_page, to_record  # noqa: E402
from crawlers.runner import run_crawl  # noqa: E402
from tbtwatch.eping import build_notices  # noqa: E402
from tbtwatch.settings import load_settings  # noqa: E402

KEY = "bench-key"
START, DAYS = date(2024, 1, 1), 200
POLITENESS_OFF = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
}


def crawl(url: str, home: Path, since: date, until: date) -> tuple[float, dict[str, object]]:
    """Seconds and summary of one crawl into ``home``."""
    os.environ["TBTWATCH_HOME"] = str(home)
    started = time.perf_counter()
    summary = run_crawl(
        "eping_api",
        load_settings(home),
        base_url=url,
        since=since,
        spider_args={"until": until.isoformat(), "page_size": "100"},
        scrapy_settings=POLITENESS_OFF,
        timeout=1800,
    )
    return time.perf_counter() - started, summary.as_dict()


def parse_only(count: int) -> float:
    """Items per second of parsing, mapping and validating pages in-process (no HTTP, no store)."""
    items = synthetic_items(count, START, DAYS)
    pages = [
        json.dumps({"pageSize": 100, "totalCount": count, "items": items[i : i + 100]}).encode()
        for i in range(0, count, 100)
    ]
    now = datetime.now(UTC)
    started = time.perf_counter()
    done = 0
    for body in pages:
        for item in parse_search_page(body).items:
            done += len(build_notices(to_record(item), source="bench", fetched_at=now))
    return done / (time.perf_counter() - started)


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    args = parser.parse_args()
    gov_delay = load_settings().crawl.min_delay_seconds  # the production floor, before the bench lowers it
    os.environ["TBTWATCH_EPING_API_KEY"] = KEY
    os.environ["TBTWATCH_CRAWL__MIN_DELAY_SECONDS"] = "0"
    os.environ.pop("TBTWATCH_CONFIG_DIR", None)
    with (
        tempfile.TemporaryDirectory() as tmp,
        MockServer(Path(tmp), eping_synthetic=args.count, api_key=KEY, max_page_size=100) as url,
    ):
        # a crawl of one empty day measures the fixed cost: interpreter, Scrapy and store start-up
        empty_s, _ = crawl(url, Path(tmp) / "empty", date(2023, 1, 1), date(2023, 1, 1))
        full_s, summary = crawl(url, Path(tmp) / "full", START, START + timedelta(days=DAYS - 1))
        again_s, again = crawl(url, Path(tmp) / "full", START, START + timedelta(days=DAYS - 1))
    items = int(summary["items"])  # type: ignore[call-overload]
    print(
        json.dumps(
            {
                "benchmark": "eping_api crawl against a local server",
                "notifications_served": args.count,
                "page_size": 100,
                "politeness": "off (DOWNLOAD_DELAY=0, AutoThrottle off, 8 concurrent requests per host)",
                "items": items,
                "new": summary["new"],
                "errors": summary["errors"],
                "seconds": round(full_s, 2),
                "items_per_second": round(items / full_s, 1),
                "startup_seconds": round(empty_s, 2),
                "items_per_second_after_startup": round(items / max(full_s - empty_s, 1e-9), 1),
                "second_crawl": {
                    "seconds": round(again_s, 2),
                    "new": again["new"],
                    "unchanged": again["unchanged"],
                },
                "parse_validate_only_items_per_second": round(parse_only(args.count), 1),
                "production_ceiling": {
                    "items_per_second": round(100 / max(gov_delay, 1e-9), 1),
                    "why": f"one request at a time to api.wto.org, {gov_delay} s apart, 100 per page",
                },
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
