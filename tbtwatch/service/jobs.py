"""The scheduled jobs. The job store refers to them as ``tbtwatch.service.jobs:<name>``: keep the names.

Each job takes only plain arguments and finds its settings and the stop signal in
:func:`tbtwatch.service.runtime.current`. No job starts once the service is stopping. A job that runs past
``scheduler.job_timeout_seconds`` is reported to the operator (a crawl has its own timeout and is killed).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from crawlers.errors import CrawlRunError
from crawlers.sources import SOURCES_FILE, Source, load_sources
from tbtwatch.errors import TbtwatchError
from tbtwatch.service import health as health_mod
from tbtwatch.service import operator
from tbtwatch.service.runtime import Runtime, current
from tbtwatch.settings import REPO_ROOT
from tbtwatch.store import Store

log = logging.getLogger(__name__)


def crawl(source: str) -> None:
    """Crawl one source (a ``scrapy crawl`` subprocess with a timeout), then check that source's health."""
    rt = current()
    with _job(rt, f"crawl:{source}", watchdog=False) as go:
        if not go:
            return
        from crawlers.runner import run_crawl

        settings = rt.settings
        entry = _sources(rt).get(source)
        if entry is None or not entry.enabled:
            log.warning("source %s is no longer configured (or disabled): not crawled", source)
            return
        try:
            summary = run_crawl(
                source,
                settings,
                timeout=entry.timeout_seconds(settings.crawl.run_timeout_seconds),
                grace=settings.crawl.stop_grace_seconds,
                cancel=rt.stopping,
            )
        except CrawlRunError as exc:
            log.error("crawl of %s: %s", source, exc)
        else:
            log.info("crawl of %s: %s", source, summary.as_dict())  # with its wall time, "seconds"
        if not rt.stopping.is_set():
            _check(rt, [entry])


def digests(frequency: str) -> None:
    """Build, queue and send the digests of ``frequency`` (immediate, daily or weekly)."""
    from alerts.recipients import Frequency
    from alerts.service import run_digests

    rt = current()
    with _job(rt, f"digests:{frequency}") as go:
        if not go:
            return
        with rt.alerts_lock, Store.open(rt.settings.store_path) as store:
            report = run_digests(rt.settings, store, frequency=Frequency(frequency))
        log.info("%s digests: %s", frequency, report.as_dict())


def reminders() -> None:
    """Queue and send the comment-deadline reminders due today."""
    from alerts.service import run_reminders

    rt = current()
    with _job(rt, "reminders") as go:
        if not go:
            return
        with rt.alerts_lock, Store.open(rt.settings.store_path) as store:
            report = run_reminders(rt.settings, store)
        log.info("reminders: %s", report.as_dict())


def health() -> None:
    """Check every enabled source; raise or clear operator alarms."""
    rt = current()
    with _job(rt, "health") as go:
        if not go:
            return
        _check(rt, [s for s in _sources(rt).values() if s.enabled], forget_others=True)


def retrain() -> None:
    """Retrain the classifier (``tbtwatch classifier train`` in a subprocess, stopped at the job timeout)."""
    rt = current()
    with _job(rt, "retrain", watchdog=False) as go:
        if not go:
            return
        settings = rt.settings
        limit = float(settings.scheduler.job_timeout_seconds)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["TBTWATCH_HOME"] = str(settings.home)
        env["TBTWATCH_CONFIG_DIR"] = str(settings.config_dir)
        logs = settings.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "tbtwatch", "classifier", "train", "--json"]
        with open(logs / "retrain.log", "w", encoding="utf-8") as out:
            proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            deadline = time.monotonic() + limit
            while proc.poll() is None:
                if rt.deadline.is_set() or time.monotonic() > deadline:
                    why = (
                        "the service is shutting down"
                        if rt.deadline.is_set()
                        else f"it ran past scheduler.job_timeout_seconds ({limit:.0f} s)"
                    )
                    _end(proc)
                    if not rt.deadline.is_set():
                        _overrun(rt, "retrain", limit, stopped=True)
                    log.error("retraining stopped: %s; log: %s", why, logs / "retrain.log")
                    return
                time.sleep(0.5)
        if proc.returncode != 0:
            raise TbtwatchError(
                f"retraining failed (exit code {proc.returncode}); log: {logs / 'retrain.log'}"
            )
        log.info("retraining done; log: %s", logs / "retrain.log")


# -- helpers -------------------------------------------------------------------------------------------------
@contextmanager
def _job(rt: Runtime, job_id: str, *, watchdog: bool = True) -> Iterator[bool]:
    """Track the job as running; yield False (do nothing) when the service is stopping."""
    if rt.stopping.is_set():
        log.info("%s not started: the service is stopping", job_id)
        yield False
        return
    timer: threading.Timer | None = None
    if watchdog:
        limit = float(rt.settings.scheduler.job_timeout_seconds)
        timer = threading.Timer(limit, _overrun, args=(rt, job_id, limit))
        timer.daemon = True
        timer.start()
    try:
        with rt.running(job_id):
            yield True
    finally:
        if timer is not None:
            timer.cancel()


def _overrun(rt: Runtime, job_id: str, limit: float, stopped: bool = False) -> None:
    """Report a job that ran past ``scheduler.job_timeout_seconds`` to the log and the operator."""
    what = "was stopped" if stopped else "is still running"
    log.error("job %s ran past scheduler.job_timeout_seconds (%.0f s) and %s", job_id, limit, what)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    message = operator.OperatorMessage(
        key=f"overrun:{job_id}:{stamp}",
        subject=f"[tbtwatch] 任务超时 job overran: {job_id}",
        text=(
            f"任务 {job_id} 运行超过 {limit:.0f} 秒（scheduler.job_timeout_seconds），"
            f"{'已被停止' if stopped else '仍在运行'}。\n"
            f"Job {job_id} ran past {limit:.0f} s (scheduler.job_timeout_seconds) and {what}.\n"
            f"时间 at: {stamp}\n"
        ),
    )
    try:
        with Store.open(rt.settings.store_path) as store:
            if operator.queue(rt.settings, store, message):
                operator.send(rt.settings, store)
    except TbtwatchError as exc:
        log.error("could not queue the overrun report of %s: %s", job_id, exc)


def _check(rt: Runtime, sources: list[Source], *, forget_others: bool = False) -> None:
    with rt.health_lock, Store.open(rt.settings.store_path) as store:
        if forget_others:
            health_mod.clear_removed(store, [s.name for s in sources])
        changes = health_mod.check(rt.settings, store, sources)
        if any(change for _, change in changes):
            with rt.alerts_lock:
                operator.send(rt.settings, store)


def _sources(rt: Runtime) -> dict[str, Source]:
    # read at every run: the file may have changed since start-up (a removed source stops being crawled
    # at once; new sources get their job at the next start)
    return load_sources(rt.settings.config_dir / SOURCES_FILE, check_options=False)


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
