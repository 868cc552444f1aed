"""Every alert-specific SQL statement, over the tbtwatch store's connection (tables of migration 2).

>>> repo = AlertsRepository(store)                              # doctest: +SKIP
>>> repo.import_recipients(load_recipients_file(path))          # doctest: +SKIP
{'created': 2, 'updated': 0, 'unchanged': 0}
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from alerts.errors import RecipientError
from alerts.recipients import Recipient, Subscription, Webhook
from tbtwatch.errors import StoreError
from tbtwatch.store import Store

T = TypeVar("T")
OutboxStatus = Literal["pending", "sent", "failed"]


def utc_iso(moment: datetime) -> str:
    """A UTC timestamp as stored (ISO 8601, seconds, ``+00:00``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class StoredAddress:
    """An address of a recipient, with its unsubscribe token nonce."""

    id: int
    address: str
    token_nonce: str
    unsubscribed_at: str | None

    @property
    def active(self) -> bool:
        """False once the address has unsubscribed."""
        return self.unsubscribed_at is None


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription row: its id and its criteria."""

    id: int
    recipient_id: int
    name: str
    clusters: tuple[str, ...]
    hs_prefixes: tuple[str, ...]
    keywords: tuple[str, ...]
    members: tuple[str, ...]
    kinds: tuple[str, ...]
    min_risk: str | None


@dataclass(slots=True)
class StoredRecipient:
    """A recipient as stored, with addresses and subscriptions."""

    id: int
    key: str
    type: str
    name: str
    organisation: str
    clusters: list[str]
    language: str
    frequency: str
    quiet_hours: str
    webhooks: list[Webhook]
    active: bool
    addresses: list[StoredAddress] = field(default_factory=list)
    subscriptions: list[StoredSubscription] = field(default_factory=list)

    @property
    def active_addresses(self) -> list[StoredAddress]:
        """Addresses that have not unsubscribed."""
        return [a for a in self.addresses if a.active]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for ``recipients list --json``)."""
        return {
            "id": self.key,
            "type": self.type,
            "name": self.name,
            "organisation": self.organisation,
            "language": self.language,
            "frequency": self.frequency,
            "quiet_hours": self.quiet_hours,
            "clusters": self.clusters,
            "addresses": [
                {"address": a.address, "unsubscribed_at": a.unsubscribed_at} for a in self.addresses
            ],
            "webhooks": [w.platform for w in self.webhooks],
            "subscriptions": [
                {
                    k: v
                    for k, v in {
                        "name": s.name,
                        "clusters": list(s.clusters),
                        "hs_prefixes": list(s.hs_prefixes),
                        "keywords": list(s.keywords),
                        "members": list(s.members),
                        "kinds": list(s.kinds),
                        "min_risk": s.min_risk,
                    }.items()
                    if v
                }
                for s in self.subscriptions
            ],
        }


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One matched (recipient, notice) pair."""

    id: int
    recipient_id: int
    notice_id: str
    base_id: str
    subscription_id: int | None
    reasons: list[str]
    risk: str | None
    is_update: bool
    matched_at: str
    digest_id: int | None


@dataclass(frozen=True, slots=True)
class NewAlert:
    """A match to record (the ingest stage builds these)."""

    recipient_id: int
    notice_id: str
    base_id: str
    subscription_id: int | None
    reasons: list[str]
    risk: str | None
    is_update: bool


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A rendered message to queue: one per address or webhook."""

    channel: str  # "email", "dingtalk", "wecom", "feishu"
    address: str
    message_id: str
    subject: str
    body: bytes
    secret_env: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox entry without its body (bodies are read one at a time while sending)."""

    id: int
    digest_id: int | None
    recipient_id: int
    channel: str
    address: str
    secret_env: str | None
    message_id: str
    subject: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: str
    last_error: str
    created_at: str
    sent_at: str | None


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    """A delivered alert whose notice's comment deadline is near."""

    recipient_id: int
    notice_id: str
    deadline: str
    delivered_at: str
    reasons: list[str]
    is_update: bool
    risk: str | None


_OUTBOX_COLUMNS = (
    "id, digest_id, recipient_id, channel, address, secret_env, message_id, subject, status, attempts,"
    " next_attempt_at, last_error, created_at, sent_at"
)


class AlertsRepository:
    """Alert tables of a :class:`tbtwatch.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn

    # -- recipients ----------------------------------------------------------------------------------------
    def import_recipients(self, recipients: Sequence[Recipient]) -> dict[str, int]:
        """Create or update recipients by key in one transaction; an unchanged definition is a no-op.

        An address that belongs to another recipient already in the store is refused (nothing is written).
        """
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        try:
            with self.store.transaction():
                self._check_addresses(recipients)
                for rec in recipients:
                    counts[self._upsert(rec)] += 1
                if counts["created"] or counts["updated"]:
                    self._bump_version()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write recipients to {self.store.path}: {exc}") from exc
        return counts

    def add_recipient(self, rec: Recipient) -> None:
        """Create one recipient; refuse a key that exists already."""
        if self._recipient_id(rec.key) is not None:
            raise RecipientError(
                f"recipient {rec.key!r} exists already; remove it first or edit it in the recipients file"
            )
        self.import_recipients([rec])

    def remove_recipient(self, key: str) -> bool:
        """Delete a recipient with its subscriptions and pending alerts; cancel its pending messages."""
        rid = self._recipient_id(key)
        if rid is None:
            return False
        with self.store.transaction():
            self.conn.execute(
                "UPDATE outbox SET status='failed', last_error='recipient removed' WHERE recipient_id=?"
                " AND status='pending'",
                (rid,),
            )
            self.conn.execute("DELETE FROM recipients WHERE id=?", (rid,))
            self._bump_version()
        return True

    def _recipient_id(self, key: str) -> int | None:
        row = self.conn.execute("SELECT id FROM recipients WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else None

    def _check_addresses(self, recipients: Sequence[Recipient]) -> None:
        wanted = {addr: rec.key for rec in recipients for addr in rec.addresses}
        problems = []
        for chunk in _chunks(list(wanted), 500):
            marks = ",".join("?" * len(chunk))
            for addr, owner in self.conn.execute(
                f"SELECT a.address, r.key FROM recipient_addresses a JOIN recipients r ON r.id=a.recipient_id"
                f" WHERE a.address IN ({marks})",
                chunk,
            ):
                if owner != wanted[addr]:
                    problems.append(
                        f"address {addr} (recipient {wanted[addr]!r}) already belongs to recipient "
                        f"{owner!r}; an address can belong to one recipient only"
                    )
        if problems:
            raise RecipientError("\n".join(problems))

    def _upsert(self, rec: Recipient) -> Literal["created", "updated", "unchanged"]:
        now = utc_iso(datetime.now(UTC))
        digest = rec.definition_hash()
        row = self.conn.execute(
            "SELECT id, definition_hash FROM recipients WHERE key=?", (rec.key,)
        ).fetchone()
        values = (
            rec.type.value,
            rec.name,
            rec.organisation,
            json.dumps(list(rec.clusters), ensure_ascii=False),
            rec.language.value,
            rec.frequency.value,
            rec.quiet_hours,
            json.dumps([w.model_dump(mode="json", exclude_none=True) for w in rec.webhooks]),
            digest,
        )
        if row is None:
            cur = self.conn.execute(
                "INSERT INTO recipients (type, name, organisation, clusters, language, frequency,"
                " quiet_hours, webhooks, definition_hash, key, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (*values, rec.key, now, now),
            )
            rid = int(cur.lastrowid or 0)
            status: Literal["created", "updated", "unchanged"] = "created"
        elif row[1] == digest:
            return "unchanged"
        else:
            rid = int(row[0])
            self.conn.execute(
                "UPDATE recipients SET type=?, name=?, organisation=?, clusters=?, language=?, frequency=?,"
                " quiet_hours=?, webhooks=?, definition_hash=?, updated_at=? WHERE id=?",
                (*values, now, rid),
            )
            status = "updated"
        self._sync_addresses(rid, rec.addresses, now)
        self._replace_subscriptions(rid, rec.subscriptions, now)
        return status

    def _sync_addresses(self, rid: int, addresses: Sequence[str], now: str) -> None:
        # Kept addresses keep their id, token nonce and unsubscribe state: a re-import must not resubscribe.
        existing = {
            r[0]: r[1]
            for r in self.conn.execute(
                "SELECT address, id FROM recipient_addresses WHERE recipient_id=?", (rid,)
            )
        }
        gone = [existing[a] for a in existing if a not in addresses]
        self.conn.executemany("DELETE FROM recipient_addresses WHERE id=?", [(i,) for i in gone])
        for position, addr in enumerate(addresses):
            if addr in existing:
                self.conn.execute(
                    "UPDATE recipient_addresses SET position=? WHERE id=?", (position, existing[addr])
                )
            else:
                self.conn.execute(
                    "INSERT INTO recipient_addresses"
                    " (recipient_id, address, position, token_nonce, created_at) VALUES (?,?,?,?,?)",
                    (rid, addr, position, secrets.token_hex(8), now),
                )

    def _replace_subscriptions(self, rid: int, subs: Sequence[Subscription], now: str) -> None:
        self.conn.execute("DELETE FROM subscriptions WHERE recipient_id=?", (rid,))
        self.conn.executemany(
            "INSERT INTO subscriptions (recipient_id, position, name, clusters, hs_prefixes, keywords,"
            " members, kinds, min_risk, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    rid,
                    i,
                    s.name,
                    json.dumps(list(s.clusters), ensure_ascii=False),
                    json.dumps(list(s.hs_prefixes)),
                    json.dumps(list(s.keywords), ensure_ascii=False),
                    json.dumps(list(s.members)),
                    json.dumps([k.value for k in s.kinds]),
                    s.min_risk.value if s.min_risk else None,
                    now,
                )
                for i, s in enumerate(subs)
            ],
        )

    def _bump_version(self) -> None:
        self.conn.execute(
            "UPDATE alerts_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            " WHERE key='subscriptions_version'"
        )

    def subscriptions_version(self) -> int:
        """A counter that changes whenever recipients or subscriptions change (to cache the match index)."""
        row = self.conn.execute("SELECT value FROM alerts_meta WHERE key='subscriptions_version'").fetchone()
        return int(row[0]) if row else 0

    def list_recipients(self, *, active_only: bool = False) -> list[StoredRecipient]:
        """Every recipient with addresses and subscriptions, ordered by key."""
        sql = "SELECT * FROM recipients" + (" WHERE active=1" if active_only else "") + " ORDER BY key"
        recs = {int(r["id"]): _recipient(r) for r in self.conn.execute(sql)}
        for r in self.conn.execute(
            "SELECT id, recipient_id, address, token_nonce, unsubscribed_at FROM recipient_addresses"
            " ORDER BY recipient_id, position, id"
        ):
            if r["recipient_id"] in recs:
                recs[r["recipient_id"]].addresses.append(
                    StoredAddress(r["id"], r["address"], r["token_nonce"], r["unsubscribed_at"])
                )
        for s in self.iter_subscriptions(active_only=active_only):
            if s.recipient_id in recs:
                recs[s.recipient_id].subscriptions.append(s)
        return list(recs.values())

    def get_recipient(self, key: str) -> StoredRecipient | None:
        """One recipient by key."""
        return next((r for r in self.list_recipients() if r.key == key), None)

    def recipients_by_id(self, ids: Iterable[int]) -> dict[int, StoredRecipient]:
        """Recipients keyed by id (only those given)."""
        wanted = set(ids)
        return {r.id: r for r in self.list_recipients() if r.id in wanted}

    def iter_subscriptions(self, *, active_only: bool = True) -> Iterator[StoredSubscription]:
        """Every subscription (of active recipients), for the match index."""
        sql = (
            "SELECT s.id, s.recipient_id, s.name, s.clusters, s.hs_prefixes, s.keywords, s.members, s.kinds,"
            " s.min_risk FROM subscriptions s JOIN recipients r ON r.id = s.recipient_id"
        )
        if active_only:
            sql += " WHERE r.active = 1"
        for row in self.conn.execute(sql + " ORDER BY s.id"):
            yield StoredSubscription(
                int(row[0]),
                int(row[1]),
                row[2],
                tuple(json.loads(row[3])),
                tuple(json.loads(row[4])),
                tuple(json.loads(row[5])),
                tuple(json.loads(row[6])),
                tuple(json.loads(row[7])),
                row[8],
            )

    def address(self, address_id: int) -> tuple[StoredAddress, str] | None:
        """An address by id with its recipient's key."""
        row = self.conn.execute(
            "SELECT a.id, a.address, a.token_nonce, a.unsubscribed_at, r.key FROM recipient_addresses a"
            " JOIN recipients r ON r.id=a.recipient_id WHERE a.id=?",
            (address_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredAddress(row[0], row[1], row[2], row[3]), row[4]

    def unsubscribe_address(self, address_id: int, when: datetime) -> bool:
        """Mark an address unsubscribed and cancel its pending messages; False when it was already."""
        with self.store.transaction():
            cur = self.conn.execute(
                "UPDATE recipient_addresses SET unsubscribed_at=? WHERE id=? AND unsubscribed_at IS NULL",
                (utc_iso(when), address_id),
            )
            row = self.conn.execute(
                "SELECT recipient_id, address FROM recipient_addresses WHERE id=?", (address_id,)
            ).fetchone()
            if row is not None:
                self.conn.execute(
                    "UPDATE outbox SET status='failed', last_error='unsubscribed' WHERE recipient_id=?"
                    " AND channel='email' AND address=? AND status='pending'",
                    (row[0], row[1]),
                )
        return cur.rowcount > 0

    def resubscribe_address(self, address_id: int) -> bool:
        """Make an unsubscribed address receive digests again; False when it was not unsubscribed.

        The next digests and reminders go to it again (they go to the active addresses). Messages cancelled when
        it unsubscribed stay cancelled; alerts of a recipient left with no active address and no webhook were
        put in no digest meanwhile, and the next digest carries them.
        """
        with self.store.transaction():
            cur = self.conn.execute(
                "UPDATE recipient_addresses SET unsubscribed_at=NULL WHERE id=? AND unsubscribed_at IS NOT NULL",
                (address_id,),
            )
        return cur.rowcount > 0

    def revoke_token(self, token_hash: str, address_id: int, reason: str, when: datetime) -> None:
        """Remember a revoked token and give the address a new nonce (so new messages carry a new token)."""
        with self.store.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO revoked_tokens (token_hash, address_id, reason, revoked_at)"
                " VALUES (?,?,?,?)",
                (token_hash, address_id, reason, utc_iso(when)),
            )
            self.conn.execute(
                "UPDATE recipient_addresses SET token_nonce=? WHERE id=?", (secrets.token_hex(8), address_id)
            )

    def is_revoked(self, token_hash: str) -> bool:
        """True when this token was revoked."""
        return (
            self.conn.execute("SELECT 1 FROM revoked_tokens WHERE token_hash=?", (token_hash,)).fetchone()
            is not None
        )

    # -- alerts -------------------------------------------------------------------------------------------
    def record_alerts(self, alerts: Sequence[NewAlert], when: datetime) -> int:
        """Write matches (a pair recorded before is left alone); return how many are new."""
        if not alerts:
            return 0
        now = utc_iso(when)
        with self.store.transaction():
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO alerts (recipient_id, notice_id, base_id, subscription_id, reasons,"
                " risk, is_update, matched_at) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        a.recipient_id,
                        a.notice_id,
                        a.base_id,
                        a.subscription_id,
                        json.dumps(a.reasons, ensure_ascii=False),
                        a.risk,
                        int(a.is_update),
                        now,
                    )
                    for a in alerts
                ],
            )
            return self.conn.total_changes - before

    def family_recipients(self, base_ids: Iterable[str]) -> dict[str, set[int]]:
        """For each base id, the recipients that already have an alert on a document of that measure."""
        out: dict[str, set[int]] = {}
        for chunk in _chunks(sorted(set(base_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for base, rid in self.conn.execute(
                f"SELECT DISTINCT base_id, recipient_id FROM alerts WHERE base_id IN ({marks})", chunk
            ):
                out.setdefault(base, set()).add(int(rid))
        return out

    def alerts_for(self, *, recipient_id: int | None = None, notice_id: str | None = None) -> list[AlertRow]:
        """Alerts of one recipient and/or one notice (for inspection and tests)."""
        sql = "SELECT * FROM alerts WHERE 1=1"
        args: list[Any] = []
        if recipient_id is not None:
            sql += " AND recipient_id=?"
            args.append(recipient_id)
        if notice_id is not None:
            sql += " AND notice_id=?"
            args.append(notice_id)
        return [_alert(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def pending_alerts(self, recipient_id: int, *, only_risk: str | None = None) -> list[AlertRow]:
        """Alerts not yet put in a digest (optionally only those of one risk grade)."""
        sql = "SELECT * FROM alerts WHERE recipient_id=? AND digest_id IS NULL"
        args: list[Any] = [recipient_id]
        if only_risk:
            sql += " AND risk=?"
            args.append(only_risk)
        return [_alert(r) for r in self.conn.execute(sql + " ORDER BY id", args)]

    def recipients_with_pending(self) -> dict[int, dict[str, int]]:
        """Recipient id -> {risk or '': count} of pending alerts (one query for a whole run)."""
        out: dict[int, dict[str, int]] = {}
        for rid, risk, n in self.conn.execute(
            "SELECT recipient_id, coalesce(risk, ''), count(*) FROM alerts WHERE digest_id IS NULL"
            " GROUP BY recipient_id, risk"
        ):
            out.setdefault(int(rid), {})[risk] = int(n)
        return out

    # -- digests and the outbox ------------------------------------------------------------------------------
    def digest_exists(self, recipient_id: int, kind: str, period: str) -> bool:
        """True when this recipient already has a digest of this kind for this period."""
        return (
            self.conn.execute(
                "SELECT 1 FROM digests WHERE recipient_id=? AND kind=? AND period=?",
                (recipient_id, kind, period),
            ).fetchone()
            is not None
        )

    def queue_digest(
        self,
        *,
        recipient_id: int,
        kind: str,
        period: str,
        alert_ids: Sequence[int],
        items: int,
        messages: Sequence[OutgoingMessage],
        reminders: Sequence[tuple[str, int]] = (),
        when: datetime,
    ) -> int | None:
        """Record a digest, attach its alerts and queue its messages, in one transaction.

        Returns the digest id, or None when this (recipient, kind, period) digest exists already.
        """
        now = utc_iso(when)
        with self.store.transaction():
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO digests (recipient_id, kind, period, items, created_at)"
                " VALUES (?,?,?,?,?)",
                (recipient_id, kind, period, items, now),
            )
            if cur.rowcount == 0:
                return None
            digest_id = int(cur.lastrowid or 0)
            self.conn.executemany(
                "UPDATE alerts SET digest_id=? WHERE id=? AND digest_id IS NULL",
                [(digest_id, a) for a in alert_ids],
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO reminders_sent (recipient_id, notice_id, days, digest_id, sent_at)"
                " VALUES (?,?,?,?,?)",
                [(recipient_id, nid, days, digest_id, now) for nid, days in reminders],
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO outbox (digest_id, recipient_id, channel, address, secret_env,"
                " message_id, subject, body, next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        digest_id,
                        recipient_id,
                        m.channel,
                        m.address,
                        m.secret_env,
                        m.message_id,
                        m.subject,
                        m.body,
                        now,
                        now,
                    )
                    for m in messages
                ],
            )
        return digest_id

    def due_outbox(self, now: datetime, *, limit: int = 100_000) -> list[OutboxRow]:
        """Pending messages whose next attempt is due, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status='pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            (utc_iso(now), limit),
        )
        return [OutboxRow(*r) for r in rows]

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """Outbox entries (newest first), optionally of one status."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox"
        args: list[Any] = []
        if status:
            sql += " WHERE status=?"
            args.append(status)
        return [OutboxRow(*r) for r in self.conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])]

    def outbox_counts(self) -> dict[str, int]:
        """Number of outbox entries by status."""
        out = {"pending": 0, "sent": 0, "failed": 0}
        out.update(
            {
                r[0]: int(r[1])
                for r in self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            }
        )
        return out

    def outbox_body(self, outbox_id: int) -> bytes:
        """The stored message (raw RFC 5322 bytes, or a webhook's JSON payload)."""
        row = self.conn.execute("SELECT body FROM outbox WHERE id=?", (outbox_id,)).fetchone()
        if row is None:
            raise StoreError(f"outbox entry {outbox_id} is gone")
        return bytes(row[0])

    def mark_sent(self, outbox_id: int, when: datetime) -> None:
        """The channel accepted the message: never send it again."""
        self.conn.execute(
            "UPDATE outbox SET status='sent', attempts=attempts+1, sent_at=?, last_error='' WHERE id=?",
            (utc_iso(when), outbox_id),
        )

    def mark_retry(self, outbox_id: int, error: str, next_attempt: datetime) -> None:
        """A temporary failure: count the attempt and schedule the next one."""
        self.conn.execute(
            "UPDATE outbox SET attempts=attempts+1, last_error=?, next_attempt_at=? WHERE id=?",
            (error[:1000], utc_iso(next_attempt), outbox_id),
        )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        """A permanent failure (or too many attempts): stop trying and keep the reason for the report."""
        self.conn.execute(
            "UPDATE outbox SET status='failed', attempts=attempts+1, last_error=? WHERE id=?",
            (error[:1000], outbox_id),
        )

    # -- reminders -----------------------------------------------------------------------------------------
    def reminder_candidates(self, first: str, last: str) -> list[ReminderCandidate]:
        """Alerts already put in a digest whose notice's comment deadline is within [first, last]."""
        rows = self.conn.execute(
            "SELECT a.recipient_id, a.notice_id, n.comment_deadline, d.created_at, a.reasons, a.is_update,"
            " a.risk FROM alerts a JOIN notices n ON n.id = a.notice_id JOIN digests d ON d.id = a.digest_id"
            " WHERE n.comment_deadline BETWEEN ? AND ?"
            " ORDER BY a.recipient_id, n.comment_deadline, a.notice_id",
            (first, last),
        )
        return [
            ReminderCandidate(int(r[0]), r[1], r[2], r[3], json.loads(r[4]), bool(r[5]), r[6]) for r in rows
        ]

    def reminders_done(self, recipient_ids: Iterable[int]) -> set[tuple[int, str, int]]:
        """(recipient, notice, days) reminders already recorded."""
        out: set[tuple[int, str, int]] = set()
        for chunk in _chunks(sorted(set(recipient_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for rid, nid, days in self.conn.execute(
                f"SELECT recipient_id, notice_id, days FROM reminders_sent WHERE recipient_id IN ({marks})",
                chunk,
            ):
                out.add((int(rid), nid, int(days)))
        return out

    def skip_reminders(self, rows: Sequence[tuple[int, str, int]], when: datetime) -> None:
        """Record reminders that need no message (the recipient got the notice inside the window)."""
        with self.store.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO reminders_sent (recipient_id, notice_id, days, sent_at)"
                " VALUES (?,?,?,?)",
                [(*r, utc_iso(when)) for r in rows],
            )


def token_hash(token: str) -> str:
    """What the revocation table stores instead of the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _recipient(r: sqlite3.Row) -> StoredRecipient:
    return StoredRecipient(
        id=int(r["id"]),
        key=r["key"],
        type=r["type"],
        name=r["name"],
        organisation=r["organisation"],
        clusters=json.loads(r["clusters"]),
        language=r["language"],
        frequency=r["frequency"],
        quiet_hours=r["quiet_hours"],
        webhooks=[Webhook.model_validate(w) for w in json.loads(r["webhooks"])],
        active=bool(r["active"]),
    )


def _alert(r: sqlite3.Row) -> AlertRow:
    return AlertRow(
        id=int(r["id"]),
        recipient_id=int(r["recipient_id"]),
        notice_id=r["notice_id"],
        base_id=r["base_id"],
        subscription_id=r["subscription_id"],
        reasons=json.loads(r["reasons"]),
        risk=r["risk"],
        is_update=bool(r["is_update"]),
        matched_at=r["matched_at"],
        digest_id=r["digest_id"],
    )


def _chunks(seq: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
