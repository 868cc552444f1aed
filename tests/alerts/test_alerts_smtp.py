"""Reliable delivery through a real SMTP server (aiosmtpd on 127.0.0.1): normal delivery, relay down then up,
4xx then success, 5xx for one recipient, retry limit, STARTTLS / implicit TLS with login, the sender lock."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from alerts_testlib import (
    NOW,
    Certificate,
    Handler,
    SmtpServer,
    authenticator,
    free_port,
    import_recipients,
    ingest,
    labels,
    make_notice,
)

from alerts.delivery import delivery_lock
from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.service import build_digests, run_digests, send_pending
from tbtwatch.errors import ConfigError
from tbtwatch.models import Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

LATER = NOW + dt.timedelta(hours=2)
#: aiosmtpd 1.4 itself sets the deprecated Session.login_data after a successful AUTH (in the server thread)
AIOSMTPD_LOGIN_DATA = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")


def addresses(n: int) -> list[str]:
    return [f"buyer{i:03d}@exporter{i:03d}.example.cn" for i in range(n)]


def smtp_settings(make_settings: Callable[..., Settings], port: int, **smtp: Any) -> Settings:
    sections = {
        "alerts": {"base_url": "https://tbt.example.cn", "from_address": "alerts@tbt.example.cn"},
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "max_concurrency": 2,
            "rate_per_second": 1000.0,
            "timeout_seconds": 5.0,
            **smtp,
        },
    }
    env = {k: v for k, v in smtp.items() if k.startswith("TBTWATCH_")}
    for k in env:
        sections["smtp"].pop(k)
    return make_settings(sections, **env)


def queue_messages(store: Store, repo: AlertsRepository, settings: Settings, n: int) -> list[str]:
    """n exporters subscribed to HS 9503, one toy notice, immediate digests built: n messages queued."""
    import_recipients(
        repo,
        {
            "recipients": [
                {
                    "id": f"exp-{i:03d}",
                    "type": "exporter",
                    "name": f"出口企业 {i}",
                    "addresses": [a],
                    "frequency": "immediate",
                    "subscriptions": [{"hs_prefixes": ["9503"]}],
                }
                for i, a in enumerate(addresses(n))
            ]
        },
    )
    toy = make_notice("G/TBT/N/EU/1050", title="Toy safety", hs_codes=["950300"])
    ingest(store, [toy], [labels(toy.id, ["toys"], Risk.MEDIUM)])
    report = build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW)
    assert report.messages == n
    return sorted(r.message_id for r in repo.outbox(limit=10_000))


def test_normal_delivery(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(Handler())
    settings = smtp_settings(make_settings, server.port)
    ids = queue_messages(store, repo, settings, 12)
    report = send_pending(settings, store, now=NOW)
    assert (report.sent, report.retried, report.failed) == (12, 0, [])
    assert sorted(server.handler.message_ids()) == ids
    assert {r.mail_from for r in server.handler.received} == {"alerts@tbt.example.cn"}
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == addresses(12)
    for r in server.handler.received:
        assert r.rcpt_tos == [r.message["To"].addresses[0].addr_spec], (
            "each message goes to its own address only"
        )
    assert repo.outbox_counts() == {"pending": 0, "sent": 12, "failed": 0}
    assert send_pending(settings, store, now=LATER).sent == 0


def test_relay_down_then_up_delivers_everything_once(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    port = free_port()
    settings = smtp_settings(make_settings, port)
    ids = queue_messages(store, repo, settings, 10)
    down = run_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW).delivery
    assert down is not None
    assert down.sent == 0 and "cannot reach SMTP relay" in down.halted["email"]
    assert down.retried <= 2 and down.retried + down.deferred == 10, (
        "one failed connection per worker, no more"
    )
    retried = [r for r in repo.outbox(limit=100) if r.attempts == 1]
    assert all(dt.datetime.fromisoformat(r.next_attempt_at) > NOW for r in retried)
    # still down a few minutes later: the messages never tried are still due, nothing is lost
    again = send_pending(settings, store, now=NOW + dt.timedelta(minutes=5))
    assert again.sent == 0 and repo.outbox_counts()["pending"] == 10

    server = smtp_server(Handler(), port=port)
    up = send_pending(settings, store, now=LATER)
    assert up.sent == 10 and up.failed == []
    assert sorted(server.handler.message_ids()) == ids, "every message exactly once"
    assert repo.outbox_counts() == {"pending": 0, "sent": 10, "failed": 0}


def test_temporary_refusal_then_success(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    greylisted = addresses(6)[2]
    handler = Handler(scripted={greylisted: ["451 4.7.1 Greylisted, please try again later"]})
    server = smtp_server(handler)
    settings = smtp_settings(make_settings, server.port)
    ids = queue_messages(store, repo, settings, 6)
    first = send_pending(settings, store, now=NOW)
    assert (first.sent, first.retried, first.failed) == (5, 1, [])
    [row] = repo.outbox(status="pending")
    assert row.address == greylisted and row.attempts == 1 and "451" in row.last_error
    # backoff: base 60 s, first delay between 30 and 60 s
    next_at = dt.datetime.fromisoformat(row.next_attempt_at)
    assert NOW + dt.timedelta(seconds=30) <= next_at <= NOW + dt.timedelta(seconds=60)
    assert send_pending(settings, store, now=NOW + dt.timedelta(seconds=20)).sent == 0, "not due yet"
    second = send_pending(settings, store, now=LATER)
    assert second.sent == 1
    assert Counter(server.handler.message_ids()) == Counter(ids)


def test_permanent_refusal_for_one_recipient_does_not_block_the_others(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    unknown = addresses(8)[0]
    server = smtp_server(Handler(refuse={unknown: f"550 5.1.1 <{unknown}>: Recipient address rejected"}))
    settings = smtp_settings(make_settings, server.port, max_concurrency=1)
    queue_messages(store, repo, settings, 8)
    report = send_pending(settings, store, now=NOW)
    assert report.sent == 7 and report.retried == 0
    [failed] = report.failed
    assert failed["to"] == unknown and "550" in failed["error"]
    assert sorted(r.rcpt_tos[0] for r in server.handler.received) == addresses(8)[1:]
    [row] = repo.outbox(status="failed")
    assert row.address == unknown and row.attempts == 1
    assert send_pending(settings, store, now=LATER + dt.timedelta(days=2)).sent == 0, "5xx is never retried"


def test_temporary_failures_give_up_after_max_attempts(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    stuck = addresses(2)[1]
    server = smtp_server(Handler(scripted={stuck: ["452 4.2.2 Mailbox full"] * 10}))
    settings = smtp_settings(make_settings, server.port)
    settings = type(settings)(
        settings.home,
        settings.file.model_copy(update={"alerts": settings.alerts.model_copy(update={"max_attempts": 3})}),
        settings.secrets,
        settings.source,
    )
    queue_messages(store, repo, settings, 2)
    moment = NOW
    for _ in range(3):
        send_pending(settings, store, now=moment)
        moment += dt.timedelta(days=1)
    [row] = repo.outbox(status="failed")
    assert row.address == stuck and row.attempts == 3
    assert "gave up after 3 attempts" in row.last_error and "452" in row.last_error


@AIOSMTPD_LOGIN_DATA
def test_starttls_with_login(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
) -> None:
    server = smtp_server(
        Handler(),
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticator("relay-user", "s3cret!"),
        auth_required=True,
    )
    settings = smtp_settings(
        make_settings,
        server.port,
        security="starttls",
        username="relay-user",
        ca_certs=str(certificate.cert),
        TBTWATCH_SMTP_PASSWORD="s3cret!",
    )
    ids = queue_messages(store, repo, settings, 3)
    report = send_pending(settings, store, now=NOW)
    assert report.sent == 3, report.as_dict()
    assert sorted(server.handler.message_ids()) == ids


@AIOSMTPD_LOGIN_DATA
def test_wrong_password_halts_without_failing_messages(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_server(
        Handler(),
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticator("relay-user", "s3cret!"),
        auth_required=True,
    )
    settings = smtp_settings(
        make_settings,
        server.port,
        security="starttls",
        username="relay-user",
        ca_certs=str(certificate.cert),
        TBTWATCH_SMTP_PASSWORD="wrong-password",
    )
    queue_messages(store, repo, settings, 3)
    report = send_pending(settings, store, now=NOW)
    assert report.sent == 0 and report.failed == []
    assert "login as 'relay-user' refused" in report.halted["email"]
    assert repo.outbox_counts()["pending"] == 3
    assert "wrong-password" not in caplog.text and "wrong-password" not in str(report.as_dict())


def test_implicit_tls(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
) -> None:
    server = smtp_server(Handler(), ssl_context=certificate.server_context())
    settings = smtp_settings(make_settings, server.port, security="tls", ca_certs=str(certificate.cert))
    ids = queue_messages(store, repo, settings, 2)
    assert send_pending(settings, store, now=NOW).sent == 2
    assert sorted(server.handler.message_ids()) == ids


def test_untrusted_certificate_is_refused(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
    certificate: Certificate,
) -> None:
    server = smtp_server(Handler(), ssl_context=certificate.server_context())
    settings = smtp_settings(make_settings, server.port, security="tls")  # system CAs only
    queue_messages(store, repo, settings, 1)
    report = send_pending(settings, store, now=NOW)
    assert report.sent == 0 and "CERTIFICATE_VERIFY_FAILED" in report.halted["email"]


def test_login_without_password_is_a_configuration_error(
    make_settings: Callable[..., Settings], store: Store, repo: AlertsRepository
) -> None:
    settings = smtp_settings(make_settings, free_port(), username="relay-user")
    queue_messages(store, repo, settings, 1)
    with pytest.raises(ConfigError, match="TBTWATCH_SMTP_PASSWORD"):
        send_pending(settings, store, now=NOW)


def test_rate_limit(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(Handler())
    settings = smtp_settings(make_settings, server.port, rate_per_second=20.0, max_concurrency=4)
    queue_messages(store, repo, settings, 11)
    start = time.monotonic()
    assert send_pending(settings, store, now=NOW).sent == 11
    assert time.monotonic() - start >= 0.45, "11 messages at 20 per second take at least 0.5 s"


def test_only_one_process_sends_at_a_time(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(Handler())
    settings = smtp_settings(make_settings, server.port)
    queue_messages(store, repo, settings, 2)
    with delivery_lock(settings.home) as mine:
        assert mine
        report = send_pending(settings, store, now=NOW)
    assert report.skipped and report.sent == 0
    assert send_pending(settings, store, now=NOW).sent == 2
