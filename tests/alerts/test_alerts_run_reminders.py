"""``run_reminders`` (the service's reminders job): only the comment-deadline reminders due today, once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from alerts_testlib import import_recipients, ingest, labels, make_notice

from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.service import build_digests, run_reminders
from tbtwatch.settings import Settings
from tbtwatch.store import Store

SH = ZoneInfo("Asia/Shanghai")


def test_run_reminders_queues_only_reminders_once_a_day(
    make_settings: Callable[..., Settings], store: Store, repo: AlertsRepository
) -> None:
    s = make_settings({"alerts": {"base_url": "https://tbt.example.cn", "reminder_days": [7]}})
    import_recipients(repo)
    soon = make_notice(
        "G/TBT/N/EU/1070", title="Toy magnets", hs_codes=["9503"], comment_deadline=dt.date(2025, 6, 25)
    )
    ingest(store, [soon], [labels(soon.id, ["toys"])])
    build_digests(s, store, frequency=Frequency.DAILY, now=dt.datetime(2025, 6, 12, 9, 0, tzinfo=SH))
    queued = len(repo.outbox(limit=1000))

    early = run_reminders(s, store, now=dt.datetime(2025, 6, 17, 9, 0, tzinfo=SH), send=False)  # 8 days left
    assert early.digests == {} and early.due == ["reminder"]
    due = run_reminders(s, store, now=dt.datetime(2025, 6, 18, 9, 0, tzinfo=SH), send=False)  # 7 days left
    # the daily warning point got the notice on the 12th; the immediate exporter never got it (no run)
    assert due.digests == {"reminder": 1} and due.delivery is None
    new = repo.outbox(limit=1000)[: len(repo.outbox(limit=1000)) - queued]
    assert len(new) == 2  # the warning point's two addresses
    assert all(
        r.subject.startswith("【评议截止提醒】") and r.recipient_id == new[0].recipient_id for r in new
    )
    again = run_reminders(s, store, now=dt.datetime(2025, 6, 18, 15, 0, tzinfo=SH), send=False)
    assert again.digests == {}
