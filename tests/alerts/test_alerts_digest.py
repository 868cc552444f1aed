"""Digests: what is due when, escalation, quiet hours, one digest per period, reminders, maildir delivery."""

from __future__ import annotations

import datetime as dt
import email
import json
import mailbox
from collections.abc import Callable
from email import policy
from pathlib import Path

import pytest
from alerts_testlib import SIGNING_KEY, import_recipients, ingest, labels, make_notice
from typer.testing import CliRunner

from alerts.digest import Clock, DigestKind, due_frequencies
from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.service import build_digests, run_digests
from alerts.tokens import TokenSigner, signing_key, unsubscribe
from tbtwatch.cli import app
from tbtwatch.models import Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

SH = dt.timezone(dt.timedelta(hours=8))


def local(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    """A moment in Asia/Shanghai, June 2025 by default (2025-06-12 is a Thursday, 06-16 a Monday)."""
    return dt.datetime(2025, month, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("moment", "due"),
    [
        (local(12, 8, 0), {"immediate", "weekly"}),  # weekly: from Monday 08:30 to the end of the ISO week
        (local(12, 8, 30), {"immediate", "daily", "weekly"}),
        (local(16, 9, 0), {"immediate", "daily", "weekly"}),
        (local(16, 8, 0), {"immediate"}),
        (local(17, 7, 0), {"immediate", "weekly"}),  # a missed Monday run is caught up on Tuesday
    ],
)
def test_due_frequencies(settings: Settings, moment: dt.datetime, due: set[str]) -> None:
    assert {f.value for f in due_frequencies(settings, Clock.of(settings, moment))} == due


def test_explicit_frequency_is_due_whatever_the_time(settings: Settings) -> None:
    clock = Clock.of(settings, local(12, 3, 0))
    assert due_frequencies(settings, clock, Frequency.WEEKLY) == {Frequency.WEEKLY}
    assert clock.period(DigestKind.WEEKLY) == "2025-W24"


TOY_HIGH = make_notice("G/TBT/N/EU/1050", title="Toy safety", hs_codes=["950300"])
TOY_MEDIUM = make_notice("G/TBT/N/EU/1051", title="Toy labelling", hs_codes=["9503"])
FEED_HIGH = make_notice("G/SPS/N/EU/870", title="Feed additives", hs_codes=["2309"])
APPLIANCE = make_notice("G/TBT/N/KOR/1200", title="Refrigerator efficiency", hs_codes=["8418"])


@pytest.fixture
def alerted(store: Store, repo: AlertsRepository) -> AlertsRepository:
    import_recipients(repo)
    ingest(
        store,
        [TOY_HIGH, TOY_MEDIUM, FEED_HIGH, APPLIANCE],
        [
            labels(TOY_HIGH.id, ["toys"], Risk.HIGH),
            labels(TOY_MEDIUM.id, ["toys"], Risk.MEDIUM),
            labels(FEED_HIGH.id, ["tea"], Risk.HIGH),
            labels(APPLIANCE.id, ["household_appliances"], Risk.MEDIUM),
        ],
    )
    return repo


def _digests(repo: AlertsRepository) -> list[tuple[str, str, str, int]]:
    keys = {r.id: r.key for r in repo.list_recipients()}
    rows = repo.conn.execute("SELECT recipient_id, kind, period, items FROM digests ORDER BY id")
    return [(keys[r[0]], r[1], r[2], r[3]) for r in rows]


def test_high_risk_escalates_for_daily_recipients_only(
    settings: Settings, store: Store, alerted: AlertsRepository
) -> None:
    report = build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=local(12, 8, 0))
    assert report.digests == {"escalation": 1, "immediate": 2}
    assert sorted(_digests(alerted)) == [
        ("exp-en-buyer", "immediate", "2025-06-12T08:00", 2),
        ("wp-ningbo-appliances", "immediate", "2025-06-12T08:00", 1),
        ("wp-yiwu-toys", "escalation", "2025-06-12T08:00", 1),  # only the high-risk toy notice
    ]
    yiwu = alerted.get_recipient("wp-yiwu-toys")
    assert yiwu is not None
    assert [a.notice_id for a in alerted.pending_alerts(yiwu.id)] == [TOY_MEDIUM.id]
    subjects = {r.subject for r in alerted.outbox() if r.recipient_id == yiwu.id}
    assert subjects == {"【高风险预警】1 条高风险通报：G/TBT/N/EU/1050 Toy safety"}

    later = build_digests(settings, store, frequency=Frequency.DAILY, now=local(12, 9, 0))
    assert later.digests == {"daily": 1}  # the medium one; the high one is not sent twice
    assert ("wp-yiwu-toys", "daily", "2025-06-12", 1) in _digests(alerted)
    # The weekly exporter's high-risk feed notice waits for Monday.
    feed = alerted.get_recipient("exp-feed")
    assert feed is not None and [a.notice_id for a in alerted.pending_alerts(feed.id)] == [FEED_HIGH.id]
    monday = build_digests(settings, store, now=local(16, 9, 0))
    assert ("exp-feed", "weekly", "2025-W25", 1) in _digests(alerted)
    assert monday.digests.get("weekly") == 1


def test_quiet_hours_hold_messages_back(settings: Settings, store: Store, alerted: AlertsRepository) -> None:
    night = build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=local(12, 23, 30))
    assert night.quiet == 1  # wp-yiwu-toys: quiet 22:00-07:00
    assert {d[0] for d in _digests(alerted)} == {"exp-en-buyer", "wp-ningbo-appliances"}
    morning = build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=local(13, 7, 5))
    assert morning.quiet == 0
    assert ("wp-yiwu-toys", "escalation", "2025-06-13T07:05", 1) in _digests(alerted)


def test_one_digest_per_recipient_and_period(
    settings: Settings, store: Store, alerted: AlertsRepository
) -> None:
    build_digests(settings, store, frequency=Frequency.DAILY, now=local(12, 9, 0))
    first = len(_digests(alerted))
    late = make_notice("G/TBT/N/EU/1052", title="Toy packaging", hs_codes=["9503"])
    ingest(alerted.store, [late], [labels(late.id, ["toys"], Risk.LOW)])
    again = build_digests(settings, store, frequency=Frequency.DAILY, now=local(12, 17, 0))
    assert again.digests == {} and len(_digests(alerted)) == first, (
        "the new alert waits for tomorrow's digest"
    )
    tomorrow = build_digests(settings, store, frequency=Frequency.DAILY, now=local(13, 9, 0))
    assert tomorrow.digests == {"daily": 1}
    assert ("wp-yiwu-toys", "daily", "2025-06-13", 1) in _digests(alerted)


def test_run_delivers_to_the_local_maildir(
    settings: Settings, store: Store, alerted: AlertsRepository
) -> None:
    report = run_digests(settings, store, now=local(12, 9, 0))
    assert report.delivery is not None
    # yiwu's daily digest to two addresses, ningbo's and the English exporter's immediate messages
    # ... and the feed exporter's weekly digest (due from Monday 08:30 to the end of the ISO week)
    assert report.digests == {"immediate": 2, "daily": 1, "weekly": 1}
    assert report.delivery.sent == report.messages == 5
    box = mailbox.Maildir(settings.maildir, create=False)
    files = list(Path(settings.maildir, "new").iterdir())
    assert len(files) == 5 and len(box) == 5
    delivered = {}
    for f in files:
        msg = email.message_from_bytes(f.read_bytes(), policy=policy.default)
        delivered[str(msg["Delivered-To"])] = msg
    assert set(delivered) == {
        "warning@yiwu.example.cn",
        "duty@yiwu.example.cn",
        "alerts@nb-appliances.example.cn",
        "anna@trading.example.com",
        "li.na@feed.example.cn",
    }
    assert str(delivered["duty@yiwu.example.cn"]["To"]) == "义乌市玩具出口预警点 <duty@yiwu.example.cn>"
    assert alerted.outbox_counts() == {"pending": 0, "sent": 5, "failed": 0}
    again = run_digests(settings, store, now=local(12, 9, 30))
    assert again.delivery is not None and again.delivery.sent == 0
    assert len(list(Path(settings.maildir, "new").iterdir())) == 5


def test_unsubscribed_address_gets_nothing(
    settings: Settings, store: Store, alerted: AlertsRepository
) -> None:
    yiwu = alerted.get_recipient("wp-yiwu-toys")
    assert yiwu is not None
    build_digests(settings, store, frequency=Frequency.DAILY, now=local(12, 9, 0))
    duty = yiwu.addresses[1]
    unsubscribe(store, settings, TokenSigner(signing_key(settings)).make(duty.id, duty.token_nonce))
    cancelled = [r for r in alerted.outbox(status="failed") if r.address == duty.address]
    assert len(cancelled) == 1 and cancelled[0].last_error == "unsubscribed"
    late = make_notice("G/TBT/N/EU/1053", title="Toy magnets", hs_codes=["9503"])
    ingest(store, [late], [labels(late.id, ["toys"])])
    build_digests(settings, store, frequency=Frequency.DAILY, now=local(13, 9, 0))
    newest = [r for r in alerted.outbox(status="pending") if r.recipient_id == yiwu.id]
    assert [r.address for r in newest] == ["warning@yiwu.example.cn"] * 2, "yesterday's and today's digests"


def test_deadline_reminders_once_per_recipient(
    make_settings: Callable[..., Settings], store: Store, repo: AlertsRepository
) -> None:
    s = make_settings({"alerts": {"base_url": "https://tbt.example.cn", "reminder_days": [7, 2]}})
    import_recipients(repo)
    soon = make_notice(
        "G/TBT/N/EU/1060", title="Toy chemicals", hs_codes=["9503"], comment_deadline=dt.date(2025, 6, 25)
    )
    ingest(store, [soon], [labels(soon.id, ["toys"], Risk.MEDIUM)])
    build_digests(s, store, frequency=Frequency.DAILY, now=local(12, 9, 0))  # yiwu: 13 days left
    assert (
        build_digests(s, store, now=local(17, 9, 0)).digests.get("reminder") is None
    )  # en-buyer: 8 days left
    first = build_digests(s, store, now=local(18, 9, 0))  # 7 days left
    assert first.digests["reminder"] == 2  # wp-yiwu-toys and exp-en-buyer (HS 95)
    rows = [r for r in repo.outbox() if r.subject.startswith(("【评议截止提醒】", "[Comment deadline]"))]
    assert len(rows) == 3  # yiwu has two addresses
    body = repo.outbox_body(next(r.id for r in rows if r.address == "warning@yiwu.example.cn"))
    text = email.message_from_bytes(body, policy=policy.default).get_body(("plain",))
    assert text is not None and "2025-06-25（剩余 7 天）" in str(text.get_content())
    assert build_digests(s, store, now=local(19, 9, 0)).digests.get("reminder") is None, "once per threshold"
    second = build_digests(s, store, now=local(23, 9, 0))  # 2 days left: the second threshold
    assert second.digests["reminder"] == 2
    assert build_digests(s, store, now=local(24, 9, 0)).digests.get("reminder") is None


def test_no_reminder_for_a_notice_delivered_inside_the_window(
    settings: Settings, store: Store, repo: AlertsRepository
) -> None:
    import_recipients(repo)
    late = make_notice(
        "G/TBT/N/EU/1061", title="Toy noise", hs_codes=["9503"], comment_deadline=dt.date(2025, 6, 25)
    )
    ingest(store, [late], [labels(late.id, ["toys"])])
    # 5 days left when yiwu's daily digest shows it; 4 when the English exporter's immediate message does
    first = build_digests(settings, store, frequency=Frequency.DAILY, now=local(20, 9, 0))
    second = build_digests(settings, store, now=local(21, 9, 0))
    assert "reminder" not in first.digests and "reminder" not in second.digests
    assert first.reminders_skipped + second.reminders_skipped == 2
    assert build_digests(settings, store, now=local(22, 9, 0)).reminders_skipped == 0


def test_cli_digest_run_and_outbox(
    home: Path, settings: Settings, store: Store, alerted: AlertsRepository
) -> None:
    env = {"TBTWATCH_SIGNING_KEY": SIGNING_KEY}
    result = CliRunner().invoke(
        app,
        [
            "--home",
            str(home),
            "digest",
            "run",
            "--frequency",
            "immediate",
            "--now",
            "2025-06-12T08:00",
            "--json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["digests"] == {"immediate": 2, "escalation": 1}
    assert report["delivery"]["sent"] == 4
    outbox = CliRunner().invoke(app, ["--home", str(home), "digest", "outbox", "--json"], env=env)
    assert json.loads(outbox.output)["counts"] == {"pending": 0, "sent": 4, "failed": 0}
    human = CliRunner().invoke(
        app, ["--home", str(home), "digest", "run", "--now", "2025-06-12T09:00"], env=env
    )
    assert human.exit_code == 0 and "digests: weekly 1, daily 1; messages queued: 3" in human.output
    bad = CliRunner().invoke(app, ["--home", str(home), "digest", "run", "--now", "yesterday"], env=env)
    assert bad.exit_code == 2 and "not an ISO date-time" in bad.output
