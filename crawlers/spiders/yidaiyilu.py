"""中国一带一路网 (Belt and Road portal): articles about standards, regulations and certification."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.parsers.yidaiyilu import DEFAULT_TOPICS, on_topic, parse_article, parse_list


class Options(BaseModel):
    """Options of the yidaiyilu spider."""

    model_config = ConfigDict(extra="forbid")

    aliases: list[str] = Field(
        default_factory=lambda: ["zxfb", "yaowen", "qwjd", "zcgh", "sdbwj", "swzn"],
        description="list aliases",
    )
    max_pages: int = Field(3, ge=1, le=100, description="list pages read per alias")
    topic_filter: Literal["title", "content"] = Field("title", description="where topic words are looked for")
    topics: list[str] = Field(default_factory=lambda: list(DEFAULT_TOPICS), description="topic words kept")


class YidaiyiluSpider(BaseSpider):
    """
    Source
      中国一带一路网, https://www.yidaiyilu.gov.cn: list pages ``/list/w/{alias}?page=N``
      ("共 N 页") and articles ``/p/{id}.html`` (title ``h1.news-details-title``, 发布时间 and 来源
      in ``.news-details-desc``, body ``.news-details-content``). Only articles about standards, technical
      regulations, certification, conformity assessment and TBT/SPS are kept.
    Arguments
      base_url
        Scheme and host of the site (default ``https://www.yidaiyilu.gov.cn``; ``https://eng.yidaiyilu.gov.cn``
        for the English edition, whose items get language ``en``).
      since
        Skip articles published before this date (YYYY-MM-DD).
      aliases
        List aliases to read, comma-separated (default ``zxfb,yaowen,qwjd,zcgh,sdbwj,swzn``).
      max_pages
        List pages read per alias (default 3).
      topic_filter
        ``title`` (default): fetch only articles whose list title has a topic word, which keeps the crawl
        small on a site whose pages are about 660 KB; ``content``: fetch every article and look in its text.
      topics
        Topic words (default: 标准化, 国际标准, 技术法规, 认证, 合格评定, 技术性贸易措施, TBT, SPS, ...).
    Caveats
      The site has no RSS. The date is taken from 发布时间, never from the first date in the title (weekly
      reports carry a date range there). A bare 标准 is not a topic word: it also means "grade"
      (四车道标准建设). List page markup beyond the article links and "共 N 页" is not relied on. Articles
      linked from several aliases are fetched once.
    """

    name = "yidaiyilu"
    default_base_url = "https://www.yidaiyilu.gov.cn"
    Options = Options

    def initial_requests(self) -> Iterable[Any]:
        """Page 1 of every alias."""
        for alias in self.options.aliases:
            yield self.list_request(alias, 1)

    def list_request(self, alias: str, page: int) -> Any:
        """One list page."""
        return self.request(
            self.url(f"/list/w/{alias}?page={page}"), self.parse_list, meta={"alias": alias, "page": page}
        )

    def parse_list(self, response: Response) -> Iterator[Any]:
        """Requests for on-topic articles, and for the other list pages."""
        try:
            page = parse_list(response.body, response.url, self.content_type(response))
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        if not page.articles:
            self.logger.info("list page %s has no articles", response.url)
        for url, title in page.articles:
            if self.options.topic_filter == "title" and not on_topic(title, self.options.topics):
                self.crawler.stats.inc_value("yidaiyilu/off_topic")
                continue
            yield self.request(url, self.parse_article)
        if response.meta["page"] == 1 and page.total_pages:
            for n in range(2, min(page.total_pages, self.options.max_pages) + 1):
                yield self.list_request(response.meta["alias"], n)

    def parse_article(self, response: Response) -> Iterator[Any]:
        """The article, when it is on topic and recent enough."""
        try:
            item = parse_article(response.body, response.url, self.content_type(response))
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        found = on_topic(f"{item.title}\n{item.body}", self.options.topics)
        if self.options.topic_filter == "content" and not found:
            self.crawler.stats.inc_value("yidaiyilu/off_topic")
            return
        item.tags.extend(t for t in found if t not in item.tags)
        if self.is_recent(item.published):
            yield item
