"""Messages to the operator (``alerts.operator_email``): source-health alarms, recoveries, overrunning jobs.

They go through the alerts outbox like every digest (written before sending, marked sent only when the
channel accepted them), to the SMTP relay or, without one, the local maildir. An outbox row of an operator
message has no digest and recipient id 0 (:data:`OPERATOR_RECIPIENT`); its Message-ID is derived from the
event, so queuing the same event twice queues one message.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)

#: ``outbox.recipient_id`` of operator messages (recipients ids start at 1).
OPERATOR_RECIPIENT = 0


@dataclass(frozen=True, slots=True)
class OperatorMessage:
    """One message to the operator: a stable event key, a subject and a plain-text body."""

    key: str
    subject: str
    text: str


def render(settings: Settings, message: OperatorMessage, when: datetime) -> tuple[str, bytes]:
    """(Message-ID, RFC 5322 bytes) of ``message`` for ``alerts.operator_email``."""
    domain = settings.alerts.from_address.rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(message.key.encode("utf-8")).hexdigest()[:32]
    message_id = f"<{digest}.operator@{domain}>"
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = message.subject
    msg["From"] = settings.alerts.from_address
    msg["To"] = settings.alerts.operator_email
    msg["Date"] = format_datetime(when.astimezone(ZoneInfo(settings.general.timezone)))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Tbtwatch-Operator"] = message.key.split(":", 1)[0]
    msg.set_content(message.text, charset="utf-8")
    return message_id, msg.as_bytes()


def queue(settings: Settings, store: Store, message: OperatorMessage, when: datetime | None = None) -> bool:
    """Write ``message`` to the outbox; False when no operator address is set or it is queued already."""
    address = settings.alerts.operator_email
    if not address:
        log.warning(
            "operator message not sent (set alerts.operator_email to receive them): %s", message.subject
        )
        return False
    moment = when or datetime.now(UTC)
    message_id, body = render(settings, message, moment)
    stamp = moment.astimezone(UTC).isoformat(timespec="seconds")
    with store.transaction():
        cur = store.conn.execute(
            "INSERT OR IGNORE INTO outbox (digest_id, recipient_id, channel, address, secret_env, message_id,"
            " subject, body, next_attempt_at, created_at) VALUES (NULL,?,?,?,NULL,?,?,?,?,?)",
            (OPERATOR_RECIPIENT, "email", address, message_id, message.subject, body, stamp, stamp),
        )
    queued = cur.rowcount > 0
    if queued:
        log.warning("operator message queued for %s: %s", address, message.subject)
    return queued


def send(settings: Settings, store: Store) -> None:
    """Send what the outbox holds now (operator messages and any digest due)."""
    from alerts.service import send_pending

    report = send_pending(settings, store)
    if report.skipped:
        log.info("outbox not sent now (%s); the next digest run sends it", report.skipped)
