"""Run one source: ``python -m scrapy crawl <spider>`` in a subprocess, with a timeout, and read its summary.

Why a subprocess rather than Scrapy's CrawlerProcess in the calling process: Twisted's reactor cannot be
restarted, so a long-lived scheduler could run only one CrawlerProcess in its lifetime; a subprocess can be
killed when it passes ``crawl.run_timeout_seconds`` (a hung TLS handshake or a parser stuck on a huge page
cannot stall the scheduler, DESIGN.md invariant 4); the 45 MB ePing workbook and any leak die with it; and it
is exactly what ``scrapy crawl`` does, so the spiders behave the same by hand and in production. The cost is
a second or so of start-up per crawl, nothing next to the politeness delays.

The crawl records its own run in the store (:class:`crawlers.pipelines.IngestPipeline`); this module only
reads the summary file back, and records a failed run itself when the subprocess had to be killed.

>>> summary = run_crawl("wto_news", load_settings(), base_url="http://127.0.0.1:8765")   # doctest: +SKIP
>>> summary.as_dict()                                                                    # doctest: +SKIP
{'source': 'wto_news', 'items': 17, 'new': 17, 'changed': 0, 'quarantined': 0, 'errors': 0, ...}
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from crawlers.errors import CrawlRunError, SpiderArgumentError
from crawlers.sources import SOURCES_FILE, Source, check_base_url, load_sources
from tbtwatch.settings import REPO_ROOT, Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)
#: Seconds a crawl gets to shut down cleanly (and record its run) after the timeout, before it is stopped.
GRACE_SECONDS = 30


@dataclass
class CrawlSummary:
    """What one crawl did (the counters of its source run)."""

    source: str
    items: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    errors: int = 0
    status: str = "ok"
    run_id: int | None = None
    messages: list[str] = field(default_factory=list)
    fallback_from: str | None = None
    log_file: str = ""
    #: Wall time of the crawl in seconds, the subprocess's start-up included.
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The summary ``tbtwatch crawl --json`` prints."""
        out: dict[str, Any] = {
            "source": self.source,
            "items": self.items,
            "new": self.new,
            "changed": self.changed,
            "quarantined": self.quarantined,
            "errors": self.errors,
            "unchanged": self.unchanged,
            "status": self.status,
            "seconds": round(self.seconds, 2),
        }
        if self.fallback_from:
            out["fallback_from"] = self.fallback_from
        return out


def resolve_source(name: str, settings: Settings) -> tuple[Source, str | None]:
    """The source to crawl, and the name it replaces when ``eping_api`` falls back for lack of a key."""
    # the spider checks its own options when the crawl starts; importing every spider here would only add
    # Scrapy's import time to each run
    sources = load_sources(settings.config_dir / SOURCES_FILE, check_options=False)
    source = sources.get(name)
    if source is None:
        raise SpiderArgumentError(f"unknown source {name!r}. Fix: use one of {', '.join(sorted(sources))}.")
    fallback = source.options.get("fallback_source") if source.spider == "eping_api" else None
    if fallback and settings.secrets.eping_api_key is None:
        if fallback not in sources:
            raise SpiderArgumentError(f"source {name!r} falls back to unknown source {fallback!r}.")
        log.warning("no ePing API key (TBTWATCH_EPING_API_KEY): crawling %s instead of %s", fallback, name)
        return sources[fallback], name
    return source, None


def run_crawl(
    name: str,
    settings: Settings,
    *,
    base_url: str | None = None,
    since: date | str | None = None,
    output: str | Path | None = None,
    scrapy_settings: dict[str, Any] | None = None,
    spider_args: dict[str, str] | None = None,
    timeout: float | None = None,
    grace: float = GRACE_SECONDS,
    cancel: threading.Event | None = None,
) -> CrawlSummary:
    """Crawl one source through the ingest path and return its summary.

    ``cancel`` (the scheduler's shutdown event) stops the crawl cleanly when it is set; the crawl then runs
    in its own session, so that a Ctrl-C meant for the scheduler reaches it only through this path.
    """
    started = time.monotonic()
    source, fallback_from = resolve_source(name, settings)
    if base_url is not None:
        try:
            check_base_url(base_url)
        except ValueError as exc:
            raise SpiderArgumentError(f"--base-url: {exc}") from exc
    if isinstance(since, str) and since:
        try:
            since = date.fromisoformat(since)
        except ValueError as exc:
            raise SpiderArgumentError(f"--since {since!r} is not a date. Fix: give YYYY-MM-DD.") from exc
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"crawl-{source.name}.log"
    limit = float(timeout if timeout is not None else settings.crawl.run_timeout_seconds)
    with tempfile.TemporaryDirectory(prefix="tbtwatch-crawl-") as tmp:
        summary_file = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "scrapy", "crawl", source.spider, "-a", f"source={source.name}"]
        if base_url:
            cmd += ["-a", f"base_url={base_url.rstrip('/')}"]
        if since:
            cmd += ["-a", f"since={since}"]
        for key, value in (spider_args or {}).items():
            cmd += ["-a", f"{key}={value}"]
        overrides = {
            "TBTWATCH_SUMMARY_FILE": str(summary_file),
            "TBTWATCH_OUTPUT": str(Path(output).resolve()) if output else "",
            "LOG_FILE": str(log_file),
            "LOG_FILE_APPEND": "False",
            "TBTWATCH_STOP_GRACE": str(grace),
            **(scrapy_settings or {}),
        }
        for key, value in overrides.items():
            cmd += ["-s", f"{key}={value}"]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        env["TBTWATCH_HOME"] = str(settings.home)
        env["TBTWATCH_CONFIG_DIR"] = str(settings.config_dir)
        env["SCRAPY_SETTINGS_MODULE"] = "crawlers.settings"
        last_run = _last_run_id(settings)
        log.info("crawling %s (spider %s), log in %s", source.name, source.spider, log_file)
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=cancel is not None,
        )
        try:
            done = _wait(proc, limit, cancel)
        except subprocess.TimeoutExpired:
            out, err = _stop(proc, grace)
            _record_kill(settings, source.name, last_run, f"killed after the run timeout of {limit:.0f} s")
            raise CrawlRunError(
                f"crawl of {source.name} ran past {limit:.0f} s and was stopped; log: {log_file}"
            ) from None
        if done is None:
            out, err = _stop(proc, grace)
            _record_stop(settings, source.name, last_run)
            raise CrawlRunError(f"crawl of {source.name} was stopped: the service is shutting down")
        out, err = done
        if not summary_file.exists():
            error = _last_error(err or out or _tail(log_file))
            # a crash before the pipeline opened (or closed) its run is a failed run too: source health
            # counts failures from the recorded runs
            _record_kill(settings, source.name, last_run, f"crashed (exit code {proc.returncode}): {error}")
            raise CrawlRunError(
                f"crawl of {source.name} failed (exit code {proc.returncode}) before recording a run: {error}"
            )
        data = json.loads(summary_file.read_text(encoding="utf-8"))
    return CrawlSummary(
        source=data["source"],
        items=data["items"],
        new=data["new"],
        changed=data["changed"],
        unchanged=data["unchanged"],
        quarantined=data["quarantined"],
        errors=data["errors"],
        status=data["status"],
        run_id=data.get("run_id"),
        messages=list(data.get("messages") or []),
        fallback_from=fallback_from,
        log_file=str(log_file),
        seconds=time.monotonic() - started,
    )


def _wait(
    proc: subprocess.Popen[str], limit: float, cancel: threading.Event | None
) -> tuple[str, str] | None:
    """The process's output once it exits; None when ``cancel`` was set first; TimeoutExpired after
    ``limit`` seconds."""
    if cancel is None:
        return proc.communicate(timeout=limit)
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(proc.args, limit)
        try:
            # communicate() may be called again after a timeout without losing output
            return proc.communicate(timeout=min(0.5, left))
        except subprocess.TimeoutExpired:
            if cancel.is_set():
                return None


def _stop(proc: subprocess.Popen[str], grace: float) -> tuple[str, str]:
    # A first SIGINT makes Scrapy close the spider cleanly (the pipeline records the run) once the requests in
    # flight end; a second one stops it at once; a process that still does not exit is killed.
    for signum, wait in ((signal.SIGINT, grace), (signal.SIGINT, 5.0)):
        proc.send_signal(signum)
        try:
            return proc.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    return proc.communicate()


def _last_run_id(settings: Settings) -> int:
    with Store.open(settings.store_path) as store:
        runs = store.runs(limit=1)
    return runs[0].id if runs else 0


def _record_kill(settings: Settings, source: str, after: int, message: str) -> None:
    """Mark the runs of a stopped crawl failed, with the reason; record a failed run when it opened none."""
    with Store.open(settings.store_path) as store:
        mine = [run for run in store.runs(source, limit=5) if run.id > after]
        if not mine:
            run_id = store.start_run(source)
            store.finish_run(run_id, status="failed", message=message[:2000], errors=1)
            return
        for run in mine:
            # a spider that closed itself on the first SIGINT recorded "crawl ended early": say why
            store.finish_run(
                run.id,
                status="failed",
                message=f"{message}; {run.message}"[:2000] if run.message else message[:2000],
                items=run.items,
                new=run.new,
                changed=run.changed,
                unchanged=run.unchanged,
                quarantined=run.quarantined,
                errors=run.errors + (1 if run.finished_at is None else 0),
            )


def _record_stop(settings: Settings, source: str, after: int) -> None:
    """Mark the runs of a crawl stopped at shutdown ``stopped``: neither a success nor a failure."""
    note = "stopped: the service is shutting down"
    with Store.open(settings.store_path) as store:
        for run in store.runs(source, limit=5):
            if run.id > after:
                store.finish_run(
                    run.id,
                    status="stopped",
                    message=f"{note}; {run.message}"[:2000] if run.message else note,
                    items=run.items,
                    new=run.new,
                    changed=run.changed,
                    unchanged=run.unchanged,
                    quarantined=run.quarantined,
                    errors=run.errors,
                )


_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit)): (.*)$")


def _last_error(text: str) -> str:
    """The last ``SomeError: message`` of a traceback (with its continuation lines), or the last lines."""
    lines = text.strip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        m = _ERROR_LINE.match(lines[i])
        if m:
            return " ".join([f"{m[1]}: {m[2]}", *(ln.strip() for ln in lines[i + 1 :])]).strip()
    return "\n".join(lines[-8:])


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-4000:]
    except OSError:
        return ""
