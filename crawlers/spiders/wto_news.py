"""WTO news: the yearly news data file and the latest-news RSS feed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.parsers.common import canonical_url, decode_html
from crawlers.parsers.feeds import parse_feed
from crawlers.parsers.wto_news import parse_news_data


class Options(BaseModel):
    """Options of the wto_news spider."""

    model_config = ConfigDict(extra="forbid")

    rss_path: str = Field("/library/rss/latest_news_e.xml", description="latest-news RSS path")
    data_path: str = Field("/library/news/news_{year}_e.js", description="yearly data file path ({year})")
    years: list[int] = Field(
        default_factory=list, description="data-file years (default: since's year to now)"
    )
    subjects: list[str] = Field(
        default_factory=list, description="keep only these ni_subject codes (empty: all)"
    )


class WtoNewsSpider(BaseSpider):
    """
    Source
      WTO news at www.wto.org: the yearly data file ``/library/news/news_{YEAR}_e.js``
      (``news_item[N] = {...}`` entries with date, headline, introduction, subjects, country and links) and
      the RSS feed ``/library/rss/latest_news_e.xml`` read with feedparser.
    Arguments
      base_url
        Scheme and host of the WTO site (default ``https://www.wto.org``).
      since
        Skip items published before this date (YYYY-MM-DD); also the first data-file year fetched.
      years
        Data-file years to fetch, comma-separated (default: from the year of ``since``, or this year, to now).
      subjects
        Keep only items with one of these ``ni_subject`` codes (e.g. ``TBT,SPS``); default keeps every item.
      rss_path
        Path of the RSS feed.
      data_path
        Path of the yearly data file, with ``{year}``.
    Caveats
      Data files are fetched one after the other and before the feed: an RSS entry whose article is already in
      a data file is skipped, so one article never gets two versions from two texts. An entry without a link
      is identified by the data file URL and its entry number. The date is the first of ``ni_date``'s
      ``#``-separated dates; embargoed entries are kept as published in the file. RSS entries carry no
      subjects, so ``subjects`` filters data-file items only.
    """

    name = "wto_news"
    default_base_url = "https://www.wto.org"
    Options = Options

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known: set[str] = set()
        self._years: list[int] = []

    def initial_requests(self) -> Iterable[Any]:
        """The first data file (the others and the feed follow it)."""
        this_year = datetime.now(UTC).year
        first = self.since.year if self.since else this_year
        self._years = list(self.options.years) or list(range(first, this_year + 1))
        yield self.next_request()

    def next_request(self) -> Any:
        """The next data file, or the feed once every data file is done."""
        if self._years:
            year = self._years.pop(0)
            url = self.url(self.options.data_path.format(year=year))
            return self.request(url, self.parse_data, errback=self.on_data_error)
        return self.request(self.url(self.options.rss_path), self.parse_rss)

    def parse_data(self, response: Response) -> Iterator[Any]:
        """Items of one data file."""
        try:
            data = parse_news_data(
                decode_html(response.body, self.content_type(response)), response.url, self.base_url
            )
        except ParseError as exc:
            yield self.problem(response, str(exc))
        else:
            for reason in data.problems:
                yield self.problem(response, reason)
            wanted = {s.upper() for s in self.options.subjects}
            for item in data.items:
                self._known.add(canonical_url(item.url))
                if wanted and not wanted.intersection(t.upper() for t in item.tags):
                    continue
                if self.is_recent(item.published):
                    yield item
        yield self.next_request()

    def on_data_error(self, failure: Failure) -> Iterator[Any]:
        """A data file failed: record it and go on with the next one."""
        yield from self.on_error(failure)
        yield self.next_request()

    def parse_rss(self, response: Response) -> Iterator[Any]:
        """Feed entries not already read from a data file."""
        try:
            page = parse_feed(
                response.body, response.url, self.content_type(response), language="en", region="WTO"
            )
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        for item in page.items:
            if canonical_url(item.url) in self._known or not self.is_recent(item.published):
                continue
            yield item
