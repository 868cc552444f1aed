"""Extension: a crawl whose parent died (the service was SIGKILLed or OOM-killed) stops itself.

The runner enforces a crawl's timeout from the parent process; a crawl runs in its own session, so it
survives the death of its service, and without this a hung crawl would then run on unwatched (a request
hanging past ``DOWNLOAD_TIMEOUT`` is retried: minutes). Once a second the crawl checks its parent; when it
has changed, the crawl stops the way the runner stops it: SIGINT (Scrapy closes the spider and records the
run), a second SIGINT after ``TBTWATCH_STOP_GRACE`` seconds, SIGKILL 5 s later. A run cut short like that is
closed as ``stopped`` by the next start of the service.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import TYPE_CHECKING, Any, cast

from scrapy import signals
from twisted.internet import reactor, task

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)


class OrphanWatch:
    """Stops the crawl when its parent process is gone."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.parent = os.getppid()
        self.loop: task.LoopingCall | None = None
        self.fired = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OrphanWatch:
        """Scrapy's constructor hook."""
        ext = cls(crawler.settings.getfloat("TBTWATCH_STOP_GRACE", 30.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        """Start watching."""
        self.loop = task.LoopingCall(self.check)
        self.loop.start(1.0, now=False)

    def spider_closed(self) -> None:
        """Stop watching."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def check(self) -> None:
        """Stop the crawl once, when the parent changed (this process was re-parented)."""
        if self.fired or os.getppid() == self.parent:
            return
        self.fired = True
        log.warning("the process that started this crawl (pid %d) is gone: stopping the crawl", self.parent)
        pid = os.getpid()
        os.kill(pid, signal.SIGINT)
        clock = cast(Any, reactor)  # the installed reactor provides IReactorTime
        clock.callLater(self.grace, os.kill, pid, signal.SIGINT)
        clock.callLater(self.grace + 5.0, os.kill, pid, signal.SIGKILL)
