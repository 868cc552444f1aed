"""Steady-state benchmark: a day's volume, from the crawl starting to the immediate digest leaving the SMTP client.

    python bench/steady.py [--notices 60] [--news 200] [--recipients 50]

A local server (``tests/crawlers/crawl_mockserver.py``) serves the ePing API with ``--notices`` constructed
notifications and two RSS feeds (the ``feeds`` source's ASEAN and GSO feeds, mirrored) with ``--news`` items
between them; a real SMTP server (aiosmtpd) listens on 127.0.0.1. Then, as the scheduler would, one after the
other: ``tbtwatch crawl eping_api``, ``tbtwatch crawl feeds`` (subprocesses: Scrapy, the ingest path with the
classifier, the tantivy index and alert matching) and ``tbtwatch digest run --frequency immediate`` (render,
outbox, SMTP). The clock stops when the SMTP server has accepted the last message. Target < 60 s.

Politeness is switched off for the local server (no download delay, no AutoThrottle), as in the crawler tests:
in production a crawl waits ``crawl.min_delay_seconds`` between requests to one host, a few seconds a day here.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "crawlers"), str(REPO / "tests" / "alerts")]

from alerts_testlib import Handler, SmtpServer, exporter, free_port, write_recipients  # noqa: E402
from crawl_mockserver import MockServer  # noqa: E402

SIGNING_KEY = "bench-signing-key-0123456789abcdef"
API_KEY = "bench-key"
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
TOPICS = [
    "toys safety standard",
    "textile labelling requirements",
    "lithium battery transport rules",
    "electrical equipment conformity assessment",
    "food contact materials",
    "cosmetics preservatives annex",
    "furniture flammability",
    "footwear chemical limits",
]


def write_feeds(root: Path, count: int, now: datetime) -> None:
    """Two RSS feeds at the mirrored paths of the ``feeds`` source, ``count`` items between them."""
    feeds = {"asean.org/feed/index.xml": "ASEAN", "www.gso.org.sa/en/feed/index.xml": "GSO"}
    rng = random.Random(60)
    for n, (path, org) in enumerate(feeds.items()):
        items = []
        for i in range(n, count, len(feeds)):
            topic = rng.choice(TOPICS)
            published = now - timedelta(minutes=7 * i)
            items.append(
                f"<item><title>{org} news {i}: {escape(topic)}</title>"
                f"<link>https://{path.split('/')[0]}/news/{i}/</link>"
                f"<pubDate>{format_datetime(published)}</pubDate>"
                f"<description>{escape(f'{org} published new rules on {topic} (item {i}).')}</description></item>"
            )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{org}</title><link>https://example.org</link><language>en</language>"
            + "".join(items)
            + "</channel></rss>"
        )
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(doc, encoding="utf-8")


def recipients_file(path: Path, count: int) -> None:
    """Exporters with immediate digests: HS 9503 (the constructed notices), or a news keyword."""
    rows = []
    for i in range(count):
        sub = {"hs_prefixes": ["9503"]} if i % 2 == 0 else {"keywords": [TOPICS[i % len(TOPICS)].split()[0]]}
        rows.append(
            {
                **exporter(f"exp-{i:03d}", f"u{i}@e{i}.example.cn", **sub),
                "name": f"企业 {i}",
                "frequency": "immediate",
            }
        )
    write_recipients(path, rows)


def tbtwatch(home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run one CLI command; its JSON output and wall time."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tbtwatch", "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"tbtwatch {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    return {"seconds": round(time.perf_counter() - started, 2), "output": json.loads(done.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=60)
    parser.add_argument("--news", type=int, default=200)
    parser.add_argument("--recipients", type=int, default=50)
    args = parser.parse_args()
    now = datetime.now(UTC)
    handler = Handler()
    smtp = SmtpServer(handler, free_port()).start()
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "mirror", Path(tmp) / "home"
        write_feeds(root, args.news, now)
        home.mkdir()
        (home / "tbtwatch.toml").write_text(
            '[alerts]\nbase_url = "https://tbt.example.cn"\nfrom_address = "alerts@tbt.example.cn"\n'
            f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "none"\nrate_per_second = 1000.0\n',
            encoding="utf-8",
        )
        recipients_file(Path(tmp) / "recipients.yaml", args.recipients)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TBTWATCH_")}
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "TBTWATCH_SIGNING_KEY": SIGNING_KEY,
                "TBTWATCH_EPING_API_KEY": API_KEY,
                "TBTWATCH_CRAWL__MIN_DELAY_SECONDS": "0",
            }
        )
        tbtwatch(home, env, "recipients", "import", str(Path(tmp) / "recipients.yaml"), "--json")
        # the constructed notices are one a day from 2024-01-01: the window holds all of them
        until = date(2024, 1, 1) + timedelta(days=args.notices - 1)
        with MockServer(root, eping_synthetic=args.notices, api_key=API_KEY) as url:
            started = time.perf_counter()
            eping = tbtwatch(
                home, env, "crawl", "eping_api", "--base-url", url, "--since", "2024-01-01",
                "-a", f"until={until.isoformat()}", "--json", *FAST,
            )  # fmt: skip
            feeds = tbtwatch(home, env, "crawl", "feeds", "--base-url", url, "--json", *FAST)
            digest = tbtwatch(home, env, "digest", "run", "--frequency", "immediate", "--json")
            total = time.perf_counter() - started
    smtp.stop()
    print(
        json.dumps(
            {
                "benchmark": "steady",
                "notices_served": args.notices,
                "news_served": args.news,
                "recipients": args.recipients,
                "crawl_eping_api": {"seconds": eping["seconds"], **eping["output"]},
                "crawl_feeds": {"seconds": feeds["seconds"], **feeds["output"]},
                "digest_run": {
                    "seconds": digest["seconds"],
                    "messages": digest["output"]["messages"],
                    "sent": (digest["output"]["delivery"] or {}).get("sent"),
                },
                "received_by_smtp_server": handler.count(),
                "total_s": round(total, 2),
                "target_s": 60.0,
                "ok": total < 60.0 and handler.count() == digest["output"]["messages"] > 0,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
