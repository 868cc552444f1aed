"""`tbtwatch serve --no-web` as a real process against the crawler mirror: crawls run and are recorded, a
hanging source is killed at its timeout while the others carry on, a failing source raises exactly one
operator alarm, `sources status --json` reads it all, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service_helpers import OPERATOR, Service
from testutil import env_of_processes

SOURCES: dict[str, dict[str, Any]] = {
    "svc_good": {
        "spider": "feeds",
        "description": "a good feed on the mirror",
        "schedule": {"interval": "3s"},
        "expected_cadence": "1h",
        "options": {"feeds": [{"name": "ok", "url": "{mirror}/feeds.example.org/ok.xml", "language": "en"}]},
    },
    "svc_hang": {
        "spider": "yidaiyilu",
        "description": "a list page whose article takes a minute to answer",
        "schedule": {"interval": "1h"},
        "expected_cadence": "1h",
        "base_url": "{mirror}",
        "run_timeout": "20s",
        "options": {"aliases": ["hang"], "max_pages": 1},
    },
    "svc_broken": {
        "spider": "feeds",
        "description": "a feed that is gone (404)",
        "schedule": {"interval": "2s"},
        "expected_cadence": "1h",
        "options": {"feeds": [{"name": "gone", "url": "{mirror}/feeds.example.org/gone.xml"}]},
    },
    "svc_off": {
        "spider": "feeds",
        "enabled": False,
        "schedule": {"interval": "1s"},
        "expected_cadence": "1h",
        "options": {"feeds": [{"name": "ok", "url": "{mirror}/feeds.example.org/ok.xml"}]},
    },
}


def _runs(home: Path) -> list[dict[str, Any]]:
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM source_runs ORDER BY id")]
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        conn.close()


def _finished(home: Path, source: str) -> list[dict[str, Any]]:
    return [r for r in _runs(home) if r["source"] == source and r["finished_at"]]


def test_serve_crawls_kills_a_hung_source_alarms_once_and_stops_cleanly(service: Service) -> None:
    service.write_sources(SOURCES)
    service.start("--no-web")

    # the good source runs again and again, and its runs are recorded with what they found
    service.wait_for("two good runs", lambda: len(_finished(service.home, "svc_good")) >= 2)
    good = _finished(service.home, "svc_good")
    assert good[0]["status"] == "ok" and good[0]["items"] == 2 and good[0]["new"] == 2
    assert good[1]["status"] == "ok" and good[1]["unchanged"] == 2

    # the hanging source is stopped at its 20 s timeout and recorded as failed; the others went on meanwhile
    [hang] = service.wait_for("the hung crawl to be stopped", lambda: _finished(service.home, "svc_hang"))
    assert hang["status"] == "failed"
    assert "killed after the run timeout of 20 s" in hang["message"]
    lines = service.read_log().splitlines()
    began = next(i for i, line in enumerate(lines) if "crawling svc_hang" in line)
    ended = next(
        i for i, line in enumerate(lines) if "crawl of svc_hang: crawl of svc_hang ran past 20 s" in line
    )
    assert any(
        "crawl of svc_good: {" in line or "crawl of svc_broken: {" in line for line in lines[began:ended]
    ), "no other crawl finished while the hung one was stuck"

    # the failing source: 2 failures raise one alarm; a third raises nothing more
    service.wait_for("the alarm", lambda: service.mails())
    service.wait_for("3 failed runs", lambda: len(_finished(service.home, "svc_broken")) >= 3)
    broken = _finished(service.home, "svc_broken")
    assert all(r["status"] == "errors" and r["items"] == 0 for r in broken)
    mails = service.mails()
    assert len(mails) == 1, [m["Subject"] for m in mails]
    alarm = mails[0]
    assert alarm["To"] == OPERATOR and alarm["Delivered-To"] == OPERATOR
    assert "数据源告警 source alarm: svc_broken" in alarm["Subject"]
    body = alarm.get_content()
    assert "连续 2 次运行失败 2 failed runs in a row" in body and "gone.xml: HTTP 404" in body
    assert not _finished(service.home, "svc_off"), "a disabled source was crawled"

    status = service.cli("sources", "status", "--json")
    assert status.returncode == 0, status.stderr
    rows = {r["source"]: r for r in json.loads(status.stdout)}
    assert list(rows) == list(SOURCES)
    assert rows["svc_good"]["health"]["state"] == "ok" and rows["svc_good"]["health"]["alarm"] is None
    assert rows["svc_good"]["last_run"]["status"] in {"ok", "running"}  # it runs every 3 s
    assert rows["svc_broken"]["health"]["state"] == "failing"
    assert rows["svc_broken"]["health"]["failures_in_a_row"] >= 3
    assert rows["svc_broken"]["health"]["alarm"]["reason"].startswith("连续 2 次运行失败")
    assert rows["svc_hang"]["last_run"]["status"] == "failed"
    for name in ("svc_good", "svc_hang", "svc_broken"):
        assert rows[name]["next_run_from"] == "job store"
    hang_next = datetime.fromisoformat(rows["svc_hang"]["next_run"])
    assert timedelta(minutes=50) < hang_next - datetime.now(UTC) <= timedelta(hours=1)
    assert rows["svc_off"]["health"]["state"] == "disabled" and rows["svc_off"]["next_run"] is None
    text = service.cli("sources", "status")
    assert text.returncode == 0 and "svc_broken" in text.stdout and "alarm" in text.stdout

    # a message waiting for its retry when the service stops must still be waiting afterwards
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    with sqlite3.connect(service.home / "tbtwatch.sqlite3", timeout=30) as conn:
        conn.execute(
            "INSERT INTO outbox (recipient_id, channel, address, message_id, subject, body, next_attempt_at,"
            " created_at) VALUES (0, 'email', 'x@example.org', '<retry@test>', 'retry', X'00', ?, ?)",
            (later, later),
        )
    conn.close()

    # SIGTERM while crawls run: exit 0, every run closed, no crawl left behind, outbox as it was
    assert service.stop() == 0, service.read_log()[-4000:]
    log = service.read_log()
    assert "SIGTERM received: shutting down" in log and "all jobs finished" in log
    runs = _runs(service.home)
    assert all(r["finished_at"] for r in runs), [r for r in runs if not r["finished_at"]]
    assert {r["status"] for r in runs} <= {"ok", "errors", "failed", "stopped"}
    assert env_of_processes(f"TBTWATCH_HOME={service.home}") == []
    with sqlite3.connect(service.home / "tbtwatch.sqlite3") as conn:
        outbox = dict(conn.execute("SELECT message_id, status FROM outbox").fetchall())
    conn.close()
    assert outbox.pop("<retry@test>") == "pending"
    assert list(outbox.values()) == ["sent"] and len(service.mails()) == 1
