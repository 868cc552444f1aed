"""Generic RSS/Atom feeds listed in config/sources.yaml, with language and region tags."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from scrapy.http import Response

from crawlers.base import BaseSpider
from crawlers.errors import ParseError
from crawlers.parsers.feeds import parse_feed
from crawlers.sources import check_base_url
from tbtwatch import members


class Feed(BaseModel):
    """One feed of the ``feeds`` source."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$", description="short name, used in logs")
    url: str = Field(description="absolute URL of the RSS or Atom feed")
    language: str = Field("en", pattern=r"^[a-z]{2}$", description="language of the items")
    region: str = Field("", description="region tag, e.g. ASEAN, GCC, EU, international")
    member: str | None = Field(None, description="WTO member code when the feed is one member's (e.g. EU)")
    tags: list[str] = Field(default_factory=list, description="keywords added to every item")
    enabled: bool = Field(True, description="false keeps the entry without fetching it")
    note: str = Field("", description="free text for operators (e.g. why a feed is disabled)")

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        parts = urlsplit(v)
        check_base_url(urlunsplit((parts.scheme, parts.netloc, "", "", "")))
        return v

    @field_validator("member")
    @classmethod
    def _check_member(cls, v: str | None) -> str | None:
        if v is not None and members.resolve(v) != v:
            raise ValueError(f"{v!r} is not a WTO member code (e.g. EU, USA, CHN)")
        return v


class Options(BaseModel):
    """Options of the feeds spider."""

    model_config = ConfigDict(extra="forbid")

    feeds: list[Feed] = Field(default_factory=list, description="the feeds to read")


class FeedsSpider(BaseSpider):
    """
    Source
      Any RSS 2.0 or Atom feed listed under ``options.feeds`` of a ``feeds`` source in ``config/sources.yaml``
      (ISO, EUR-Lex, ASEAN, national standards bodies), read with feedparser. Each feed has a name, URL,
      language, region tag, optional WTO member and tags, which every item of the feed carries.
    Arguments
      base_url
        A mirror: each feed is fetched from ``base_url/<feed host><feed path>`` (for example
        ``http://127.0.0.1:8765/asean.org/feed/``). Default: none, the feed URLs as configured.
      since
        Skip entries published before this date (YYYY-MM-DD).
      feeds
        The feeds, as a JSON list on the command line (normally given in sources.yaml).
    Caveats
      The feed URLs in ``config/sources.yaml`` could not be checked from the build machine; a wrong one shows
      as a fetch error of the run and in the source-health check. Entries without any date are quarantined
      (the date drives alerts and deadlines). Allowed domains are the feeds' hosts.
    """

    name = "feeds"
    Options = Options

    def feed_url(self, feed: Feed) -> str:
        """The feed's URL; with a mirror, ``base_url`` + ``/<feed host>`` + the feed's path and query."""
        if not self.mirror:
            return feed.url
        parts = urlsplit(feed.url)
        base = urlsplit(self.base_url)
        # the host becomes the first path segment: feeds of different sites often share a path (/feed/)
        path = f"{base.path.rstrip('/')}/{parts.hostname}{parts.path or '/'}"
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def domains(self) -> list[str]:
        """The hosts of the enabled feeds."""
        hosts = {urlsplit(self.feed_url(f)).hostname for f in self.options.feeds if f.enabled}
        return sorted(h for h in hosts if h)

    def initial_requests(self) -> Iterable[Any]:
        """Every enabled feed."""
        for feed in self.options.feeds:
            if feed.enabled:
                yield self.request(self.feed_url(feed), self.parse_feed, meta={"feed": feed.name})

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """The feed's recent entries, tagged from its configuration."""
        feed = next(f for f in self.options.feeds if f.name == response.meta["feed"])
        try:
            page = parse_feed(
                response.body,
                response.url,
                self.content_type(response),
                language=feed.language,
                region=feed.region,
                member=feed.member,
                tags=feed.tags,
            )
        except ParseError as exc:
            yield self.problem(response, str(exc))
            return
        if page.warning:
            self.logger.info("feed %s read despite: %s", feed.name, page.warning)
        for item in page.items:
            if self.is_recent(item.published):
                yield item
