"""SmtpSender: an SMTP relay reached with aiosmtplib (STARTTLS, implicit TLS or plain), with login.

One sender holds one connection and reuses it for many messages (the delivery pool runs
``smtp.max_concurrency`` senders). Replies are classified: 4xx -> temporary, 5xx -> permanent for that
message; a relay that cannot be reached or refuses the login -> :class:`~alerts.errors.ConnectionFailure`.
The password comes from ``TBTWATCH_SMTP_PASSWORD`` and never appears in messages or logs.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib

from alerts.errors import ConnectionFailure, PermanentFailure, TemporaryFailure
from alerts.sender import Envelope
from tbtwatch.errors import ConfigError
from tbtwatch.settings import Settings

log = logging.getLogger(__name__)

#: A reused connection idle longer than this is checked with NOOP first (relays drop idle clients).
_IDLE_CHECK_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """How to reach the relay."""

    host: str
    port: int
    security: str = "starttls"
    username: str = ""
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_certs: str = ""
    local_hostname: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The ``[smtp]`` section plus ``TBTWATCH_SMTP_PASSWORD``; a login without a password stops here."""
        s = settings.smtp
        password = (
            settings.secrets.smtp_password.get_secret_value() if settings.secrets.smtp_password else None
        )
        if s.username and not password:
            raise ConfigError(
                "smtp.username is set but TBTWATCH_SMTP_PASSWORD is not. "
                "Fix: set TBTWATCH_SMTP_PASSWORD in the environment, or clear smtp.username."
            )
        return cls(
            host=s.host,
            port=s.port,
            security=s.security,
            username=s.username,
            password=password,
            timeout=s.timeout_seconds,
            ca_certs=s.ca_certs,
        )


def classify(code: int, text: str) -> TemporaryFailure | PermanentFailure:
    """An SMTP reply code as a failure: 5xx is permanent, anything else is worth a retry."""
    if 500 <= code < 600:
        return PermanentFailure(text, code)
    return TemporaryFailure(text, code)


class SmtpSender:
    """Sends over one (reused) SMTP connection."""

    name = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.security == "none":
            return None
        return ssl.create_default_context(cafile=self.config.ca_certs or None)

    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self.config
        client = _Client(
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username or None,
            password=cfg.password if cfg.username else None,
            timeout=cfg.timeout,
            use_tls=cfg.security == "tls",
            start_tls=cfg.security == "starttls",
            tls_context=self._tls_context(),
            # getfqdn() may block on DNS; the host name is enough for EHLO.
            local_hostname=cfg.local_hostname or socket.gethostname() or "localhost",
        )
        try:
            await client.connect()
        except BaseException:
            # a failed login or TLS handshake leaves the socket open: close it before reporting
            await _shut(client, polite=False)
            raise
        return client

    async def _open(self) -> aiosmtplib.SMTP:
        cfg = self.config
        where = f"{cfg.host}:{cfg.port} ({cfg.security})"
        try:
            return await self._connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ConnectionFailure(
                f"SMTP login as {cfg.username!r} refused by {where}: {exc.code} {exc.message}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ConnectionFailure(
                f"SMTP relay {where} refused the session: {exc.code} {exc.message}", exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ConnectionFailure(f"cannot reach SMTP relay {where}: {exc}") from exc

    async def _session(self) -> aiosmtplib.SMTP:
        client = self._client
        if client is not None and client.is_connected:
            if time.monotonic() - self._last_used < _IDLE_CHECK_SECONDS:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError):
                await self._drop()
        self._client = await self._open()
        return self._client

    async def _drop(self) -> None:
        """Close a broken connection without QUIT."""
        client, self._client = self._client, None
        if client is not None:
            await _shut(client, polite=False)

    async def send(self, envelope: Envelope) -> None:
        """One SMTP transaction (MAIL, RCPT, DATA) for one recipient."""
        client = await self._session()
        try:
            await client.sendmail(envelope.mail_from, [envelope.rcpt_to], envelope.data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused else 550
            raise classify(
                code, f"recipient {envelope.rcpt_to} refused: {code} {refused.message if refused else ''}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if not client.is_connected:
                await self._drop()
            raise classify(exc.code, f"SMTP {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The connection broke mid-transaction: the relay may or may not have the message (a possible
            # duplicate, as for any message in flight).
            await self._drop()
            raise TemporaryFailure(f"SMTP connection lost while sending: {exc}") from exc
        finally:
            self._last_used = time.monotonic()

    async def close(self) -> None:
        """QUIT politely (drop the connection if the relay is gone); safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await _shut(client, polite=True)


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, remembering the transports it closes.

    ``SMTP.close`` (also called by ``connect`` when a login or a TLS upgrade fails) forgets its transport at
    once, while a TLS transport closes its socket only after the close_notify exchange. :func:`_shut` uses
    the remembered transports to wait for their sockets, and drops them if the peer is too slow.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.closed_transports: list[asyncio.BaseTransport] = []

    def close(self) -> None:
        """Close as aiosmtplib does, remembering the transport."""
        if self.transport is not None:
            self.closed_transports.append(self.transport)
        super().close()


def _socket_open(transport: asyncio.BaseTransport) -> bool:
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.fileno() != -1


async def _shut(client: aiosmtplib.SMTP, *, polite: bool) -> None:
    if polite and client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    else:
        client.close()
    # A TLS connection closes only after the close_notify exchange, and an event loop that ends before that
    # leaks the socket: wait (briefly) until the sockets are closed, then drop what is still open.
    transports = list(getattr(client, "closed_transports", ()))
    deadline = time.monotonic() + 2.0
    while any(_socket_open(t) for t in transports) and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    for transport in transports:
        if _socket_open(transport) and isinstance(transport, asyncio.Transport):
            transport.abort()  # the peer did not finish the exchange in time (a slow or busy relay)
    for _ in range(3):  # abort closes the socket on the loop's next iterations
        await asyncio.sleep(0)
