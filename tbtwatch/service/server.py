"""``tbtwatch serve``: the scheduler (and the web app) until SIGTERM/SIGINT, then a graceful shutdown.

Shutdown order: stop scheduling (no job starts any more); crawls are asked to stop at once (Scrapy closes
the spider and records its run; the runner kills it after ``crawl.stop_grace_seconds``); other jobs get
``scheduler.shutdown_grace_seconds`` to finish, then subprocess jobs are ended and in-process ones
abandoned. The outbox stays consistent whatever is cut short: a message is marked sent only after its
channel accepted it, so pending messages stay pending for the next start. Exit status 0.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from crawlers.sources import SOURCES_FILE, Source, load_sources
from tbtwatch.errors import TbtwatchError
from tbtwatch.service import jobs, runtime
from tbtwatch.service.health import assess_sources, clear_removed, close_stale_runs
from tbtwatch.service.schedule import job_specs, jobstore_path, make_scheduler, sync_jobs
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)


@dataclass
class ServeReport:
    """What a service run did, for the exit message."""

    jobs: dict[str, list[str]] = field(default_factory=dict)
    web_url: str = ""
    abandoned: list[str] = field(default_factory=list)


@contextmanager
def service_lock(settings: Settings) -> Iterator[None]:
    """One service per home: two schedulers on one job store would run every job twice."""
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / "serve.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise TbtwatchError(
                f"another tbtwatch serve (pid {other}) is running on {settings.home}. "
                "Fix: stop it first, or use another --home."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def serve(settings: Settings, *, web: bool = True, on_ready: Any = None) -> ServeReport:
    """Run the service until SIGTERM or SIGINT; return after a graceful shutdown."""
    sources = load_sources(settings.config_dir / SOURCES_FILE)  # full check, spider options included
    with service_lock(settings):
        return _serve(settings, sources, web=web, on_ready=on_ready)


def _serve(settings: Settings, sources: dict[str, Source], *, web: bool, on_ready: Any) -> ServeReport:
    rt = runtime.install(runtime.Runtime(settings))
    report = ServeReport()
    with Store.open(settings.store_path) as store:  # create and migrate before any job opens it
        clear_removed(store, [n for n, s in sources.items() if s.enabled])
        close_stale_runs(settings, store, sources)
    previous = _trap_signals(rt)
    scheduler = make_scheduler(settings)
    server = None
    try:
        scheduler.start(paused=True)
        sync = sync_jobs(scheduler, job_specs(settings, sources))
        report.jobs = sync.as_dict()
        log.info("jobs in %s: %s", jobstore_path(settings), sync.as_dict())
        if web:
            from tbtwatch.web.server import WebServer

            server = WebServer(settings)
            server.start()
            report.web_url = server.url
        scheduler.resume()
        for job in scheduler.get_jobs():
            log.info("job %s next run %s", job.name, job.next_run_time)
        if on_ready is not None:
            on_ready(report)
        while not rt.stopping.wait(1.0):
            pass
        log.warning("stopping: no new jobs; waiting for running jobs")
        scheduler.shutdown(wait=False)
        report.abandoned = drain_jobs(rt)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if server is not None:
            server.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return report


def _trap_signals(rt: runtime.Runtime) -> dict[int, Any]:
    def stop(signum: int, _frame: FrameType | None) -> None:
        if rt.stopping.is_set():
            log.warning("%s again: still stopping", signal.Signals(signum).name)
            return
        log.warning("%s received: shutting down", signal.Signals(signum).name)
        rt.stopping.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, stop)
    return previous


def drain_jobs(rt: runtime.Runtime) -> list[str]:
    """Wait for running jobs: crawls until stopped, others up to the grace; return those abandoned."""
    grace = float(rt.settings.scheduler.shutdown_grace_seconds)
    end = time.monotonic() + grace
    while True:
        running = rt.running_jobs()
        if not running:
            log.warning("all jobs finished")
            return []
        others = [j for j in running if not j.startswith("crawl:")]
        if time.monotonic() >= end:
            rt.deadline.set()  # the retraining subprocess ends now
            if not any(j.startswith(("crawl:", "retrain")) for j in running):
                log.error("jobs still running after %.0f s, abandoned: %s", grace, ", ".join(others))
                return others
        time.sleep(0.2)


def exit_now(report: ServeReport) -> None:
    """Leave the process: at once when jobs were abandoned (their threads would block the exit)."""
    if report.abandoned:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


@dataclass
class OnceReport:
    """What ``serve --once`` ran."""

    crawls: dict[str, str] = field(default_factory=dict)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    digests: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"crawls": self.crawls, "health": self.health, "digests": self.digests}


def run_once(settings: Settings) -> OnceReport:
    """Crawl every enabled source once (``scheduler.max_parallel_crawls`` at a time), check health, run
    the digests due now; no scheduler, no job store."""
    sources = load_sources(settings.config_dir / SOURCES_FILE)
    with service_lock(settings):
        return _run_once(settings, sources)


def _run_once(settings: Settings, sources: dict[str, Source]) -> OnceReport:
    from alerts.service import run_digests

    rt = runtime.install(runtime.Runtime(settings))
    previous = _trap_signals(rt)
    report = OnceReport()
    try:
        with Store.open(settings.store_path) as store:
            clear_removed(store, [n for n, s in sources.items() if s.enabled])
            # a home run by cron with --once only must close the runs of a killed service too
            close_stale_runs(settings, store, sources)
            latest = store.runs(limit=1)
        before = latest[0].id if latest else 0
        enabled = [name for name, src in sorted(sources.items()) if src.enabled]
        with ThreadPoolExecutor(settings.scheduler.max_parallel_crawls, thread_name_prefix="crawl") as pool:
            list(pool.map(jobs.crawl, enabled))
        with Store.open(settings.store_path) as store:
            for name in sorted(sources):
                runs = [r for r in store.runs(name, limit=1) if r.id > before]
                report.crawls[name] = runs[0].status if runs else "not run"
            if not rt.stopping.is_set():
                jobs.health()
                for a in assess_sources(
                    store,
                    [s for s in sources.values() if s.enabled],
                    now=datetime.now(UTC),
                    failures_before_alarm=settings.scheduler.failures_before_alarm,
                ):
                    report.health[a.source] = a.as_dict()
                with rt.alerts_lock:
                    report.digests = run_digests(settings, store).as_dict()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return report
