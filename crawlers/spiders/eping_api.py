"""WTO ePing API: TBT and SPS notifications, incremental by distribution-date windows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.items import EpingRecord, FetchFailure
from crawlers.parsers.eping_api import DOMAIN_IDS, parse_search_page, to_record
from tbtwatch.settings import SECRET_ENV, load_settings

KEY_HEADER = "Ocp-Apim-Subscription-Key"


def _both_domains() -> list[Literal["tbt", "sps"]]:
    return ["tbt", "sps"]


class Options(BaseModel):
    """Options of the eping_api spider."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("/eping/notifications/search", description="search endpoint path on base_url")
    language: int = Field(1, ge=1, le=3, description="1 English, 2 French, 3 Spanish")
    domains: list[Literal["tbt", "sps"]] = Field(default_factory=_both_domains, description="TBT/SPS")
    window_days: int = Field(7, ge=1, le=366, description="days per distribution-date window")
    page_size: int = Field(100, ge=1, le=1000, description="notifications per page")
    lookback_days: int = Field(
        30, ge=1, description="first run without saved state: start this many days back"
    )
    overlap_days: int = Field(3, ge=0, description="re-read this many days before the last run's end")
    until: date | None = Field(None, description="last distribution date to fetch (default today)")
    split_over: int = Field(5000, ge=1, description="split a window whose result count exceeds this")
    fallback_source: str | None = Field(
        "eping_workbook", description="source `tbtwatch crawl` runs instead when no API key is set"
    )


class EpingApiSpider(BaseSpider):
    """
    Source
      WTO ePing API, ``GET https://api.wto.org/eping/notifications/search``: TBT and SPS notifications
      (English). The subscription key comes from the environment (``TBTWATCH_EPING_API_KEY``) and is sent in
      the ``Ocp-Apim-Subscription-Key`` header; it is never written to settings, logs or items.
    Arguments
      base_url
        Scheme and host of the API (default ``https://api.wto.org``).
      since
        First distribution date to fetch, YYYY-MM-DD. Default: the end of the last successful run minus
        ``overlap_days`` (state kept in the store), or ``lookback_days`` ago on the first run.
      until
        Last distribution date to fetch (default: today, UTC).
      domains
        ``tbt``, ``sps`` or both (comma-separated on the command line); one query per domain.
      window_days
        Length of each distribution-date window (default 7).
      page_size
        Page size asked for (default 100); the page size the API reports back is what pages are counted by.
      split_over
        A window with more results than this is split in two, down to single days.
      lookback_days
        Days back of the first run when there is no saved state and no ``since``.
      overlap_days
        Days re-read before the last run's end, for late-indexed notifications (default 3).
      path
        Path of the search endpoint on ``base_url``.
      language
        1 English (default), 2 French, 3 Spanish.
      fallback_source
        The source ``tbtwatch crawl`` runs instead when no API key is configured (``eping_workbook``).
    Caveats
      Results are not ordered by date, so paging one big result set is unsafe while new notifications arrive;
      the spider pages through bounded date windows instead, each window completely. The list key of the
      response is not confirmed (``items`` in the sibling endpoint; ``notifications``, ``results`` and
      ``data`` are accepted too). Windows overlap by one day because the inclusiveness of
      ``distributionDateTo`` is not documented; repeated items are dropped within a run. The saved state moves
      forward only after a run without errors. Joint notifications (several symbols in ``documentSymbol``)
      give one notice per symbol.
    """

    name = "eping_api"
    default_base_url = "https://api.wto.org"
    Options = Options

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[str] = set()
        self._key = ""
        self._start: date | None = None
        self._end: date | None = None

    def window(self) -> tuple[date, date]:
        """The distribution dates this run covers."""
        today = datetime.now(UTC).date()
        end = self.options.until or today
        if self.since is not None:
            start = self.since
        elif self.crawl_state.get("until"):
            start = date.fromisoformat(self.crawl_state["until"]) - timedelta(days=self.options.overlap_days)
        else:
            start = today - timedelta(days=self.options.lookback_days)
        return min(start, end), end

    def initial_requests(self) -> Iterable[Any]:
        """Page 1 of every window and domain."""
        secret = load_settings().secrets.eping_api_key
        search = self.url(self.options.path)
        if secret is None:
            yield FetchFailure(url=search, reason=f"no ePing API key: set {SECRET_ENV['eping_api_key']}")
            return
        self._key = secret.get_secret_value()
        self._start, self._end = self.window()
        self.logger.info("ePing windows from %s to %s", self._start, self._end)
        step = self.options.window_days
        for domain in self.options.domains:
            lo = self._start
            while True:
                hi = min(lo + timedelta(days=step), self._end)
                yield self.page(domain, lo, hi, 1)
                if hi >= self._end:
                    break
                lo = hi  # one day of overlap: the end of the window may be exclusive

    def page(self, domain: str, lo: date, hi: date, number: int) -> Any:
        """Request one page of one window."""
        params = {
            "language": self.options.language,
            "domainIds": DOMAIN_IDS[domain],
            "distributionDateFrom": lo.isoformat(),
            "distributionDateTo": hi.isoformat(),
            "page": number,
            "pageSize": self.options.page_size,
        }
        return self.request(
            f"{self.url(self.options.path)}?{urlencode(params)}",
            self.parse_page,
            headers={KEY_HEADER: self._key, "Accept": "application/json"},
            meta={"domain": domain, "window": (lo, hi), "page": number},
        )

    def parse_page(self, response: Response) -> Iterator[Any]:
        """Records of one page; page 1 also asks for the window's other pages (or splits the window)."""
        try:
            page = parse_search_page(response.body)
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        domain, (lo, hi), number = response.meta["domain"], response.meta["window"], response.meta["page"]
        total = page.total_count
        if number == 1 and total is not None and total > self.options.split_over and hi > lo:
            middle = lo + timedelta(days=(hi - lo).days // 2)
            self.logger.info("window %s..%s has %d results: splitting", lo, hi, total)
            yield self.page(domain, lo, middle, 1)
            yield self.page(domain, middle + timedelta(days=1), hi, 1)
            return
        if page.skipped:
            yield self.problem(response, f"{page.skipped} entries of the list are not JSON objects")
        for item in page.items:
            key = str(item.get("id") or "") or f"{item.get('documentSymbol')}|{item.get('title')}"
            if key in self._seen:
                continue
            self._seen.add(key)
            yield EpingRecord(record=to_record(item), url=response.url)
        size = page.page_size or self.options.page_size
        if number == 1 and total is not None:
            for n in range(2, math.ceil(total / size) + 1):
                yield self.page(domain, lo, hi, n)
        elif total is None and len(page.items) >= size:
            # no total in the response: keep going until a short page
            yield self.page(domain, lo, hi, number + 1)

    def state_after_success(self) -> dict[str, Any] | None:
        """Move ``until`` forward when this run joined up with the saved one (a backfill of older dates
        leaves it alone)."""
        if self._start is None or self._end is None:
            return None
        saved = self.crawl_state.get("until")
        if saved and (self._start > date.fromisoformat(saved) or self._end <= date.fromisoformat(saved)):
            return None
        return {**self.crawl_state, "until": self._end.isoformat(), "since": self._start.isoformat()}
