"""Restart after downtime: a run missed while the service was down runs once (not once per missed run), the
stored jobs are re-synced with sources.yaml (a removed source loses its job), and a job whose schedule did
not change keeps its place."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from service_helpers import Service

from tbtwatch.service.schedule import jobstore_path
from tbtwatch.settings import load_settings

HOURLY = {
    "spider": "feeds",
    "schedule": {"interval": "1h"},
    "expected_cadence": "1d",
    "options": {"feeds": [{"name": "ok", "url": "{mirror}/feeds.example.org/ok.xml", "language": "en"}]},
}


def _finished(home: Path, source: str) -> int:
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as conn:
        try:
            n = conn.execute(
                "SELECT count(*) FROM source_runs WHERE source=? AND finished_at IS NOT NULL", (source,)
            ).fetchone()[0]
        except sqlite3.OperationalError:
            n = 0
    conn.close()
    return int(n)


def _jobstore(service: Service) -> SQLAlchemyJobStore:
    """The service's job store, opened without a running scheduler (no thread could run a job here)."""
    settings = load_settings(service.home, environ=service.env())
    store = SQLAlchemyJobStore(url=f"sqlite:///{jobstore_path(settings)}")
    store.start(BlockingScheduler(timezone=UTC), "default")
    return store


def _jobs(service: Service) -> dict[str, Any]:
    store = _jobstore(service)
    try:
        return {job.id: job.next_run_time for job in store.get_all_jobs()}
    finally:
        store.shutdown()


def test_a_run_missed_during_downtime_runs_once_and_jobs_follow_the_config(service: Service) -> None:
    service.write_sources({"svc_hourly": HOURLY, "svc_gone": HOURLY})
    service.start("--no-web", extra={"TBTWATCH_SCHEDULER__MAX_PARALLEL_CRAWLS": "1"})
    # new sources are crawled once at start-up, then every hour
    service.wait_for(
        "the start-up crawls",
        lambda: _finished(service.home, "svc_hourly") == 1 == _finished(service.home, "svc_gone"),
    )
    assert service.stop() == 0
    # one crawl at a time (scheduler.max_parallel_crawls=1): the second began after the first ended
    with sqlite3.connect(service.home / "tbtwatch.sqlite3") as conn:
        first, second = conn.execute("SELECT started_at, finished_at FROM source_runs ORDER BY id").fetchall()
    conn.close()
    assert second[0] >= first[1]
    jobs = _jobs(service)
    assert {"crawl:svc_hourly", "crawl:svc_gone", "digests:immediate", "health", "retrain"} <= set(jobs)
    assert jobs["crawl:svc_hourly"] - datetime.now(UTC) > timedelta(minutes=55)

    # three hours of downtime: the store says the hourly crawl was due 3 h ago (runs at -3h, -2h, -1h, now missed)
    store = _jobstore(service)
    try:
        job = store.lookup_job("crawl:svc_hourly")
        job.next_run_time = datetime.now(UTC) - timedelta(hours=3)
        store.update_job(job)
        daily_before = store.lookup_job("digests:daily").next_run_time
    finally:
        store.shutdown()
    service.write_sources({"svc_hourly": HOURLY})  # svc_gone is removed meanwhile

    before = len(service.read_log())
    service.start("--no-web")
    service.wait_for("the missed crawl", lambda: _finished(service.home, "svc_hourly") == 2)
    done = 'Job "crawl(svc_hourly) · every 1h (Asia/Shanghai) (trigger'
    service.wait_for("the job's end", lambda: done in service.read_log()[before:])
    # APScheduler runs the run times of one submission back to back: a second one would start at once
    status = service.cli("sources", "status", "--json")
    assert status.returncode == 0, status.stderr
    log = service.read_log()[before:]
    assert "'kept': ['crawl:svc_hourly'" in log and "'removed': ['crawl:svc_gone']" in log
    assert log.count('Running job "crawl(svc_hourly)') == 1, log
    assert service.stop() == 0
    assert _finished(service.home, "svc_hourly") == 2 and _finished(service.home, "svc_gone") == 1
    jobs = _jobs(service)
    assert "crawl:svc_gone" not in jobs
    assert jobs["crawl:svc_hourly"] - datetime.now(UTC) > timedelta(minutes=55)
    assert jobs["digests:daily"] == daily_before  # unchanged jobs keep their place
