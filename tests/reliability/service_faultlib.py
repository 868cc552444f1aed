"""Helpers of the fault-injection tests of ``tbtwatch serve`` (the service process itself is the service tests'
:class:`Service`, imported from ``tests/service/service_helpers.py``): the SMTP and ePing settings, the pair
accounting of delivered digests, and the JSON summary of the session."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from alerts_testlib import Handler
from crawl_mockserver import synthetic_items
from test_reliability_sigkill import COPIES, SUBSCRIPTIONS, _wanted

from index.embedded import EmbeddedBackend
from index.query import Query
from tbtwatch.store import Store

API_KEY = "fault-test-key"
SIGNING_KEY = "test-signing-key-0123456789abcdef"
ITEMS = 400  # two a day over 200 days from 2024-01-01
FIRST_DAY = date(2024, 1, 1)
SYMBOL = re.compile(r"G/(?:TBT|SPS)/N/[A-Z]+/\d+")


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    """Settings overrides: the aiosmtpd relay on 127.0.0.1:``port``, the ePing key, quick retries."""
    env = {
        "TBTWATCH_SMTP__HOST": "127.0.0.1",
        "TBTWATCH_SMTP__PORT": str(port),
        "TBTWATCH_SMTP__SECURITY": "none",
        "TBTWATCH_SMTP__TIMEOUT_SECONDS": "10",
        "TBTWATCH_SMTP__RATE_PER_SECOND": "1000",
        "TBTWATCH_SMTP__MAX_CONCURRENCY": "2",
        "TBTWATCH_ALERTS__BASE_URL": "https://tbt.example.cn",
        "TBTWATCH_ALERTS__FROM_ADDRESS": "alerts@tbt.example.cn",
        "TBTWATCH_ALERTS__RETRY_BASE_SECONDS": "0.5",
        "TBTWATCH_EPING_API_KEY": API_KEY,
        "TBTWATCH_SIGNING_KEY": SIGNING_KEY,
    }
    env.update(extra)
    return env


def eping_source(until: date, *, interval: str = "1h", page_size: int = 10) -> dict[str, Any]:
    """An eping_api source on the mirror's API, reading the synthetic notices up to ``until``."""
    return {
        "spider": "eping_api",
        "description": "the ePing API of the mirror (synthetic notices)",
        "schedule": {"interval": interval},
        "expected_cadence": "3650d",
        "base_url": "{mirror}",
        "run_timeout": "120s",
        "options": {
            "domains": ["tbt", "sps"],
            "window_days": 30,
            "page_size": page_size,
            "lookback_days": (date.today() - FIRST_DAY).days + 1,
            "overlap_days": 3,
            "until": until.isoformat(),
        },
    }


def served(until: date) -> set[str]:
    """Symbols of the synthetic notices distributed up to ``until``."""
    return {
        " ".join(str(i["documentSymbol"]).split())
        for i in synthetic_items(ITEMS)
        if date.fromisoformat(str(i["distributionDate"])[:10]) <= until
    }


def expected_pairs(notices: set[str]) -> set[tuple[str, str]]:
    """(address, notice) pairs the recipients of :func:`test_reliability_sigkill._recipients_file` must receive."""
    return {
        (f"{key}-{c}@e.example.cn", nid)
        for key, sub in SUBSCRIPTIONS.items()
        for c in range(COPIES)
        for nid in notices
        if _wanted(sub, nid)
    }


@dataclass
class Accounting:
    """What the SMTP server received, as (recipient, notice) pairs and messages."""

    delivered: Counter[tuple[str, str]] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    in_duplicated_messages: set[tuple[str, str]] = field(default_factory=set)
    operator: list[str] = field(default_factory=list)

    @property
    def duplicated_pairs(self) -> set[tuple[str, str]]:
        """Pairs delivered more than once."""
        return {p for p, n in self.delivered.items() if n > 1}

    @property
    def duplicated_messages(self) -> int:
        """Messages (by Message-ID) received more than once."""
        return sum(1 for n in self.messages.values() if n > 1)


def account(handler: Handler) -> Accounting:
    """Count the pairs of the digests received; operator messages are listed by subject."""
    acc = Accounting()
    for received in handler.received:
        msg = received.message
        if msg["X-Tbtwatch-Operator"]:
            acc.operator.append(str(msg["Subject"]))
            continue
        acc.messages[str(msg["Message-ID"])] += 1
    for received in handler.received:
        msg = received.message
        if msg["X-Tbtwatch-Operator"]:
            continue
        text = msg.get_body(("plain",))
        assert text is not None
        ids = set(SYMBOL.findall(str(text.get_content())))
        for rcpt in received.rcpt_tos:
            for nid in ids:
                acc.delivered[(rcpt, nid)] += 1
                if acc.messages[str(msg["Message-ID"])] > 1:
                    acc.in_duplicated_messages.add((rcpt, nid))
    return acc


def pair_figures(expected: set[tuple[str, str]], acc: Accounting) -> dict[str, int]:
    """The pair counts of the summary."""
    got = set(acc.delivered)
    return {
        "expected": len(expected),
        "delivered": len(got & expected),
        "missing": len(expected - got),
        "unexpected": len(got - expected),
        "duplicated": len(acc.duplicated_pairs),
    }


def store_state(home: Path) -> dict[str, Any]:
    """Integrity, stored and indexed notice ids, stage backlog and outbox states of a home."""
    with Store.open(home / "tbtwatch.sqlite3", readonly=True) as store:
        integrity = store.integrity_check()
        stored = {r[0] for r in store.conn.execute("SELECT id FROM notices")}
        backlog = store.conn.execute("SELECT count(*) FROM stage_backlog").fetchone()[0]
        outbox = dict(store.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        open_runs = store.conn.execute(
            "SELECT count(*) FROM source_runs WHERE finished_at IS NULL"
        ).fetchone()[0]
    indexed = set(EmbeddedBackend(home / "index").ids(Query()))
    return {
        "integrity": integrity,
        "stored": stored,
        "indexed": indexed,
        "backlog": backlog,
        "outbox": outbox,
        "open_runs": open_runs,
    }


def last_digest_minute(home: Path) -> str | None:
    """The latest period of an immediate digest (local ``YYYY-MM-DDTHH:MM``), None before any."""
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT max(period) FROM digests WHERE kind='immediate'").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return str(row[0]) if row and row[0] else None
