"""Webhook robots against a real HTTP server on 127.0.0.1: DingTalk and Feishu signatures, WeCom, errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest
from alerts_testlib import NOW, free_port, import_recipients, ingest, labels, make_notice

from alerts.errors import ConnectionFailure, PermanentFailure, TemporaryFailure
from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.sender import Envelope
from alerts.service import run_digests, send_pending
from alerts.webhooks import WebhookSender, dingtalk_sign, feishu_sign, mask_url
from tbtwatch.models import Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

SECRET = "SEC0123456789abcdef"


@dataclass
class Robot:
    """A recording robot endpoint: scripted (status, JSON answer) replies, then success."""

    port: int
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def url(self, path: str = "/robot/send?access_token=TOKEN123") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def robot() -> Iterator[Robot]:
    state = Robot(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append((self.path, json.loads(self.rfile.read(length))))
            status, answer = state.replies.pop(0) if state.replies else (200, {"errcode": 0, "errmsg": "ok"})
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def envelope(platform: str, target: str, secret_env: str | None = None, payload: Any = None) -> Envelope:
    body = json.dumps(payload or {"msgtype": "markdown", "markdown": {"title": "t", "text": "预警"}}).encode()
    return Envelope(1, platform, "alerts@tbt.example.cn", target, body, "<m@x>", secret_env)


def send(sender: WebhookSender, env: Envelope) -> None:
    asyncio.run(sender.send(env))


def test_dingtalk_request_is_signed(robot: Robot) -> None:
    sender = WebhookSender(
        environ={"HOOK": robot.url(), "HOOK_SECRET": SECRET}, clock=lambda: 1_750_000_000.123
    )
    send(sender, envelope("dingtalk", "env:HOOK", "HOOK_SECRET"))
    [(path, body)] = robot.requests
    query = parse_qs(urlsplit(path).query)
    assert query["access_token"] == ["TOKEN123"]
    assert query["timestamp"] == ["1750000000123"]
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1750000000123\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert unquote_plus(dingtalk_sign(SECRET, 1_750_000_000_123)) == expected
    assert body == {"msgtype": "markdown", "markdown": {"title": "t", "text": "预警"}}


def test_feishu_signature_goes_in_the_body(robot: Robot) -> None:
    sender = WebhookSender(environ={"FS_SECRET": SECRET}, clock=lambda: 1_750_000_000.9)
    robot.replies.append((200, {"code": 0, "msg": "success"}))
    send(
        sender, envelope("feishu", robot.url("/open-apis/bot/v2/hook/abc"), "FS_SECRET", {"msg_type": "text"})
    )
    [(_, body)] = robot.requests
    assert body["timestamp"] == "1750000000" and body["msg_type"] == "text"
    expected = base64.b64encode(
        hmac.new(f"1750000000\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["sign"] == expected == feishu_sign(SECRET, 1_750_000_000)


def test_wecom_is_not_signed(robot: Robot) -> None:
    send(WebhookSender(environ={}), envelope("wecom", robot.url("/cgi-bin/webhook/send?key=K")))
    [(path, body)] = robot.requests
    assert path == "/cgi-bin/webhook/send?key=K" and "sign" not in body


@pytest.mark.parametrize(
    ("platform", "reply", "error"),
    [
        ("dingtalk", (200, {"errcode": 130101, "errmsg": "send too fast"}), TemporaryFailure),
        ("dingtalk", (200, {"errcode": 310000, "errmsg": "sign not match"}), PermanentFailure),
        ("wecom", (200, {"errcode": 45009, "errmsg": "api freq out of limit"}), TemporaryFailure),
        ("wecom", (200, {"errcode": 93000, "errmsg": "invalid webhook url"}), PermanentFailure),
        ("feishu", (200, {"code": 9499, "msg": "too many requests"}), TemporaryFailure),
        ("feishu", (200, {"code": 19021, "msg": "sign match fail"}), PermanentFailure),
        ("dingtalk", (429, {}), TemporaryFailure),
        ("dingtalk", (502, {}), TemporaryFailure),
        ("dingtalk", (404, {}), PermanentFailure),
    ],
)
def test_platform_errors_are_classified(
    robot: Robot, platform: str, reply: tuple[int, dict[str, Any]], error: type[Exception]
) -> None:
    robot.replies.append(reply)
    with pytest.raises(error):
        send(WebhookSender(environ={}), envelope(platform, robot.url()))


def test_missing_environment_and_unreachable_robot() -> None:
    with pytest.raises(TemporaryFailure, match="HOOK is not set"):
        send(WebhookSender(environ={}), envelope("dingtalk", "env:HOOK"))
    with pytest.raises(TemporaryFailure, match="HOOK_SECRET is not set"):
        send(
            WebhookSender(environ={"HOOK": "https://oapi.example.cn/x"}),
            envelope("dingtalk", "env:HOOK", "HOOK_SECRET"),
        )
    with pytest.raises(PermanentFailure, match="not an https:// URL"):
        send(WebhookSender(environ={"HOOK": "ftp://x"}), envelope("dingtalk", "env:HOOK"))
    with pytest.raises(ConnectionFailure, match="cannot reach dingtalk"):
        send(
            WebhookSender(environ={}, timeout=2),
            envelope("dingtalk", f"http://127.0.0.1:{free_port()}/send?access_token=T"),
        )


def test_mask_url_hides_the_token() -> None:
    assert (
        mask_url("https://oapi.dingtalk.com/robot/send?access_token=SECRET")
        == "https://oapi.dingtalk.com/robot/send?…"
    )
    assert mask_url("env:HOOK") == "env:HOOK"


def test_digest_goes_to_a_warning_point_robot_too(
    robot: Robot,
    settings: Settings,
    store: Store,
    repo: AlertsRepository,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the environment of the sending process holds the robot's URL (with its token) and secret
    monkeypatch.setenv("TBTWATCH_HOOK_YIWU", robot.url())
    monkeypatch.setenv("TBTWATCH_HOOK_YIWU_SECRET", SECRET)
    import_recipients(
        repo,
        {
            "recipients": [
                {
                    "id": "wp-yiwu",
                    "type": "warning_point",
                    "name": "义乌预警点",
                    "clusters": ["toys"],
                    "addresses": ["warning@yiwu.example.cn"],
                    "frequency": "immediate",
                    "webhooks": [
                        {
                            "platform": "dingtalk",
                            "url_env": "TBTWATCH_HOOK_YIWU",
                            "secret_env": "TBTWATCH_HOOK_YIWU_SECRET",
                        }
                    ],
                }
            ]
        },
    )
    toy = make_notice("G/TBT/N/EU/1050", title="Toy [safety](javascript:x)", hs_codes=["9503"])
    ingest(store, [toy], [labels(toy.id, ["toys"], Risk.HIGH)])
    robot.replies.append((200, {"errcode": 130101, "errmsg": "send too fast"}))
    first = run_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW).delivery
    assert (
        first is not None and first.sent == 1 and first.retried == 1
    )  # the e-mail went, the robot said wait
    assert send_pending(settings, store, now=NOW.replace(hour=5)).sent == 1
    assert len(robot.requests) == 2
    query = parse_qs(urlsplit(robot.requests[-1][0]).query)
    assert set(query) == {"access_token", "timestamp", "sign"}
    text = robot.requests[-1][1]["markdown"]["text"]
    assert "G/TBT/N/EU/1050" in text and r"Toy \[safety\]\(javascript:x\)" in text
    assert "TOKEN123" not in caplog.text, "the robot's access token never reaches the logs"
    assert "TOKEN123" not in json.dumps(first.as_dict())
