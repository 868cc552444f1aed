"""``run_digests``: build the digests that are due, render them, queue them in the outbox, send.

The CLI (``tbtwatch digest run``) and the scheduler call this one function. Each digest is written to
the outbox together with the alerts it delivers, in one transaction, before anything is sent; sending
then works from the outbox only, so a crash at any point is repaired by the next run.

>>> report = run_digests(settings, store, frequency=Frequency.DAILY)     # doctest: +SKIP
>>> report.as_dict()["digests"]                                         # doctest: +SKIP
{'daily': 41}
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.clusters import cluster_names
from alerts.delivery import Delivery, DeliveryReport, Pool, delivery_lock
from alerts.digest import Clock, Digest, DigestBuilder, DigestItem, DigestKind, due_frequencies, kinds_for
from alerts.maildir import MaildirSender
from alerts.outbox import RetryPolicy
from alerts.recipients import Frequency
from alerts.reminders import due_reminders
from alerts.render import Renderer, RenderSettings
from alerts.repository import AlertsRepository, StoredRecipient
from alerts.sender import Sender
from alerts.smtp import SmtpConfig, SmtpSender
from alerts.tokens import TokenSigner, signing_key
from alerts.webhooks import WebhookSender
from tbtwatch.models import Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunReport:
    """What one run built and sent."""

    now: str
    due: list[str]
    digests: dict[str, int] = field(default_factory=dict)
    messages: int = 0
    quiet: int = 0
    reminders_skipped: int = 0
    delivery: DeliveryReport | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "now": self.now,
            "due": self.due,
            "digests": self.digests,
            "messages": self.messages,
            "quiet": self.quiet,
            "reminders_skipped": self.reminders_skipped,
            "delivery": self.delivery.as_dict() if self.delivery else None,
        }


def make_renderer(settings: Settings) -> Renderer:
    """The renderer configured by ``[alerts]`` and the signing key."""
    return Renderer(
        RenderSettings(
            base_url=settings.alerts.base_url,
            from_address=settings.alerts.from_address,
            full_items=settings.alerts.digest_full_items,
        ),
        cluster_names(settings.config_dir),
        TokenSigner(signing_key(settings)),
    )


def email_pool(settings: Settings) -> Pool:
    """SMTP senders when ``smtp.host`` is set, else the local maildir."""
    if not settings.smtp.host:
        path = settings.maildir
        return Pool("email", lambda: MaildirSender(path), 1)
    config = SmtpConfig.from_settings(settings)

    def make() -> Sender:
        return SmtpSender(config)

    return Pool("email", make, settings.smtp.max_concurrency)


def webhook_pool(settings: Settings) -> Pool:
    """Webhook robots, one request at a time (robots limit senders to a few messages a minute)."""
    timeout = settings.smtp.timeout_seconds
    return Pool("webhook", lambda: WebhookSender(timeout=timeout), 1)


def build_digests(
    settings: Settings, store: Store, *, frequency: Frequency | None = None, now: datetime | None = None
) -> RunReport:
    """Build, render and queue every digest due now (nothing is sent)."""
    clock = Clock.of(settings, now)
    repo = AlertsRepository(store)
    renderer = make_renderer(settings)
    builder = DigestBuilder(store, renderer.clusters, clock)
    due = due_frequencies(settings, clock, frequency)
    report = RunReport(now=clock.now.isoformat(), due=sorted(f.value for f in due))
    pending = repo.recipients_with_pending()
    recipients = [r for r in repo.list_recipients(active_only=True) if r.active_addresses or r.webhooks]
    for rec in recipients:
        kinds = kinds_for(rec, due)
        waiting = pending.get(rec.id)
        if not kinds or not waiting:
            continue
        if clock.quiet(rec):
            report.quiet += 1
            continue
        for kind in kinds:
            only = Risk.HIGH.value if kind is DigestKind.ESCALATION else None
            if only and not waiting.get(only):
                continue
            if repo.digest_exists(rec.id, kind.value, clock.period(kind)):
                continue
            digest = builder.from_alerts(rec, kind, repo.pending_alerts(rec.id, only_risk=only))
            if digest is not None:
                _queue(repo, renderer, digest, report)
    if Frequency.DAILY in due:
        _reminders(settings, repo, renderer, builder, clock, {r.id: r for r in recipients}, report)
    return report


def _queue(repo: AlertsRepository, renderer: Renderer, digest: Digest, report: RunReport) -> None:
    messages = renderer.messages(digest)
    digest_id = repo.queue_digest(
        recipient_id=digest.recipient.id,
        kind=digest.kind.value,
        period=digest.period,
        alert_ids=digest.alert_ids,
        items=len(digest.items),
        messages=messages,
        reminders=digest.reminders,
        when=digest.clock.now,
    )
    if digest_id is not None:
        report.digests[digest.kind.value] = report.digests.get(digest.kind.value, 0) + 1
        report.messages += len(messages)


def _reminders(
    settings: Settings,
    repo: AlertsRepository,
    renderer: Renderer,
    builder: DigestBuilder,
    clock: Clock,
    recipients: dict[int, StoredRecipient],
    report: RunReport,
) -> None:
    due, skipped = due_reminders(repo, clock.today, settings.alerts.reminder_days, tz_of=clock.local)
    if skipped:
        repo.skip_reminders(skipped, clock.now)
        report.reminders_skipped += len(skipped)
    for rid, entry in sorted(due.items()):
        rec = recipients.get(rid)
        if rec is None:
            continue
        if clock.quiet(rec):
            report.quiet += 1
            continue
        if repo.digest_exists(rid, DigestKind.REMINDER.value, clock.period(DigestKind.REMINDER)):
            continue
        items: list[DigestItem] = []
        for cand, days in entry.items:
            item = builder.item(rec, cand.notice_id, cand.reasons, cand.is_update, None, cand.risk)
            if item is not None:
                item.reminder_days = days
                items.append(item)
        if items:
            digest = Digest(
                rec,
                DigestKind.REMINDER,
                clock.period(DigestKind.REMINDER),
                clock,
                builder.group(items),
                entry.record,
            )
            _queue(repo, renderer, digest, report)


def send_pending(settings: Settings, store: Store, *, now: datetime | None = None) -> DeliveryReport:
    """Send every due outbox message (one sending process at a time per home directory)."""
    clock = Clock.of(settings, now)
    with delivery_lock(settings.home) as acquired:
        if not acquired:
            log.warning("another process is sending the outbox of %s; not sending now", settings.home)
            return DeliveryReport(skipped="another process is sending")
        delivery = Delivery(
            AlertsRepository(store),
            pools={"email": email_pool(settings), "webhook": webhook_pool(settings)},
            mail_from=settings.alerts.from_address,
            rate_per_second=settings.smtp.rate_per_second if settings.smtp.host else 1000.0,
            policy=RetryPolicy.from_settings(settings),
        )
        return asyncio.run(delivery.run(clock.now))


def run_digests(
    settings: Settings,
    store: Store,
    *,
    frequency: Frequency | None = None,
    now: datetime | None = None,
    send: bool = True,
) -> RunReport:
    """Build what is due, queue it, then send the outbox (the scheduler's job and ``digest run``)."""
    report = build_digests(settings, store, frequency=frequency, now=now)
    if send:
        report.delivery = send_pending(settings, store, now=now)
    return report


def run_reminders(
    settings: Settings, store: Store, *, now: datetime | None = None, send: bool = True
) -> RunReport:
    """Queue the comment-deadline reminders due today, then send the outbox (the scheduler's
    ``scheduler.reminders_at`` job; daily runs build them too, and a reminder is queued once per day)."""
    clock = Clock.of(settings, now)
    repo = AlertsRepository(store)
    renderer = make_renderer(settings)
    builder = DigestBuilder(store, renderer.clusters, clock)
    report = RunReport(now=clock.now.isoformat(), due=[DigestKind.REMINDER.value])
    recipients = [r for r in repo.list_recipients(active_only=True) if r.active_addresses or r.webhooks]
    _reminders(settings, repo, renderer, builder, clock, {r.id: r for r in recipients}, report)
    if send:
        report.delivery = send_pending(settings, store, now=now)
    return report
