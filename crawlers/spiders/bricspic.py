"""BRICS standardization information platform (bricspic.org): news detail pages walked by rowId."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.parsers.bricspic import DEFAULT_BODY_CSS, DEFAULT_DATE_CSS, DEFAULT_TITLE_CSS, parse_detail


class Options(BaseModel):
    """Options of the bricspic spider."""

    model_config = ConfigDict(extra="forbid")

    detail_path: str = Field(
        "/En/Pages/Home/NewsDetail.aspx?rowId={row_id}", description="detail page ({row_id})"
    )
    language: Literal["en", "zh"] = Field("en", description="language of the pages at detail_path")
    start_row_id: int = Field(469, ge=1, description="first rowId of the first run")
    max_rows: int = Field(100, ge=1, description="rowIds tried per run at most")
    max_misses: int = Field(5, ge=1, description="stop after this many missing rowIds in a row")
    title_css: str = Field(DEFAULT_TITLE_CSS, description="CSS selector of the title")
    date_css: str = Field(DEFAULT_DATE_CSS, description="CSS selector of the date")
    body_css: str = Field(DEFAULT_BODY_CSS, description="CSS selector of the body")


class BricspicSpider(BaseSpider):
    """
    Source
      BRICS standardization information sharing and service platform, http://bricspic.org, run from Zhejiang:
      news detail pages ``/En/Pages/Home/NewsDetail.aspx?rowId=N``.
    Arguments
      base_url
        Scheme and host of the platform (default ``http://bricspic.org``).
      since
        Skip news dated before this date (YYYY-MM-DD); the walk itself is not shortened.
      start_row_id
        First rowId of the first run (default 469, a November 2022 item); later runs continue after the last
        rowId found (state kept in the store).
      max_rows
        RowIds tried per run at most (default 100).
      max_misses
        The walk stops after this many missing rowIds in a row (404, or a page without a title).
      detail_path
        Path of a detail page, with ``{row_id}``.
      language
        Language of those pages (``en``; ``zh`` when pointed at the Chinese pages).
      title_css
        CSS selector of the title.
      date_css
        CSS selector of the date (the first date in the page text after the title is the fallback).
      body_css
        CSS selector of the body.
    Caveats
      No list page format is documented, so the spider walks rowIds one at a time from the last one found; a
      missing rowId is normal at the end of the walk and is not an error. The markup of the live pages was not
      captured: the selectors are options so that a change of the site needs no code change. The fixture pages
      are constructed (real text of rowId 469 from the shared excerpts, markup made up).
    """

    name = "bricspic"
    default_base_url = "http://bricspic.org"
    Options = Options

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._misses = 0
        self._tried = 0
        self._last_found: int | None = None

    def initial_requests(self) -> Iterable[Any]:
        """The first rowId: after the last one found, or ``start_row_id``."""
        last = self.crawl_state.get("last_row_id")
        first = int(last) + 1 if isinstance(last, int) else self.options.start_row_id
        yield self.row(first)

    def row(self, row_id: int) -> Any:
        """The request for one rowId (a 404 is a missing row, not an error)."""
        self._tried += 1
        return self.request(
            self.url(self.options.detail_path.format(row_id=row_id)),
            self.parse_detail,
            errback=self.on_row_error,
            meta={"row_id": row_id, "handle_httpstatus_list": [404]},
        )

    def parse_detail(self, response: Response) -> Iterator[Any]:
        """The news item of one rowId, then the next rowId."""
        row_id = response.meta["row_id"]
        item = None
        if response.status != 404:
            try:
                item = parse_detail(
                    response.body,
                    response.url,
                    self.content_type(response),
                    language=self.options.language,
                    title_css=self.options.title_css,
                    date_css=self.options.date_css,
                    body_css=self.options.body_css,
                )
            except ParseError as exc:
                yield self.problem(response, str(exc))
        if item is None:
            self._misses += 1
        else:
            self._misses = 0
            self._last_found = row_id
            if self.is_recent(item.published):
                yield item
        yield from self.next_row(row_id)

    def on_row_error(self, failure: Failure) -> Iterator[Any]:
        """A rowId that failed for good: an error, and a miss of the walk."""
        yield from self.on_error(failure)
        self._misses += 1
        request = getattr(failure, "request", None)
        if request is not None:
            yield from self.next_row(request.meta["row_id"])

    def next_row(self, row_id: int) -> Iterator[Any]:
        """The next rowId unless the walk is over."""
        if self._misses < self.options.max_misses and self._tried < self.options.max_rows:
            yield self.row(row_id + 1)

    def state_after_success(self) -> dict[str, Any] | None:
        """The last rowId found."""
        if self._last_found is None:
            return None
        return {**self.crawl_state, "last_row_id": self._last_found}
