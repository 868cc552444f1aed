"""中国一带一路网 (www.yidaiyilu.gov.cn): list pages and articles.

List pages ``/list/w/{alias}?page=N`` link articles as ``/p/<id>.html`` and show the page count as
"共 N 页". Articles (real sample ``yidaiyilu_article_0ODODQPQ.html``): title ``h1.news-details-title``,
``div.news-details-desc .desc-left span`` with "发布时间：2026-04-30" and "来源：...", body
``div.news-details-content``. The date comes from 发布时间, never from a date in the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawlers.items import NewsItem
from crawlers.parsers.common import absolute, attr, block_text, find_date, first, html_selector, text_of
from tbtwatch import normalise

ARTICLE_PATH = re.compile(r"^/p/[0-9A-Za-z_-]+\.html$")
_PAGES = re.compile(r"共\s*(\d{1,5})\s*页")
_PUBLISHED = re.compile(r"发布时间\s*[：:]\s*(.+)")
_SOURCE = re.compile(r"来源\s*[：:]\s*(.+)")
_EDITIONS = {"eng": "en", "fra": "fr", "rus": "ru", "esp": "es", "ara": "ar"}

#: Topics kept by default: standards, technical regulations, certification and conformity, TBT/SPS.
#: Specific compounds rather than a bare 标准, which also means "grade" ("四车道标准建设").
DEFAULT_TOPICS: tuple[str, ...] = (
    "标准化",
    "国际标准",
    "国家标准",
    "行业标准",
    "团体标准",
    "技术标准",
    "标准互认",
    "标准联通",
    "标准体系",
    "标准合作",
    "标准信息",
    "技术法规",
    "认证",
    "认可",
    "合格评定",
    "技术性贸易措施",
    "贸易技术壁垒",
    "技术壁垒",
    "检验检疫",
    "卫生与植物卫生",
    "通报评议",
    "WTO/TBT",
    "TBT",
    "SPS",
    "计量",
)


@dataclass
class ListPage:
    """Articles linked from one list page and the page count it shows."""

    articles: list[tuple[str, str]] = field(default_factory=list)  # (absolute URL, link title)
    total_pages: int | None = None


def parse_list(body: bytes, url: str, content_type: bytes | str | None = None) -> ListPage:
    """Article links (in page order, without repeats) and "共 N 页" of a list page."""
    sel = html_selector(body, content_type)
    page = ListPage()
    seen: set[str] = set()
    for a in sel.css("a[href]"):
        href = (attr(a, "href")).strip()
        path = urlsplit(href).path if href.startswith(("http://", "https://")) else href.split("?")[0]
        if not ARTICLE_PATH.match(path):
            continue
        link = absolute(href, url)
        if link in seen:
            continue
        seen.add(link)
        title = normalise.clean_text(attr(a, "title")) or text_of(a)
        page.articles.append((link, title))
    m = _PAGES.search(text_of(sel))
    page.total_pages = int(m[1]) if m else None
    return page


def parse_article(body: bytes, url: str, content_type: bytes | str | None = None) -> NewsItem:
    """The article as a NewsItem; missing parts are left empty for the validate pipeline to report."""
    sel = html_selector(body, content_type)
    title = text_of(first(sel, "h1.news-details-title")) or text_of(first(sel, "h1"))
    published: str | None = None
    publisher = ""
    for span in sel.css("div.news-details-desc .desc-left span, .news-details-desc span"):
        text = text_of(span)
        if m := _PUBLISHED.search(text):
            published = published or (find_date(m[1]) or m[1].strip())
        elif m := _SOURCE.search(text):
            publisher = publisher or m[1].strip()
    content = first(sel, "div.news-details-content")
    host = urlsplit(url).hostname or ""
    language = _EDITIONS.get(host.split(".", 1)[0], "zh")
    tags = ["一带一路"]
    if publisher:
        tags.append(f"来源:{publisher}")
    return NewsItem(
        url=url,
        title=title,
        published=published,
        body=block_text(content),
        language=language,
        region="Belt and Road",
        tags=tags,
    )


def on_topic(text: str, topics: tuple[str, ...] | list[str] = DEFAULT_TOPICS) -> list[str]:
    """The topic words found in ``text`` (empty when the item is off topic)."""
    low = text.lower()
    return [t for t in topics if t.lower() in low]
