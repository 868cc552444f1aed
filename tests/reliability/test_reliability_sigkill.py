"""SIGKILL of the pipeline: ``tbtwatch crawl eping_api`` and ``tbtwatch digest run`` run as subprocesses against a
local ePing API server and a real SMTP server (aiosmtpd) on 127.0.0.1, and are SIGKILLed (the whole process
group, the Scrapy child too) at seeded random moments. Each run crawls a new ten-day window together with the
one before (so a killed crawl is redone) or sends the digests due; a last clean crawl and digest run follow.

Then (DESIGN.md invariants 1-3): every served notice of the crawled windows is in the store and in the index,
every expected (recipient, notice) pair was delivered, a pair arrived twice only inside a message that arrived
twice, at most one message per killed sender, and the store passes ``PRAGMA integrity_check``. A JSON summary
is printed (runs, kills, pairs expected/delivered/duplicated, failures).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from testutil import REPO, subprocess_env, tbtwatch_cmd

sys.path[:0] = [str(REPO / "tests" / "crawlers"), str(REPO / "tests" / "alerts")]

from alerts_testlib import Handler, SmtpServer, exporter, free_port, write_recipients  # noqa: E402
from crawl_mockserver import MIRROR_LAYERS, MockServer, synthetic_items  # noqa: E402

from index.embedded import EmbeddedBackend  # noqa: E402
from index.query import Query  # noqa: E402
from tbtwatch import symbols  # noqa: E402
from tbtwatch.errors import StoreError  # noqa: E402
from tbtwatch.store import Store  # noqa: E402

SEED = int(os.environ.get("TBTWATCH_SIGKILL_SEED", "8"))
RUNS = int(os.environ.get("TBTWATCH_SIGKILL_RUNS", "20"))
ITEMS = 400  # two a day over 200 days
START = date(2024, 1, 1)
WINDOW_DAYS = 10
API_KEY = "sigkill-test-key"
SIGNING_KEY = "test-signing-key-0123456789abcdef"
#: 09:00 in Shanghai; each digest run is one minute later (an immediate digest is one per recipient a minute)
CLOCK = datetime(2025, 6, 12, 1, 0, tzinfo=UTC)
SYMBOL = re.compile(r"G/(?:TBT|SPS)/N/[A-Z]+/\d+")
SUBSCRIPTIONS: dict[str, dict[str, list[str]]] = {
    "tbt": {"kinds": ["tbt"]},
    "sps": {"kinds": ["sps"]},
    "eu-usa": {"members": ["EU", "USA"]},
    "toys": {"hs_prefixes": ["9503"]},
    "ken-sps": {"members": ["KEN"], "kinds": ["sps"]},
}


def _wanted(sub: dict[str, list[str]], notice_id: str) -> bool:
    sym = symbols.parse(notice_id)
    return (not sub.get("kinds") or str(sym.kind) in sub["kinds"]) and (
        not sub.get("members") or sym.member in sub["members"]
    )


COPIES = 6  # recipients per subscription: about 30 messages per digest run, so kills land mid-send


def _recipients_file(path: Path) -> None:
    write_recipients(
        path,
        [
            {
                **exporter(f"exp-{key}-{c}", f"{key}-{c}@e.example.cn", **sub),
                "name": f"企业 {key} {c}",
                "frequency": "immediate",
            }
            for key, sub in SUBSCRIPTIONS.items()
            for c in range(COPIES)
        ],
    )


def stored_count(home: Path) -> int:
    """Notices in the store now (0 before it exists), read beside the writer (WAL)."""
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return 0
    try:
        with Store.open(path, readonly=True) as store:
            return store.count()
    except (StoreError, sqlite3.Error):  # created but not migrated yet: nothing stored
        return 0


class Pipeline:
    """Starts the CLI as subprocesses (each in its own process group) and kills them on request."""

    def __init__(self, home: Path, api_url: str) -> None:
        self.home = home
        self.api_url = api_url
        self.env = subprocess_env(home)
        self.env.update(
            {
                "TBTWATCH_SIGNING_KEY": SIGNING_KEY,
                "TBTWATCH_EPING_API_KEY": API_KEY,
                "TBTWATCH_CRAWL__MIN_DELAY_SECONDS": "0",
            }
        )
        self.failures: list[str] = []

    def crawl_args(self, first_day: date, last_day: date) -> list[str]:
        return [
            "crawl",
            "eping_api",
            "--base-url",
            self.api_url,
            "--since",
            first_day.isoformat(),
            "-a",
            f"until={last_day.isoformat()}",
            "-a",
            "page_size=5",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "TBTWATCH_INGEST_BATCH=4",  # commits during the crawl: more moments to be killed in
            "--json",
        ]

    def digest_args(self, now: datetime) -> list[str]:
        return ["digest", "run", "--frequency", "immediate", "--now", now.isoformat(), "--json"]

    def run(
        self, args: list[str], kill_after: float | None, kill_when: Callable[[], bool] | None = None
    ) -> bool:
        """Run one command; SIGKILL its process group after ``kill_after`` seconds or once ``kill_when()``
        holds. True when it was killed."""
        proc = subprocess.Popen(
            tbtwatch_cmd("--home", str(self.home), *args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + (kill_after if kill_after is not None else 300)
        while proc.poll() is None:
            if time.monotonic() >= deadline or (kill_when is not None and kill_when()):
                if kill_after is None and kill_when is None:
                    self.failures.append(f"{' '.join(args[:2])} did not finish in 300 s")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate(timeout=60)
                return True
            time.sleep(0.01)
        _out, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            self.failures.append(f"{' '.join(args[:2])} exited {proc.returncode}: {err[-500:]}")
        return False


@pytest.mark.slow
def test_sigkilled_crawls_and_senders_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    home = tmp_path / "home"
    home.mkdir()
    handler = Handler(data_delay=0.04)
    smtp = SmtpServer(handler, free_port()).start()
    (home / "tbtwatch.toml").write_text(
        "[alerts]\n"
        'base_url = "https://tbt.example.cn"\n'
        'from_address = "alerts@tbt.example.cn"\n'
        "[smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp.port}\n"
        'security = "none"\n'
        "max_concurrency = 1\n"
        "rate_per_second = 1000.0\n"
        "timeout_seconds = 10.0\n",
        encoding="utf-8",
    )
    _recipients_file(tmp_path / "recipients.yaml")
    summary: dict[str, Any] = {"seed": SEED, "runs": 0, "kills": {"crawl": 0, "digest": 0}}
    started = time.monotonic()
    try:
        with MockServer(MIRROR_LAYERS, eping_synthetic=ITEMS, api_key=API_KEY) as url:
            pipe = Pipeline(home, url)
            assert not pipe.run(["recipients", "import", str(tmp_path / "recipients.yaml")], None)
            clock = CLOCK
            window = 0
            for k in range(RUNS):
                summary["runs"] += 1
                if k % 2 == 0:  # crawl this window and the one before (redoes a killed crawl)
                    first = START + timedelta(days=max(window - 1, 0) * WINDOW_DAYS)
                    last = START + timedelta(days=(window + 1) * WINDOW_DAYS - 1)
                    window += 1
                    # a third of the crawls finish; the others die once a random number of the window's
                    # notices is stored (mid-ingest: between a batch's commit and its stages, or later)
                    target = stored_count(home) + rng.randint(1, 2 * WINDOW_DAYS)
                    finish = rng.random() < 1 / 3
                    if pipe.run(
                        pipe.crawl_args(first, last),
                        None if finish else 120.0,
                        None if finish else (lambda t=target: stored_count(home) >= t),
                    ):
                        summary["kills"]["crawl"] += 1
                else:
                    clock += timedelta(minutes=1)
                    # half the senders die after a random number of messages (mid-send), half at a time
                    target = handler.count() + rng.randint(1, 15)
                    by_count = rng.random() < 0.6
                    if pipe.run(
                        pipe.digest_args(clock),
                        60.0 if by_count else rng.uniform(0.5, 4.0),
                        (lambda t=target: handler.count() >= t) if by_count else None,
                    ):
                        summary["kills"]["digest"] += 1
            # recovery: one clean crawl of everything crawled so far, then one clean digest run
            last_day = START + timedelta(days=window * WINDOW_DAYS - 1)
            pipe.run(pipe.crawl_args(START, last_day), None)
            pipe.run(pipe.digest_args(clock + timedelta(minutes=1)), None)
    finally:
        smtp.stop()

    served = {
        " ".join(str(i["documentSymbol"]).split())
        for i in synthetic_items(ITEMS)
        if date.fromisoformat(str(i["distributionDate"])[:10]) <= last_day
    }
    with Store.open(home / "tbtwatch.sqlite3", readonly=True) as store:
        integrity = store.integrity_check()
        stored = {r[0] for r in store.conn.execute("SELECT id FROM notices")}
        backlog = store.conn.execute("SELECT count(*) FROM stage_backlog").fetchone()[0]
    indexed = set(EmbeddedBackend(home / "index").ids(Query()))

    expected = {
        (f"{key}-{c}@e.example.cn", nid)
        for key, sub in SUBSCRIPTIONS.items()
        for c in range(COPIES)
        for nid in served
        if _wanted(sub, nid)
    }
    delivered: Counter[tuple[str, str]] = Counter()
    messages = Counter(handler.message_ids())
    pairs_in_duplicated_messages: set[tuple[str, str]] = set()
    for received in handler.received:
        text = received.message.get_body(("plain",))
        assert text is not None
        ids = set(SYMBOL.findall(str(text.get_content())))
        for rcpt in received.rcpt_tos:
            for nid in ids:
                delivered[(rcpt, nid)] += 1
                if messages[str(received.message["Message-ID"])] > 1:
                    pairs_in_duplicated_messages.add((rcpt, nid))
    duplicated = {p for p, n in delivered.items() if n > 1}
    duplicated_messages = sum(1 for n in messages.values() if n > 1)
    summary.update(
        {
            "seconds": round(time.monotonic() - started, 1),
            "notices_served": len(served),
            "notices_stored": len(stored),
            "notices_indexed": len(indexed),
            "pairs": {
                "expected": len(expected),
                "delivered": len(set(delivered) & expected),
                "missing": len(expected - set(delivered)),
                "unexpected": len(set(delivered) - expected),
                "duplicated": len(duplicated),
            },
            "messages": {"received": sum(messages.values()), "duplicated": duplicated_messages},
            "stage_backlog_left": backlog,
            "integrity_check": integrity,
            "failures": pipe.failures,
        }
    )
    print("\nSIGKILL summary " + json.dumps(summary, ensure_ascii=False))
    assert integrity == "ok"
    assert served <= stored, sorted(served - stored)[:5]
    assert stored <= indexed, sorted(stored - indexed)[:5]
    assert backlog == 0
    assert expected <= set(delivered), sorted(expected - set(delivered))[:5]
    assert set(delivered) <= expected, sorted(set(delivered) - expected)[:5]
    assert duplicated <= pairs_in_duplicated_messages, "a pair came twice outside a message in flight"
    assert duplicated_messages <= summary["kills"]["digest"], "more duplicates than messages in flight"
    assert not pipe.failures
