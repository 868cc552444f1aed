"""SAMR 每日通报: Chinese titles and product words for new WTO notifications."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.parsers.samr import parse_digest, parse_digest_list


class Options(BaseModel):
    """Options of the samr_daily spider."""

    model_config = ConfigDict(extra="forbid")

    list_path: str = Field(
        "/html/1/tongbaopingyi/tongbaosudi/meiritongbao/index.html", description="digest list page path"
    )
    max_digests: int = Field(10, ge=1, le=200, description="digests read per run, newest first")


class SamrDailySpider(BaseSpider):
    """
    Source
      The SAMR daily digest of new WTO TBT/SPS notifications (每日通报) on the WTO/TBT notification
      platform of 国家市场监督管理总局国家标准技术审评中心, http://wto.sacinfo.org.cn: digest pages
      ``/html/1/tongbaopingyi/tongbaosudi/meiritongbao/{id}.html`` with one table row per notification. Each
      row gives a Chinese title and product words, stored on the notice of the same symbol
      (``store.set_translation``), never as a notice of its own.
    Arguments
      base_url
        Scheme and host of the platform (default ``http://wto.sacinfo.org.cn``).
      since
        Skip digests dated before this date (YYYY-MM-DD).
      list_path
        Path of the page that lists the digests.
      max_digests
        Digests read per run, newest first (default 10).
    Caveats
      Only the digest's summary text is captured in the shared fixtures: the list page path and the table
      layout are constructed, so the table is found by its header words (通报号, 标题, 产品), never by column
      position. The site's pages may be GBK-encoded with a wrong or missing charset header; the decoder tries
      UTF-8, the ``<meta>`` charset, the header and GB18030 in turn. A translation may arrive before its
      notice: it is kept and shows once the notice is stored.
    """

    name = "samr_daily"
    default_base_url = "http://wto.sacinfo.org.cn"
    Options = Options

    def initial_requests(self) -> Iterable[Any]:
        """The digest list."""
        yield self.request(self.url(self.options.list_path), self.parse_list)

    def parse_list(self, response: Response) -> Iterator[Any]:
        """Requests for the newest digests."""
        try:
            links = parse_digest_list(response.body, response.url, self.content_type(response))
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        for link in links[: self.options.max_digests]:
            if self.is_recent(link.date):
                yield self.request(link.url, self.parse_digest)

    def parse_digest(self, response: Response) -> Iterator[Any]:
        """One translation per table row."""
        try:
            digest = parse_digest(response.body, response.url, self.content_type(response))
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        if not self.is_recent(digest.date):
            return
        yield from digest.rows
