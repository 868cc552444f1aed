"""Exceptions of the alerts package (the tree is drawn in :mod:`alerts`)."""

from __future__ import annotations

from tbtwatch.errors import TbtwatchError


class AlertsError(TbtwatchError):
    """Base of every error the alerts package raises on purpose."""


class RecipientError(AlertsError):
    """A recipient definition is invalid, or one of its addresses already belongs to someone else."""


class TokenError(AlertsError):
    """An unsubscribe token that is malformed, forged (bad signature) or revoked."""


class DeliveryError(AlertsError):
    """A message could not be handed to its channel; ``code`` is the SMTP/HTTP status when known."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(DeliveryError):
    """Worth retrying later: a 4xx reply, a timeout, a dropped connection."""


class ConnectionFailure(TemporaryFailure):
    """The relay or endpoint cannot be reached or refuses us as a whole: the rest of the batch waits."""


class PermanentFailure(DeliveryError):
    """Never retried: a 5xx reply for this recipient, a rejected webhook request."""
