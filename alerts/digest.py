"""Which digests are due, and building them: one per recipient per run, grouped by cluster, sorted by risk.

Kinds of message and their periods (local time, ``general.timezone``)::

    immediate    recipients with frequency immediate, every run          period 2025-06-12T08:35
    escalation   high-risk alerts of daily recipients between digests     period 2025-06-12T08:35
    daily        from scheduler.daily_at on                               period 2025-06-12
    weekly       from scheduler.weekly_on at daily_at on                  period 2025-W24
    reminder     comment deadline within alerts.reminder_days             period 2025-06-12

A recipient gets at most one digest of a kind per period (the store enforces it), so a rerun in the same
period sends nothing new and a resend keeps the Message-ID. Weekly recipients are not escalated: they
asked for one message a week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from alerts.clusters import ClusterName
from alerts.recipients import Frequency, in_quiet_hours
from alerts.repository import AlertRow, StoredRecipient
from tbtwatch.errors import ConfigError
from tbtwatch.models import Labels, Notice, Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RISK_ORDER = {Risk.HIGH: 0, Risk.MEDIUM: 1, Risk.LOW: 2}


class DigestKind(StrEnum):
    """What a message is (see the module docstring)."""

    IMMEDIATE = "immediate"
    ESCALATION = "escalation"
    DAILY = "daily"
    WEEKLY = "weekly"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class Clock:
    """The run's moment in UTC and in the service's time zone."""

    now: datetime
    tz: ZoneInfo

    @classmethod
    def of(cls, settings: Settings, now: datetime | None = None) -> Clock:
        """A clock at ``now`` (default: the current time); a naive ``now`` is taken as local time."""
        try:
            tz = ZoneInfo(settings.general.timezone)
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"general.timezone {settings.general.timezone!r} is not a known time zone. "
                "Fix: use a zone name such as Asia/Shanghai."
            ) from exc
        moment = now or datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        return cls(moment.astimezone(UTC), tz)

    @property
    def local(self) -> datetime:
        """The moment in local time."""
        return self.now.astimezone(self.tz)

    @property
    def today(self) -> date:
        """The local date."""
        return self.local.date()

    def period(self, kind: DigestKind) -> str:
        """The period a digest of ``kind`` built now belongs to."""
        local = self.local
        if kind in (DigestKind.IMMEDIATE, DigestKind.ESCALATION):
            return local.strftime("%Y-%m-%dT%H:%M")
        if kind is DigestKind.WEEKLY:
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return local.date().isoformat()

    def quiet(self, recipient: StoredRecipient) -> bool:
        """True when the recipient's quiet hours hold now."""
        local = self.local
        return in_quiet_hours(recipient.quiet_hours, local.hour * 60 + local.minute)


def due_frequencies(settings: Settings, clock: Clock, frequency: Frequency | None = None) -> set[Frequency]:
    """Frequencies due at this moment; an explicit ``frequency`` is due whatever the time."""
    if frequency is not None:
        return {frequency}
    due = {Frequency.IMMEDIATE}
    hh, mm = (int(x) for x in settings.scheduler.daily_at.split(":"))
    local = clock.local
    after = local.time() >= time(hh, mm)
    if after:
        due.add(Frequency.DAILY)
    weekly_day = _WEEKDAYS.index(settings.scheduler.weekly_on)
    if local.weekday() > weekly_day or (local.weekday() == weekly_day and after):
        due.add(Frequency.WEEKLY)
    return due


def kinds_for(recipient: StoredRecipient, due: set[Frequency]) -> list[DigestKind]:
    """The digests a recipient may get in a run where ``due`` frequencies are due."""
    if recipient.frequency == Frequency.IMMEDIATE:
        return [DigestKind.IMMEDIATE] if Frequency.IMMEDIATE in due else []
    if recipient.frequency == Frequency.DAILY:
        if Frequency.DAILY in due:
            return [DigestKind.DAILY]
        return [DigestKind.ESCALATION] if Frequency.IMMEDIATE in due else []
    return [DigestKind.WEEKLY] if Frequency.WEEKLY in due else []


@dataclass(slots=True)
class DigestItem:
    """One notice in a digest, with why it is there."""

    notice: Notice
    risk: Risk | None
    reasons: list[str]
    is_update: bool
    cluster_id: str | None
    days_left: int | None
    alert_id: int | None = None
    reminder_days: int | None = None

    def sort_key(self) -> tuple[int, date, str, str]:
        """Risk (high first), then comment deadline (soonest first, none last), then symbol."""
        deadline = self.notice.comment_deadline or date.max
        return (
            _RISK_ORDER.get(self.risk, 3) if self.risk else 3,
            deadline,
            self.notice.base_id,
            self.notice.id,
        )


@dataclass(slots=True)
class ClusterGroup:
    """Items of one cluster (``cluster`` None: not labelled with any cluster)."""

    cluster: ClusterName | None
    items: list[DigestItem]


@dataclass(slots=True)
class Digest:
    """A built digest, ready to render."""

    recipient: StoredRecipient
    kind: DigestKind
    period: str
    clock: Clock
    groups: list[ClusterGroup]
    reminders: list[tuple[str, int]] = field(default_factory=list)

    @property
    def items(self) -> list[DigestItem]:
        """Every item, in display order."""
        return [item for g in self.groups for item in g.items]

    @property
    def alert_ids(self) -> list[int]:
        """The alerts this digest delivers."""
        return [i.alert_id for i in self.items if i.alert_id is not None]

    @property
    def high_count(self) -> int:
        """Number of high-risk items."""
        return sum(1 for i in self.items if i.risk is Risk.HIGH)


class DigestBuilder:
    """Builds digests for one run, caching notices and labels across recipients."""

    def __init__(self, store: Store, clusters: dict[str, ClusterName], clock: Clock) -> None:
        self.store = store
        self.clusters = clusters
        self.clock = clock
        self._notices: dict[str, Notice] = {}
        self._labels: dict[str, Labels] = {}

    def preload(self, notice_ids: Iterable[str]) -> None:
        """Read notices and labels not read yet (one query per 500 ids)."""
        missing = [i for i in dict.fromkeys(notice_ids) if i not in self._notices]
        if not missing:
            return
        for n in self.store.get_many(missing):
            self._notices[n.id] = n
        self._labels.update(self.store.get_labels_many(missing))

    def item(
        self,
        recipient: StoredRecipient,
        notice_id: str,
        reasons: list[str],
        is_update: bool,
        alert_id: int | None = None,
        stored_risk: str | None = None,
    ) -> DigestItem | None:
        """A digest item for one notice (None when the notice is no longer in the store)."""
        self.preload([notice_id])
        notice = self._notices.get(notice_id)
        if notice is None:
            return None
        labels = self._labels.get(notice_id)
        risk = labels.risk if labels else (Risk(stored_risk) if stored_risk else None)
        deadline = notice.comment_deadline
        return DigestItem(
            notice=notice,
            risk=risk,
            reasons=reasons,
            is_update=is_update,
            cluster_id=self._primary_cluster(recipient, labels),
            days_left=(deadline - self.clock.today).days if deadline else None,
            alert_id=alert_id,
        )

    def _primary_cluster(self, recipient: StoredRecipient, labels: Labels | None) -> str | None:
        if labels is None or not labels.clusters:
            return None
        wanted = set(recipient.clusters)
        for s in recipient.subscriptions:
            wanted.update(s.clusters)
        # labels come best first: prefer the best cluster the recipient follows
        for c in labels.clusters:
            if c.cluster_id in wanted:
                return c.cluster_id
        return labels.clusters[0].cluster_id

    def from_alerts(
        self, recipient: StoredRecipient, kind: DigestKind, alerts: Sequence[AlertRow]
    ) -> Digest | None:
        """A digest of pending alerts, or None when there is nothing to send."""
        self.preload(a.notice_id for a in alerts)
        items = []
        for a in alerts:
            item = self.item(recipient, a.notice_id, a.reasons, a.is_update, a.id, a.risk)
            if item is not None:
                items.append(item)
        if not items:
            return None
        return Digest(recipient, kind, self.clock.period(kind), self.clock, self.group(items))

    def group(self, items: Sequence[DigestItem]) -> list[ClusterGroup]:
        """Items grouped by cluster; groups and items sorted by risk then deadline; unlabelled last."""
        by_cluster: dict[str | None, list[DigestItem]] = {}
        for item in items:
            by_cluster.setdefault(item.cluster_id, []).append(item)
        groups = []
        for cid, members in by_cluster.items():
            members.sort(key=DigestItem.sort_key)
            name = None if cid is None else self.clusters.get(cid, ClusterName(cid, cid, cid))
            groups.append(ClusterGroup(name, members))
        groups.sort(
            key=lambda g: (g.cluster is None, g.items[0].sort_key(), g.cluster.id if g.cluster else "")
        )
        return groups
