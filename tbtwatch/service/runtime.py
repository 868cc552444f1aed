"""What the jobs of one service process share: settings, the stop signals, locks and the running jobs.

The job store keeps jobs as ``module:function`` names with plain arguments, so a job finds its context here
rather than in its arguments. Outside ``tbtwatch serve`` (``--once``, tests) a context is made on first use.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tbtwatch.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Shared state of the jobs of one process."""

    settings: Settings
    #: set on SIGTERM/SIGINT: no job starts any more, crawls stop now (cleanly)
    stopping: threading.Event = field(default_factory=threading.Event)
    #: set when ``scheduler.shutdown_grace_seconds`` is over: subprocess jobs are ended now
    deadline: threading.Event = field(default_factory=threading.Event)
    #: digests, reminders and operator alarms build and send one at a time
    alerts_lock: threading.Lock = field(default_factory=threading.Lock)
    #: source-health checks read and write alarm state one at a time
    health_lock: threading.Lock = field(default_factory=threading.Lock)
    _running: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def running(self, job_id: str) -> Iterator[None]:
        """Mark ``job_id`` as running while the block runs."""
        with self._lock:
            self._running[job_id] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(job_id, None)

    def running_jobs(self) -> dict[str, float]:
        """Job id -> seconds it has been running."""
        now = time.monotonic()
        with self._lock:
            return {job: now - started for job, started in self._running.items()}


_current: Runtime | None = None
_guard = threading.Lock()


def install(runtime: Runtime) -> Runtime:
    """Make ``runtime`` the context of the jobs of this process."""
    global _current
    with _guard:
        _current = runtime
    return runtime


def current() -> Runtime:
    """The installed context, or a new one from the settings of the environment."""
    global _current
    with _guard:
        if _current is None:
            _current = Runtime(load_settings())
        return _current


def reset() -> None:
    """Forget the installed context (the next :func:`current` loads settings again)."""
    global _current
    with _guard:
        _current = None
