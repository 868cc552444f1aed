"""Group-chat robots: DingTalk (钉钉), WeCom (企业微信) and Feishu (飞书) custom-bot webhooks.

Payloads are rendered by :mod:`alerts.render` and stored unsigned in the outbox; signatures need a fresh
timestamp, so they are made here, at send time:

- DingTalk "加签": ``sign = base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}"))``, sent as
  ``&timestamp=...&sign=...`` query parameters (URL-encoded);
- Feishu "签名校验": ``sign = base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b""))``, sent as
  ``timestamp`` and ``sign`` fields of the JSON body;
- WeCom robots are not signed (the key in the URL is the credential).

The robot URL holds an access token, so recipients usually give ``url_env`` (an environment variable)
rather than the URL; logs show URLs without their query string.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

from alerts.errors import ConnectionFailure, PermanentFailure, TemporaryFailure
from alerts.sender import Envelope

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Platform:
    """What differs between robots: how they answer and which error codes mean "slow down"."""

    name: str
    code_keys: tuple[str, ...]
    message_keys: tuple[str, ...]
    retry_codes: frozenset[int]


PLATFORMS: dict[str, Platform] = {
    "dingtalk": Platform("dingtalk", ("errcode",), ("errmsg",), frozenset({130101})),
    "wecom": Platform("wecom", ("errcode",), ("errmsg",), frozenset({-1, 45009})),
    "feishu": Platform("feishu", ("code", "StatusCode"), ("msg", "StatusMessage"), frozenset({9499, 11232})),
}


def mask_url(url: str) -> str:
    """A URL without its query string (which holds the robot's token) for logs and reports."""
    if url.startswith("env:"):
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk signature (already URL-encoded for the query string)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu signature (the key is ``timestamp + "\\n" + secret``, the message is empty)."""
    mac = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def signed_request(
    platform: str, url: str, payload: dict[str, Any], secret: str | None, now: float
) -> tuple[str, bytes]:
    """The URL and body to POST, signed when the platform signs and a secret is configured."""
    body = dict(payload)
    if secret and platform == "dingtalk":
        ts = int(now * 1000)
        url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"
    elif secret and platform == "feishu":
        ts = int(now)
        body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read(65536)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(65536)


class WebhookSender:
    """POSTs stored payloads to DingTalk, WeCom or Feishu robots."""

    name = "webhook"

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeout = timeout
        self.environ = os.environ if environ is None else environ
        self.clock = clock

    def _resolve(self, envelope: Envelope) -> tuple[str, str | None]:
        url = envelope.rcpt_to
        if url.startswith("env:"):
            var = url[4:]
            url = self.environ.get(var, "")
            if not url:
                raise TemporaryFailure(f"webhook URL variable {var} is not set in the environment")
            if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                raise PermanentFailure(f"webhook URL in {var} is not an https:// URL")
        secret = None
        if envelope.secret_env:
            secret = self.environ.get(envelope.secret_env)
            if not secret:
                raise TemporaryFailure(
                    f"webhook secret variable {envelope.secret_env} is not set in the environment"
                )
        return url, secret

    async def send(self, envelope: Envelope) -> None:
        """POST one payload; classify the HTTP status and the platform's error code."""
        platform = PLATFORMS.get(envelope.channel)
        if platform is None:
            raise PermanentFailure(f"unknown webhook platform {envelope.channel!r}")
        url, secret = self._resolve(envelope)
        try:
            payload = json.loads(envelope.data)
        except ValueError as exc:
            raise PermanentFailure(f"stored webhook payload is not JSON: {exc}") from exc
        target, body = signed_request(platform.name, url, payload, secret, self.clock())
        where = f"{platform.name} {mask_url(url)}"
        try:
            status, raw = await asyncio.to_thread(_post, target, body, self.timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionFailure(f"cannot reach {where}: {reason}") from exc
        if status == 429 or status >= 500:
            raise TemporaryFailure(f"{where} answered HTTP {status}", status)
        if status >= 400:
            raise PermanentFailure(f"{where} refused the request: HTTP {status}", status)
        try:
            answer = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            answer = {}
        code = next((answer[k] for k in platform.code_keys if isinstance(answer, dict) and k in answer), 0)
        if code in (0, None):
            return
        message = next((answer[k] for k in platform.message_keys if k in answer), "")
        text = f"{where} refused the message: {code} {message}"
        if int(code) in platform.retry_codes:
            raise TemporaryFailure(text, int(code))
        raise PermanentFailure(text, int(code))

    async def close(self) -> None:
        """Nothing to release (one HTTP request per message)."""
