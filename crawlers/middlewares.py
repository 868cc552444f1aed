"""Downloader middlewares: retries with exponential backoff, and an offsite filter that reports what it drops.

:data:`offsite_filtered` is the signal the second one sends (``request``, ``origin``, ``reason``); the ingest
pipeline counts each as an error of the run, because a redirect to another domain means the site changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from scrapy import Request, Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

log = logging.getLogger(__name__)

#: Sent with ``request``, ``origin`` (the page that redirected, if any) and ``reason`` per dropped request.
offsite_filtered = object()


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware (5xx, 408, 429, timeouts, lost connections) with a wait before each retry:
    ``RETRY_BACKOFF_BASE * 2 ** (attempt - 1)`` seconds, at most ``RETRY_BACKOFF_MAX``, honouring a
    ``Retry-After`` header in seconds when the server sends a longer one.

    The wait happens before the retried request enters its download slot, so it does not hold the slot
    (other requests to the site still wait for the politeness delay, not for the backoff).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.cap = crawler.settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        if self.base < 0 or self.cap < 0:
            raise NotConfigured("RETRY_BACKOFF_BASE and RETRY_BACKOFF_MAX must not be negative")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        """Build from the crawler's settings."""
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """Retry a retryable status after a backoff (see the class docstring)."""
        result = super().process_response(request, response)
        if isinstance(result, Request):
            self._schedule_wait(result, response.headers.get(b"Retry-After"))
        return result

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        """Retry a retryable exception (timeout, lost connection) after a backoff."""
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            self._schedule_wait(result, None)
        return result

    async def process_request(self, request: Request) -> None:
        """Wait the backoff of a retried request once, before it is downloaded."""
        wait = request.meta.pop("backoff_wait", 0.0)
        if wait > 0:
            await asyncio.sleep(wait)

    def _schedule_wait(self, retry: Request, retry_after: bytes | None) -> None:
        attempt = int(retry.meta.get("retry_times", 1))
        wait = min(self.cap, self.base * 2 ** (attempt - 1))
        if retry_after and retry_after.strip().isdigit():
            wait = max(wait, min(self.cap, float(retry_after.strip())))
        retry.meta["backoff_wait"] = wait
        log.debug("retry %d of %s in %.1f s", attempt, retry.url, wait)


class ReportingOffsiteMiddleware(OffsiteMiddleware):
    """Scrapy's offsite filter (requests and redirects to hosts outside ``allowed_domains`` are not followed)
    that also sends :data:`offsite_filtered`, since Scrapy drops a filtered request without its errback."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        """Filter like Scrapy, and report what was filtered."""
        try:
            super().process_request(request)
        except IgnoreRequest as exc:
            redirects = request.meta.get("redirect_urls") or []
            origin = redirects[0] if redirects else None
            self.crawler.signals.send_catch_log(
                offsite_filtered, request=request, origin=origin, reason=str(exc)
            )
            raise
