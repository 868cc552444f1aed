"""One-click unsubscribe tokens: HMAC-signed, without expiry, revocable.

A token is ``<address id>.<nonce>.<signature>``; the signature is HMAC-SHA256 over the first two parts
with the key from ``TBTWATCH_SIGNING_KEY``. Revoking a token records its hash and gives the address a new
nonce, so a leaked link stops working and later messages carry a fresh one. When the key is not set, a
development key is generated once and kept in the home directory (with a warning): links keep working
across restarts, but production must set the variable.

>>> signer = TokenSigner(b"k" * 32)
>>> token = signer.make(12, "00ff00ff00ff00ff")
>>> signer.parse(token)
(12, '00ff00ff00ff00ff')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alerts.errors import TokenError
from alerts.repository import AlertsRepository, token_hash
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)

DEV_KEY_FILE = "signing.key"
_PURPOSE = b"tbtwatch-unsubscribe-v1:"
_TOKEN = re.compile(r"^(\d{1,12})\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$")
_warned: set[Path] = set()


def signing_key(settings: Settings) -> bytes:
    """The signing key: ``TBTWATCH_SIGNING_KEY``, else a development key kept in the home directory."""
    if settings.secrets.signing_key is not None:
        return settings.secrets.signing_key.get_secret_value().encode("utf-8")
    path = settings.home / DEV_KEY_FILE
    if path not in _warned:
        _warned.add(path)
        log.warning(
            "TBTWATCH_SIGNING_KEY is not set: unsubscribe links are signed with a development key kept "
            "in %s. Set TBTWATCH_SIGNING_KEY in production.",
            path,
        )
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


class TokenSigner:
    """Makes and checks unsubscribe tokens with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise TokenError(
                "the signing key is too short: use at least 16 bytes (32 random bytes recommended)"
            )
        self._key = key

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._key, _PURPOSE + payload.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def make(self, address_id: int, nonce: str) -> str:
        """The token of an address (deterministic for one nonce)."""
        payload = f"{address_id}.{nonce}"
        return f"{payload}.{self._sign(payload)}"

    def parse(self, token: str) -> tuple[int, str]:
        """(address id, nonce) of a genuine token; raise :class:`TokenError` when malformed or forged."""
        m = _TOKEN.match(token.strip()) if isinstance(token, str) else None
        if not m:
            raise TokenError("malformed unsubscribe token")
        payload = f"{m[1]}.{m[2]}"
        if not hmac.compare_digest(self._sign(payload), m[3]):
            raise TokenError(
                "unsubscribe token signature does not match (forged or from another installation)"
            )
        return int(m[1]), m[2]


def unsubscribe_url(base_url: str, token: str) -> str:
    """The one-click link: ``<base_url>/unsubscribe/<token>`` (GET shows a page, POST unsubscribes)."""
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"


@dataclass(frozen=True, slots=True)
class UnsubscribeResult:
    """What an unsubscribe request did."""

    recipient: str
    address: str
    changed: bool


def _check(repo: AlertsRepository, signer: TokenSigner, token: str) -> tuple[int, str, str]:
    address_id, nonce = signer.parse(token)
    if repo.is_revoked(token_hash(token.strip())):
        raise TokenError("this unsubscribe token was revoked")
    found = repo.address(address_id)
    if found is None:
        raise TokenError("this unsubscribe token names an address that no longer exists")
    addr, key = found
    if not hmac.compare_digest(addr.token_nonce, nonce):
        raise TokenError("this unsubscribe token was revoked")
    return address_id, addr.address, key


def unsubscribe(
    store: Store, settings: Settings, token: str, *, now: datetime | None = None
) -> UnsubscribeResult:
    """Unsubscribe the address a token names (idempotent); raise :class:`TokenError` for a bad token."""
    repo = AlertsRepository(store)
    address_id, address, key = _check(repo, TokenSigner(signing_key(settings)), token)
    changed = repo.unsubscribe_address(address_id, now or datetime.now(UTC))
    log.info("address %d of recipient %s unsubscribed (changed=%s)", address_id, key, changed)
    return UnsubscribeResult(key, address, changed)


def revoke(
    store: Store, settings: Settings, token: str, *, reason: str = "", now: datetime | None = None
) -> None:
    """Revoke a token (a leaked link): it stops working; the address gets a new one in later messages."""
    repo = AlertsRepository(store)
    address_id, _, _ = _check(repo, TokenSigner(signing_key(settings)), token)
    repo.revoke_token(token_hash(token.strip()), address_id, reason, now or datetime.now(UTC))
