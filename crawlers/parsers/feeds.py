"""RSS and Atom feeds through feedparser, for the ``feeds`` and ``wto_news`` spiders."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import feedparser

from crawlers.errors import ParseError
from crawlers.items import NewsItem
from crawlers.parsers.common import absolute
from tbtwatch import normalise


@dataclass
class FeedPage:
    """Entries of one feed, and the feed's own language if it declares one."""

    items: list[NewsItem] = field(default_factory=list)
    language: str | None = None
    warning: str | None = None  # feedparser's complaint about a feed it could still read


def parse_feed(
    body: bytes,
    url: str,
    content_type: bytes | str | None = None,
    *,
    language: str | None = None,
    region: str = "",
    member: str | None = None,
    tags: list[str] | None = None,
) -> FeedPage:
    """Items of an RSS/Atom document; raise ParseError when it is not a feed at all."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = (
            content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
        )
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except (
        Exception
    ) as exc:  # feedparser promises not to raise; if it does, the page is still only unparseable
        raise ParseError(f"feed cannot be parsed: {type(exc).__name__}: {exc}") from exc
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries and (problem is not None or not parsed.get("version")):
        # version is empty when no rss/feed/rdf root was found: an HTML error page served as a feed
        reason = (
            f"{type(problem).__name__}: {problem}" if problem is not None else "no rss, feed or rdf element"
        )
        raise ParseError(f"not an RSS or Atom feed ({str(reason)[:200]})")
    feed_lang = _lang(parsed.get("feed", {}).get("language"))
    page = FeedPage(language=feed_lang, warning=str(problem)[:200] if problem is not None else None)
    for entry in entries:
        page.items.append(_item(entry, url, language or feed_lang, region, member, tags or []))
    return page


def _item(
    entry: Any, feed_url: str, language: str | None, region: str, member: str | None, tags: list[str]
) -> NewsItem:
    link = _str(entry.get("link"))
    if not link:
        for candidate in entry.get("links") or []:
            if isinstance(candidate, dict) and candidate.get("href"):
                link = _str(candidate["href"])
                break
    if not link and _str(entry.get("id")).startswith(("http://", "https://")):
        link = _str(entry.get("id"))
    summary = _str(entry.get("summary"))
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        summary = _str(content[0].get("value")) or summary
    entry_tags = [
        normalise.clean_text(t.get("term"))
        for t in entry.get("tags") or []
        if isinstance(t, dict) and t.get("term")
    ]
    return NewsItem(
        url=absolute(link, feed_url),
        title=normalise.html_to_text(_str(entry.get("title"))),
        published=_published(entry),
        body=normalise.html_to_text(summary),
        language=language,
        member=member,
        region=region,
        tags=list(dict.fromkeys([*tags, *entry_tags])),
    )


def _published(entry: Any) -> str | None:
    # the entry's own keys only: feedparser answers a missing "updated_parsed" with "published_parsed" and a
    # DeprecationWarning (its issue 310), which an entry with an unreadable pubDate has as None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = _own(entry, key)
        if isinstance(value, time.struct_time):
            return time.strftime("%Y-%m-%d", value)
    for key in ("published", "updated", "created", "dc_date"):
        text = _str(_own(entry, key))
        if text:
            return text
    return None


def _own(entry: Any, key: str) -> Any:
    return dict.get(entry, key) if isinstance(entry, dict) else None


def _lang(value: Any) -> str | None:
    text = _str(value).lower()[:2]
    return text if len(text) == 2 and text.isalpha() else None


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
