"""Security of the web app: headers, request size limit, CSRF tokens, the admin token and session.

- Every response carries a strict Content-Security-Policy (no inline or external scripts, no framing),
  ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` (signed links never leak
  through the Referer header).
- A request body larger than ``web.max_body_bytes`` is refused with 413, whether announced by
  Content-Length or streamed.
- POST forms carry a signed double-submit token: a random cookie and, in the form, an HMAC of it under a
  key derived from the signing key. A cross-site page can neither read the cookie nor forge the HMAC.
- Admin endpoints need ``TBTWATCH_ADMIN_TOKEN``: as ``Authorization: Bearer`` or through the login form,
  which sets a signed, HttpOnly, SameSite=Strict session cookie bound to the token (changing the token ends
  every session). Tokens are compared in constant time and never logged or rendered.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from http.cookies import SimpleCookie
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alerts.tokens import signing_key
from tbtwatch.settings import Settings

CSRF_COOKIE = "tbtwatch_csrf"
CSRF_FIELD = "csrf_token"
ADMIN_COOKIE = "tbtwatch_admin"
ADMIN_SESSION_SECONDS = 8 * 3600

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class Keys:
    """Keys derived from the signing key, one per purpose."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._base: bytes | None = None

    def _derive(self, purpose: str) -> bytes:
        if self._base is None:
            self._base = signing_key(self.settings)
        return hmac.new(self._base, b"tbtwatch-web:" + purpose.encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, value: str) -> str:
        """Hex HMAC of ``value`` for ``purpose``."""
        return hmac.new(self._derive(purpose), value.encode("utf-8"), hashlib.sha256).hexdigest()


# -- CSRF ------------------------------------------------------------------------------------------
def csrf_token(keys: Keys, nonce: str) -> str:
    """The form token that goes with a CSRF cookie value."""
    return keys.sign("csrf", nonce)


def csrf_valid(keys: Keys, nonce: str | None, token: Any) -> bool:
    """True when the form token matches the cookie (both present, constant-time compare)."""
    if not nonce or not isinstance(token, str) or not token:
        return False
    return hmac.compare_digest(csrf_token(keys, nonce), token)


def new_nonce() -> str:
    """A fresh CSRF cookie value."""
    return secrets.token_hex(16)


# -- admin -------------------------------------------------------------------------------------------
def admin_token(settings: Settings) -> str | None:
    """The configured admin token (None: admin pages are switched off)."""
    secret = settings.secrets.admin_token
    return secret.get_secret_value() if secret is not None else None


def token_matches(settings: Settings, given: str | None) -> bool:
    """Constant-time check of a presented admin token."""
    expected = admin_token(settings)
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _session_sig(keys: Keys, settings: Settings, expiry: int) -> str:
    bound = hashlib.sha256((admin_token(settings) or "").encode("utf-8")).hexdigest()
    return keys.sign("admin-session", f"{expiry}:{bound}")


def make_admin_session(keys: Keys, settings: Settings, now: float | None = None) -> str:
    """A session cookie value valid for :data:`ADMIN_SESSION_SECONDS`."""
    expiry = int((now or time.time()) + ADMIN_SESSION_SECONDS)
    return f"{expiry}.{_session_sig(keys, settings, expiry)}"


def admin_session_valid(keys: Keys, settings: Settings, value: str | None, now: float | None = None) -> bool:
    """True for an unexpired session cookie signed for the current admin token."""
    if not value or not admin_token(settings):
        return False
    expiry_text, _, sig = value.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    if expiry < (now or time.time()):
        return False
    return hmac.compare_digest(_session_sig(keys, settings, expiry), sig)


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


# -- ASGI middleware ----------------------------------------------------------------------------------
class SecurityMiddleware:
    """Security headers on every response, a request-body limit (413) and the CSRF cookie."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _too_large(send, self.max_body_bytes)
            return
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:
            cookie = SimpleCookie()
        morsel = cookie.get(CSRF_COOKIE)
        nonce = morsel.value if morsel is not None and len(morsel.value) == 32 else None
        fresh = nonce is None
        state = scope.setdefault("state", {})
        state["csrf_nonce"] = nonce or new_nonce()
        secure = scope.get("scheme") == "https"
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-frame-options"]
                out.extend(SECURITY_HEADERS)
                if fresh:
                    flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
                    out.append((b"set-cookie", f"{CSRF_COOKIE}={state['csrf_nonce']}{flags}".encode()))
                message = {**message, "headers": out}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.max_body_bytes)


class _BodyTooLarge(HTTPException):
    """A streamed body went past the limit (an HTTPException, so the error handlers answer 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large (limit {limit} bytes)")


async def _too_large(send: Send, limit: int) -> None:
    body = f"413 request body too large (limit {limit} bytes) / 请求内容过大\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
