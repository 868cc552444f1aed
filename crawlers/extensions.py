"""Extension: AutoThrottle with a higher delay floor for government sites."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle whose delay never drops below ``GOVERNMENT_MIN_DELAY`` for hosts ending in one of
    ``GOVERNMENT_DOMAINS`` (``gov.cn``, ``wto.org``, ...), and never below ``DOWNLOAD_DELAY`` elsewhere.

    Scrapy's AutoThrottle has one floor for every site; government sites get a longer one because they are
    the sources we depend on and the ones least able to absorb a crawler.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.gov_delay = crawler.settings.getfloat("GOVERNMENT_MIN_DELAY", 2.0)
        self.gov_domains = tuple(
            d.lower().lstrip(".") for d in crawler.settings.getlist("GOVERNMENT_DOMAINS")
        )
        crawler.signals.connect(self._request_reached, signal=signals.request_reached_downloader)

    def floor(self, host: str) -> float:
        """The lowest delay allowed for a host."""
        host = host.lower()
        for domain in self.gov_domains:
            if host == domain or host.endswith("." + domain):
                return max(self.mindelay, self.gov_delay)
        return self.mindelay

    def _request_reached(self, request: Request, spider: Spider) -> None:
        # a new slot starts at the global start delay: lift it to the floor before its first wait
        key, slot = self._get_slot(request, spider)
        if slot is not None and key is not None:
            slot.delay = max(slot.delay, self.floor(key))

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response)
        slot.delay = max(slot.delay, self.floor(urlsplit(response.url).hostname or ""))
