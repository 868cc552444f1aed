"""Source health on a real SQLite store: failures in a row, silence beyond the cadence, one alarm per episode
in the outbox, a recovery note, persisted state; delivered to the maildir by the alerts sender."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from alerts.service import send_pending
from crawlers.sources import Source
from tbtwatch.service.health import alarms, check, clear_removed, close_stale_runs
from tbtwatch.settings import Settings, load_settings
from tbtwatch.store import Store

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _settings(home: Path, **env: str) -> Settings:
    base = {"TBTWATCH_HOME": str(home), "TBTWATCH_SCHEDULER__FAILURES_BEFORE_ALARM": "3"}
    return load_settings(home, environ={**base, **env})


def _source(name: str, cadence: str = "1d", **extra: Any) -> Source:
    entry = {"spider": "feeds", "schedule": {"interval": "1h"}, "expected_cadence": cadence, **extra}
    return Source.model_validate({**entry, "name": name})


def _run(store: Store, source: str, status: str, *, ago: timedelta, items: int = 0, new: int = 0) -> None:
    run_id = store.start_run(source)
    store.finish_run(run_id, status=status, message=f"{status} run", items=items, new=new, errors=0)
    stamp = (NOW - ago).isoformat(timespec="seconds")
    store.conn.execute(
        "UPDATE source_runs SET started_at=?, finished_at=? WHERE id=?", (stamp, stamp, run_id)
    )


def _outbox(store: Store) -> list[tuple[int, str, str, str]]:
    return [
        (r[0], r[1], r[2], r[3])
        for r in store.conn.execute("SELECT recipient_id, address, status, subject FROM outbox ORDER BY id")
    ]


def test_failures_in_a_row_raise_one_alarm_then_a_recovery(home: Path) -> None:
    settings = _settings(home, TBTWATCH_ALERTS__OPERATOR_EMAIL="ops@example.org")
    src = _source("flaky")
    with Store.open(settings.store_path) as store:
        _run(store, "flaky", "ok", ago=timedelta(hours=5), items=3, new=3)
        _run(store, "flaky", "errors", ago=timedelta(hours=4))  # errors and nothing read: a failure
        _run(store, "flaky", "failed", ago=timedelta(hours=3))
        [(a, change)] = check(settings, store, [src], now=NOW)
        assert (a.state, a.failures_in_a_row, change) == ("ok", 2, "")
        assert _outbox(store) == []

        _run(store, "flaky", "stopped", ago=timedelta(hours=2, minutes=30))  # a shutdown: neither way
        _run(store, "flaky", "failed", ago=timedelta(hours=2))
        [(a, change)] = check(settings, store, [src], now=NOW)
        assert (a.state, a.failures_in_a_row, change) == ("failing", 3, "raised")
        assert a.problem == "连续 3 次运行失败 3 failed runs in a row: failed run"
        [row] = _outbox(store)
        assert row[:3] == (0, "ops@example.org", "pending") and "source alarm: flaky" in row[3]

        # the same episode: more failures, more checks, no second message
        _run(store, "flaky", "failed", ago=timedelta(hours=1))
        for _ in range(2):
            [(a, change)] = check(settings, store, [src], now=NOW)
            assert (a.failures_in_a_row, change) == (4, "")
        assert len(_outbox(store)) == 1
        assert alarms(store)["flaky"].state == "alarm"

        # errors while reading items is a partial run, not a failure: the source has recovered
        _run(store, "flaky", "errors", ago=timedelta(minutes=30), items=5)
        [(a, change)] = check(settings, store, [src], now=NOW)
        assert (a.state, change) == ("ok", "cleared")
        assert alarms(store)["flaky"].state == "ok" and alarms(store)["flaky"].cleared_at
        assert [r[3] for r in _outbox(store)][1] == "[tbtwatch] 数据源已恢复 source recovered: flaky"

        report = send_pending(settings, store, now=NOW)
        assert report.sent == 2
    files = sorted((home / "maildir" / "new").iterdir())
    messages = [email.message_from_bytes(p.read_bytes(), policy=default_policy) for p in files]
    bodies = sorted(m.get_content() for m in messages)  # type: ignore[attr-defined]
    assert any("Source flaky needs attention." in b and "连续 3 次运行失败" in b for b in bodies)
    assert any("Source flaky has recovered." in b for b in bodies)
    assert {m["To"] for m in messages} == {"ops@example.org"}


def test_silence_longer_than_the_cadence_raises_an_alarm(home: Path) -> None:
    settings = _settings(home, TBTWATCH_ALERTS__OPERATOR_EMAIL="ops@example.org")
    quiet, never, lively, fresh = (
        _source("quiet", "6h"),
        _source("never", "6h"),
        _source("lively", "6h"),
        _source("fresh", "6h"),
    )
    with Store.open(settings.store_path) as store:
        _run(store, "quiet", "ok", ago=timedelta(hours=9), items=4, new=4)
        _run(store, "quiet", "ok", ago=timedelta(hours=1), items=4)
        _run(store, "never", "ok", ago=timedelta(hours=7))
        _run(store, "never", "ok", ago=timedelta(hours=1))
        _run(store, "lively", "ok", ago=timedelta(hours=9), items=1, new=1)
        _run(store, "lively", "ok", ago=timedelta(hours=2), items=1, new=1)
        _run(store, "fresh", "ok", ago=timedelta(hours=1))
        result = {
            a.source: (a.state, a.silent_since, change)
            for a, change in check(settings, store, [quiet, never, lively, fresh], now=NOW)
        }
        assert result["quiet"] == ("silent", (NOW - timedelta(hours=9)).isoformat(), "raised")
        assert result["never"] == ("silent", (NOW - timedelta(hours=7)).isoformat(), "raised")
        assert result["lively"] == ("ok", None, "")
        assert result["fresh"] == ("ok", None, "")  # one run, an hour ago: not silent yet
        subjects = [r[3] for r in _outbox(store)]
        assert len(subjects) == 2 and all("silent since" in s for s in subjects)
        assert "nothing new for longer than 6h" in alarms(store)["quiet"].reason


def test_without_an_operator_address_the_alarm_is_kept_but_not_mailed(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(home)
    with Store.open(settings.store_path) as store:
        for hours in (3, 2, 1):
            _run(store, "down", "failed", ago=timedelta(hours=hours))
        [(_, change)] = check(settings, store, [_source("down")], now=NOW)
        assert change == "raised" and alarms(store)["down"].state == "alarm"
        assert _outbox(store) == []
        clear_removed(store, ["other"])  # "down" was removed from sources.yaml or disabled
        assert alarms(store) == {}
    assert "set alerts.operator_email" in caplog.text


def test_a_source_that_never_ran_is_not_judged(home: Path) -> None:
    settings = _settings(home, TBTWATCH_ALERTS__OPERATOR_EMAIL="ops@example.org")
    with Store.open(settings.store_path) as store:
        [(a, change)] = check(settings, store, [_source("new")], now=NOW)
        assert (a.state, a.problem, change) == ("never run", "", "")


def test_runs_left_open_by_a_dead_service_are_closed_once_they_cannot_be_running(home: Path) -> None:
    settings = _settings(home)  # crawl.run_timeout_seconds 1800, stop grace 30 s
    sources = {"quick": _source("quick", run_timeout="10m"), "slow": _source("slow")}
    with Store.open(settings.store_path) as store:
        ids = {}
        for name, minutes in (("quick", 20), ("slow", 20), ("slow", 40), ("gone", 60)):
            ids[(name, minutes)] = store.start_run(name)
            stamp = (NOW - timedelta(minutes=minutes)).isoformat(timespec="seconds")
            store.conn.execute(
                "UPDATE source_runs SET started_at=? WHERE id=?", (stamp, ids[(name, minutes)])
            )
        closed = close_stale_runs(settings, store, sources, now=NOW)
        # quick: 20 min > 10 min + 30 s + 5 min; slow: 40 min > 30 min + 5.5 min but 20 min is not; gone: default
        assert sorted(closed) == sorted([ids[("quick", 20)], ids[("slow", 40)], ids[("gone", 60)]])
        runs = {r.id: r for r in store.runs(limit=10)}
        assert runs[ids[("slow", 20)]].finished_at is None
        assert runs[ids[("quick", 20)]].status == "stopped"
        [(a, _)] = check(settings, store, [sources["quick"]], now=NOW)
        assert a.failures_in_a_row == 0  # an abandoned run is not the source's failure
