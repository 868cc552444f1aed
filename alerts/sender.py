"""The Sender interface: hand one stored message to a channel, or say why not.

A sender raises :class:`~alerts.errors.TemporaryFailure` (retry later),
:class:`~alerts.errors.ConnectionFailure` (the channel is unreachable: stop this run's batch) or
:class:`~alerts.errors.PermanentFailure` (never retry). Returning normally means the channel accepted the
message; only then is it marked sent. Senders never dedupe: the outbox decides what to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Envelope:
    """One outbox message as a sender sees it."""

    outbox_id: int
    channel: str
    mail_from: str
    rcpt_to: str
    data: bytes
    message_id: str
    secret_env: str | None = None


class Sender(Protocol):
    """A delivery channel (maildir, SMTP relay, webhook robots)."""

    name: str

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message; raise a DeliveryError subclass when it was not accepted."""

    async def close(self) -> None:
        """Release connections; safe to call twice."""
