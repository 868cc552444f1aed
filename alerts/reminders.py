"""Comment-deadline reminders: N days (``alerts.reminder_days``) before the deadline, once per recipient.

A reminder goes to a recipient that got the notice in an earlier digest, before the notice entered the
reminder window; a notice first delivered inside the window already showed its days left, so its
reminder is recorded as done without a message. Several thresholds reached at once (missed runs) make
one reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from alerts.repository import AlertsRepository, ReminderCandidate


@dataclass(slots=True)
class DueReminder:
    """Reminders owed to one recipient: candidates to show and (notice, days) rows to record."""

    recipient_id: int
    items: list[tuple[ReminderCandidate, int]] = field(default_factory=list)
    record: list[tuple[str, int]] = field(default_factory=list)


def due_reminders(
    repo: AlertsRepository, today: date, days: Sequence[int], *, tz_of: datetime | None = None
) -> tuple[dict[int, DueReminder], list[tuple[int, str, int]]]:
    """(reminders to send by recipient, reminders to record as done without a message)."""
    thresholds = sorted({d for d in days if d >= 0})
    if not thresholds:
        return {}, []
    cands = repo.reminder_candidates(today.isoformat(), (today + timedelta(days=thresholds[-1])).isoformat())
    done = repo.reminders_done({c.recipient_id for c in cands})
    tz = tz_of.tzinfo if tz_of is not None else None
    due: dict[int, DueReminder] = {}
    skipped: list[tuple[int, str, int]] = []
    for c in cands:
        deadline = date.fromisoformat(c.deadline)
        left = (deadline - today).days
        pending = [n for n in thresholds if left <= n and (c.recipient_id, c.notice_id, n) not in done]
        if not pending:
            continue
        delivered = datetime.fromisoformat(c.delivered_at)
        delivered_day = delivered.astimezone(tz).date() if tz else delivered.date()
        left_then = (deadline - delivered_day).days
        send = [n for n in pending if left_then > n]
        if send:
            entry = due.setdefault(c.recipient_id, DueReminder(c.recipient_id))
            entry.items.append((c, min(send)))
            entry.record.extend((c.notice_id, n) for n in pending)
        else:
            skipped.extend((c.recipient_id, c.notice_id, n) for n in pending)
    return due, skipped
