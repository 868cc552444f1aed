"""One contract for every e-mail Sender (maildir and SMTP against a real aiosmtpd server)."""

from __future__ import annotations

import asyncio
import email
import email.message
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from alerts_testlib import Handler, SmtpServer, free_port

from alerts.errors import ConnectionFailure, DeliveryError, TemporaryFailure
from alerts.maildir import MaildirSender
from alerts.sender import Envelope, Sender
from alerts.smtp import SmtpConfig, SmtpSender


@dataclass
class Channel:
    """A sender factory and a way to read what arrived: (envelope recipient, parsed message)."""

    make: Callable[[], Sender]
    read: Callable[[], list[tuple[str, EmailMessage]]]
    broken: Callable[[], Sender]


def _parse(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


@pytest.fixture(params=["maildir", "smtp"])
def channel(
    request: pytest.FixtureRequest, tmp_path: Path, smtp_server: Callable[..., SmtpServer]
) -> Iterator[Channel]:
    if request.param == "maildir":
        box = tmp_path / "maildir"

        def read_box() -> list[tuple[str, EmailMessage]]:
            files = (
                sorted((box / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns) if box.exists() else []
            )
            out = []
            for f in files:
                msg = _parse(f.read_bytes())
                out.append((str(msg["Delivered-To"]), msg))
            return out

        blocker = tmp_path / "not-a-directory"
        blocker.write_text("x")
        yield Channel(lambda: MaildirSender(box), read_box, lambda: MaildirSender(blocker / "maildir"))
    else:
        server = smtp_server(Handler())
        config = SmtpConfig(
            host="127.0.0.1", port=server.port, security="none", timeout=5, local_hostname="test"
        )

        def read_server() -> list[tuple[str, EmailMessage]]:
            return [(r.rcpt_tos[0], _parse(r.data)) for r in server.handler.received]

        dead = SmtpConfig(
            host="127.0.0.1", port=free_port(), security="none", timeout=5, local_hostname="test"
        )
        yield Channel(lambda: SmtpSender(config), read_server, lambda: SmtpSender(dead))


def message(n: int, to: str) -> Envelope:
    msg = EmailMessage(policy=policy.SMTP.clone(cte_type="7bit"))
    msg["Subject"] = f"【预警】第 {n} 号通报"
    msg["From"] = "alerts@tbt.example.cn"
    msg["To"] = to
    msg["Message-ID"] = f"<contract-{n}@tbt.example.cn>"
    msg.set_content(f"正文 {n}\n.\nA line with a single dot above must survive.\n", charset="utf-8")
    return Envelope(n, "email", "alerts@tbt.example.cn", to, msg.as_bytes(), f"<contract-{n}@tbt.example.cn>")


def test_delivers_a_message_intact(channel: Channel) -> None:
    async def go() -> None:
        sender = channel.make()
        await sender.send(message(1, "a@example.cn"))
        await sender.close()

    asyncio.run(go())
    [(rcpt, msg)] = channel.read()
    assert rcpt == "a@example.cn"
    assert msg["Message-ID"] == "<contract-1@tbt.example.cn>"
    assert str(msg["Subject"]) == "【预警】第 1 号通报"
    # line endings are CRLF on the wire and LF in a maildir file
    assert (
        msg.get_content().replace("\r\n", "\n") == "正文 1\n.\nA line with a single dot above must survive.\n"
    )


def test_many_messages_through_one_sender_in_order(channel: Channel) -> None:
    async def go() -> None:
        sender = channel.make()
        for n in range(1, 21):
            await sender.send(message(n, f"r{n}@example.cn"))
        await sender.close()

    asyncio.run(go())
    got = channel.read()
    assert [rcpt for rcpt, _ in got] == [f"r{n}@example.cn" for n in range(1, 21)]
    assert [m["Message-ID"] for _, m in got] == [f"<contract-{n}@tbt.example.cn>" for n in range(1, 21)]


def test_close_is_idempotent_and_a_closed_sender_can_send_again(channel: Channel) -> None:
    async def go() -> None:
        sender = channel.make()
        await sender.close()
        await sender.send(message(1, "a@example.cn"))
        await sender.close()
        await sender.close()
        await sender.send(message(2, "b@example.cn"))
        await sender.close()

    asyncio.run(go())
    assert len(channel.read()) == 2


def test_senders_never_dedupe(channel: Channel) -> None:
    async def go() -> None:
        sender = channel.make()
        await sender.send(message(1, "a@example.cn"))
        await sender.send(message(1, "a@example.cn"))
        await sender.close()

    asyncio.run(go())
    assert len(channel.read()) == 2, "deciding what to send is the outbox's job"


def test_an_unusable_channel_raises_a_temporary_delivery_error(channel: Channel) -> None:
    async def go() -> DeliveryError:
        sender = channel.broken()
        try:
            await sender.send(message(1, "a@example.cn"))
        except DeliveryError as exc:
            return exc
        finally:
            await sender.close()
        raise AssertionError("a broken channel must raise")

    exc = asyncio.run(go())
    assert isinstance(exc, TemporaryFailure), "nothing is lost: the message stays in the outbox for a retry"
    assert channel.read() == []


def test_smtp_unreachable_relay_is_a_connection_failure() -> None:
    async def go() -> None:
        sender = SmtpSender(SmtpConfig(host="127.0.0.1", port=free_port(), security="none", timeout=2))
        await sender.send(message(1, "a@example.cn"))

    with pytest.raises(ConnectionFailure, match=r"cannot reach SMTP relay 127\.0\.0\.1"):
        asyncio.run(go())
