"""The scheduler, its persistent job store and the jobs the configuration asks for.

Jobs live in ``$TBTWATCH_HOME/scheduler.sqlite`` (APScheduler's SQLAlchemy job store), named by
``module:function`` so that the store survives restarts and upgrades. At start the stored jobs are made to
match the configuration (:func:`sync_jobs`): a job whose schedule did not change keeps its next run time, so
a run missed while the service was down is seen as a misfire and runs once (``coalesce``), however many
runs were missed; a changed schedule is replaced; a source removed or disabled loses its job.

Every job: ``max_instances=1`` (a run still going when the next is due makes that one skip),
``coalesce=True`` and no misfire limit (late runs run once, whatever the delay).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawlers.sources import Schedule, Source
from tbtwatch.settings import Settings

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

JOBSTORE_FILE = "scheduler.sqlite"
JOBS_TABLE = "apscheduler_jobs"
_JOBS = "tbtwatch.service.jobs"
CRAWLS = "crawls"
JOB_DEFAULTS: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


@dataclass(frozen=True)
class JobSpec:
    """One job the configuration asks for."""

    id: str
    func: str
    trigger: BaseTrigger
    describe: str
    args: tuple[str, ...] = ()
    #: run at once when the job is new to the store (a new source is crawled at start-up)
    run_at_start: bool = False
    #: the thread pool it runs in: ``crawls`` (``scheduler.max_parallel_crawls``) or ``default``
    executor: str = "default"

    @property
    def name(self) -> str:
        """The stored job's name: what it runs and when; a changed name means a changed job."""
        return f"{self.func.rpartition(':')[2]}({', '.join(self.args)}) · {self.describe}"


@dataclass
class SyncReport:
    """What :func:`sync_jobs` did."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-ready."""
        return {"added": self.added, "replaced": self.replaced, "kept": self.kept, "removed": self.removed}


def jobstore_path(settings: Settings) -> Path:
    """The job store's SQLite file."""
    return settings.home / JOBSTORE_FILE


def source_trigger(schedule: Schedule) -> BaseTrigger:
    """The trigger of a source's ``schedule`` (interval or crontab, in its time zone)."""
    zone = ZoneInfo(schedule.timezone)
    every = schedule.every
    if every is not None:
        return IntervalTrigger(seconds=int(every.total_seconds()), timezone=zone)
    assert schedule.cron is not None
    return CronTrigger.from_crontab(schedule.cron, timezone=zone)


def _at(value: str) -> tuple[int, int]:
    hh, mm = value.split(":")
    return int(hh), int(mm)


def job_specs(settings: Settings, sources: Mapping[str, Source]) -> list[JobSpec]:
    """Every job: one crawl per enabled source, digests, reminders, health checks, retraining."""
    sch = settings.scheduler
    zone = ZoneInfo(settings.general.timezone)
    tz = settings.general.timezone
    daily_h, daily_m = _at(sch.daily_at)
    rem_h, rem_m = _at(sch.reminders_at)
    ret_h, ret_m = _at(sch.retrain_at)
    specs = [
        JobSpec(
            f"crawl:{name}",
            f"{_JOBS}:crawl",
            source_trigger(src.schedule),
            src.schedule.describe(),
            (name,),
            run_at_start=True,
            executor=CRAWLS,
        )
        for name, src in sorted(sources.items())
        if src.enabled
    ]
    specs += [
        JobSpec(
            "digests:immediate",
            f"{_JOBS}:digests",
            IntervalTrigger(minutes=sch.immediate_every_minutes, timezone=zone),
            f"every {sch.immediate_every_minutes} min",
            ("immediate",),
        ),
        JobSpec(
            "digests:daily",
            f"{_JOBS}:digests",
            CronTrigger(hour=daily_h, minute=daily_m, timezone=zone),
            f"daily {sch.daily_at} ({tz})",
            ("daily",),
        ),
        JobSpec(
            "digests:weekly",
            f"{_JOBS}:digests",
            CronTrigger(day_of_week=sch.weekly_on, hour=daily_h, minute=daily_m, timezone=zone),
            f"{sch.weekly_on} {sch.daily_at} ({tz})",
            ("weekly",),
        ),
        JobSpec(
            "reminders",
            f"{_JOBS}:reminders",
            CronTrigger(hour=rem_h, minute=rem_m, timezone=zone),
            f"daily {sch.reminders_at} ({tz})",
        ),
        JobSpec(
            "health",
            f"{_JOBS}:health",
            IntervalTrigger(minutes=sch.health_every_minutes, timezone=zone),
            f"every {sch.health_every_minutes} min",
        ),
        JobSpec(
            "retrain",
            f"{_JOBS}:retrain",
            CronTrigger(day_of_week=sch.retrain_on, hour=ret_h, minute=ret_m, timezone=zone),
            f"{sch.retrain_on} {sch.retrain_at} ({tz})",
        ),
    ]
    return specs


def make_scheduler(settings: Settings, *, workers: int = 8) -> BackgroundScheduler:
    """A background scheduler on the home's job store, in ``general.timezone``."""
    # imported here: `sources status` needs the triggers only, not SQLAlchemy
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    path = jobstore_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}")},
        executors={
            "default": ThreadPoolExecutor(workers),
            # a crawl due while the pool is full waits for a free slot (and counts as running meanwhile)
            CRAWLS: ThreadPoolExecutor(settings.scheduler.max_parallel_crawls),
        },
        job_defaults=JOB_DEFAULTS,
        timezone=ZoneInfo(settings.general.timezone),
    )


def sync_jobs(scheduler: BackgroundScheduler, specs: list[JobSpec]) -> SyncReport:
    """Make the stored jobs match ``specs`` (the scheduler must be started, paused is fine)."""
    report = SyncReport()
    wanted = {s.id: s for s in specs}
    stored = {job.id: job for job in scheduler.get_jobs()}
    for job_id in stored:
        if job_id not in wanted:
            scheduler.remove_job(job_id)
            report.removed.append(job_id)
    for spec in specs:
        old = stored.get(spec.id)
        extra: dict[str, Any] = {}
        if old is not None and old.name == spec.name and old.func_ref == spec.func:
            # same job: keep its next run time, so a run missed during downtime is still due
            if old.next_run_time is not None:
                extra["next_run_time"] = old.next_run_time
            report.kept.append(spec.id)
        elif old is None and spec.run_at_start:
            extra["next_run_time"] = datetime.now(UTC)
            report.added.append(spec.id)
        else:
            (report.replaced if old is not None else report.added).append(spec.id)
        scheduler.add_job(
            spec.func,
            spec.trigger,
            args=list(spec.args),
            id=spec.id,
            name=spec.name,
            executor=spec.executor,
            replace_existing=True,
            **JOB_DEFAULTS,
            **extra,
        )
    return report


def stored_next_runs(settings: Settings) -> dict[str, datetime | None] | None:
    """Job id -> next run time (UTC) read from the job store file; None when there is no job store.

    Read with plain SQL (the times are a column of the table), so a status query never unpickles jobs
    nor takes the scheduler's locks.
    """
    path = jobstore_path(settings)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute(f"SELECT id, next_run_time FROM {JOBS_TABLE}").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        log.warning("cannot read the job store %s: %s", path, exc)
        return None
    return {
        str(job_id): datetime.fromtimestamp(float(ts), UTC) if ts is not None else None for job_id, ts in rows
    }


def next_fire(trigger: BaseTrigger, now: datetime | None = None) -> datetime | None:
    """When ``trigger`` fires next after ``now`` (UTC)."""
    moment = now or datetime.now(UTC)
    nxt = trigger.get_next_fire_time(None, moment)
    return nxt.astimezone(UTC) if nxt is not None else None
