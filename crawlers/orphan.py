"""Extension: a crawl whose parent died (the service was SIGKILLed or OOM-killed) stops itself.

The runner enforces a crawl's timeout from the parent process; a crawl runs in its own session, so it
survives the death of its service, and without this a hung crawl would then run on unwatched (a request
hanging past ``DOWNLOAD_TIMEOUT`` is retried: minutes). Once a second the crawl checks its parent; when it
has changed, the crawl stops the way the runner stops it: SIGINT (Scrapy closes the spider once the requests
in flight end), a second SIGINT after ``TBTWATCH_STOP_GRACE`` seconds, SIGKILL 5 s later.

Nobody is left to record why the crawl ended, so it tells the ingest pipeline through two signals: it sends
:data:`crawl_orphaned` before the first SIGINT (the run then closes as ``stopped``, as at a service shutdown,
not ``failed``: the source did nothing wrong) and :data:`crawl_abandoned` before the second one (which ends
the process without closing the spider: the pipeline closes the run as ``stopped`` there and then).
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

#: Sent (no arguments) when the parent is gone, before the crawl is asked to stop.
crawl_orphaned = object()
#: Sent (argument ``grace``: the seconds waited) before the crawl is stopped without closing its spider.
crawl_abandoned = object()


class OrphanWatch:
    """Stops the crawl when its parent process is gone."""

    def __init__(self, crawler: Crawler, grace: float) -> None:
        self.crawler = crawler
        self.grace = grace
        self.parent = os.getppid()
        self.loop: task.LoopingCall | None = None
        self.fired = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OrphanWatch:
        """Scrapy's constructor hook."""
        ext = cls(crawler, crawler.settings.getfloat("TBTWATCH_STOP_GRACE", 30.0))
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
        self.crawler.signals.send_catch_log(crawl_orphaned)
        os.kill(pid, signal.SIGINT)
        clock = cast(Any, reactor)  # the installed reactor provides IReactorTime
        clock.callLater(self.grace, self.force, pid)
        clock.callLater(self.grace + 5.0, os.kill, pid, signal.SIGKILL)

    def force(self, pid: int) -> None:
        """The crawl did not close within the grace: let the run be recorded, then stop the process."""
        log.warning(
            "the crawl did not stop within %.0f s: stopping it without closing the spider", self.grace
        )
        self.crawler.signals.send_catch_log(crawl_abandoned, grace=self.grace)
        os.kill(pid, signal.SIGINT)
