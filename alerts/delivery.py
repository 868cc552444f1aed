"""Sending what the outbox holds: a pool of senders per channel, a rate limit, the retry policy.

Each message is marked in the store right after its channel answers (one commit per message), so a
crash loses nothing and repeats at most the messages that were in flight (DESIGN.md invariant 3).
A channel that cannot be reached stops its pool for this run: the messages not tried stay due and are
tried on the next run, without using up their attempts.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alerts.errors import ConnectionFailure, PermanentFailure, TemporaryFailure
from alerts.outbox import RetryPolicy
from alerts.repository import AlertsRepository, OutboxRow
from alerts.sender import Envelope, Sender
from alerts.webhooks import mask_url

log = logging.getLogger(__name__)

SenderFactory = Callable[[], Sender]


class RateLimiter:
    """At most ``rate`` starts per second across every worker of a run (single event loop)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()

    async def wait(self) -> None:
        """Sleep until the next slot."""
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(slots=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    retried: int = 0
    deferred: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    halted: dict[str, str] = field(default_factory=dict)
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "sent": self.sent,
            "retried": self.retried,
            "deferred": self.deferred,
            "failed": self.failed,
            "halted": self.halted,
            "skipped": self.skipped,
        }


@dataclass(slots=True)
class Pool:
    """Senders of one channel family: how to make one and how many run at once."""

    name: str
    factory: SenderFactory
    concurrency: int = 1


class Delivery:
    """Delivers due outbox messages through the given pools (``email`` and ``webhook``)."""

    def __init__(
        self,
        repo: AlertsRepository,
        *,
        pools: dict[str, Pool],
        mail_from: str,
        rate_per_second: float,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> None:
        self.repo = repo
        self.pools = pools
        self.mail_from = mail_from
        self.limiter = RateLimiter(rate_per_second)
        self.policy = policy
        self.rng = rng or random.Random()

    async def run(self, now: datetime, *, limit: int = 1_000_000) -> DeliveryReport:
        """Send every due message once; return the report."""
        report = DeliveryReport()
        rows = self.repo.due_outbox(now, limit=limit)
        queues: dict[str, deque[OutboxRow]] = {}
        for row in rows:
            queues.setdefault("email" if row.channel == "email" else "webhook", deque()).append(row)
        missing = set(queues) - set(self.pools)
        for name in missing:
            report.deferred += len(queues.pop(name))
            report.halted[name] = "no sender configured"
        await asyncio.gather(*(self._drain(self.pools[name], q, now, report) for name, q in queues.items()))
        return report

    async def _drain(
        self, pool: Pool, queue: deque[OutboxRow], now: datetime, report: DeliveryReport
    ) -> None:
        state: dict[str, str] = {}
        workers = [
            self._worker(pool, queue, now, report, state)
            for _ in range(max(1, min(pool.concurrency, len(queue))))
        ]
        await asyncio.gather(*workers)
        if queue:
            report.deferred += len(queue)
            log.warning(
                "%d %s messages wait for the next run: %s", len(queue), pool.name, state.get("halt", "")
            )
        if "halt" in state:
            report.halted[pool.name] = state["halt"]

    async def _worker(
        self,
        pool: Pool,
        queue: deque[OutboxRow],
        now: datetime,
        report: DeliveryReport,
        state: dict[str, str],
    ) -> None:
        sender = pool.factory()
        try:
            while queue and "halt" not in state:
                row = queue.popleft()
                await self.limiter.wait()
                envelope = Envelope(
                    outbox_id=row.id,
                    channel=row.channel,
                    mail_from=self.mail_from,
                    rcpt_to=row.address,
                    data=self.repo.outbox_body(row.id),
                    message_id=row.message_id,
                    secret_env=row.secret_env,
                )
                try:
                    await sender.send(envelope)
                except PermanentFailure as exc:
                    self._fail(row, str(exc), report)
                except ConnectionFailure as exc:
                    state.setdefault("halt", str(exc))
                    self._retry(row, exc, now, report)
                except TemporaryFailure as exc:
                    self._retry(row, exc, now, report)
                else:
                    self.repo.mark_sent(row.id, now)
                    report.sent += 1
        finally:
            await sender.close()

    def _retry(self, row: OutboxRow, exc: TemporaryFailure, now: datetime, report: DeliveryReport) -> None:
        attempts = row.attempts + 1
        nxt = self.policy.next_attempt(attempts, now, self.rng)
        if nxt is None:
            self._fail(row, f"gave up after {attempts} attempts: {exc}", report)
            return
        self.repo.mark_retry(row.id, str(exc), nxt)
        report.retried += 1
        log.info("outbox %d to %s: %s; next attempt %s", row.id, _where(row), exc, nxt.isoformat())

    def _fail(self, row: OutboxRow, error: str, report: DeliveryReport) -> None:
        self.repo.mark_failed(row.id, error)
        entry = {
            "outbox_id": row.id,
            "channel": row.channel,
            "to": _where(row),
            "subject": row.subject,
            "error": error,
        }
        report.failed.append(entry)
        log.warning("outbox %d to %s failed permanently: %s", row.id, entry["to"], error)


def _where(row: OutboxRow) -> str:
    return row.address if row.channel == "email" else f"{row.channel} {mask_url(row.address)}"


@contextmanager
def delivery_lock(home: Path) -> Iterator[bool]:
    """An exclusive lock on ``home/outbox.lock``: True when this process may send.

    Two senders at once (the scheduler and a manual ``digest run``) would send messages twice; the
    lock is released by the kernel when a sender dies, so a killed process never blocks the next one.
    """
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / "outbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
