"""The WTO yearly news data file ``news_{YEAR}_e.js`` (real 2013 sample in ``../shared/fixtures/news``).

Each entry is ``news_item[N] = { ni_date:"2013.06.10_14:00:00#2013.06.12_12:00:00", ni_head:"...",
ni_intro:"...", ni_subject:"TPR#BUS", ni_country:"SUR", ni_links:[{nl_text, nl_url, ...}], ... };``.
Text holds HTML entities (``&rsquo;``). The first ``#``-separated date is the publication date; the first
link with a URL is the article. An entry that cannot be read is reported, the others are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crawlers.errors import ParseError
from crawlers.items import NewsItem
from crawlers.parsers.common import absolute
from crawlers.parsers.jsliteral import read_value
from tbtwatch import members, normalise

_ENTRY = re.compile(r"news_item\s*\[\s*(\d+)\s*\]\s*=\s*")


@dataclass
class NewsData:
    """Entries of one data file and the entries that could not be read."""

    items: list[NewsItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_news_data(text: str, data_url: str, site_url: str) -> NewsData:
    """News items of a data file; ``site_url`` resolves the relative article links."""
    starts = list(_ENTRY.finditer(text))
    if not starts:
        if text.strip() and "news_item" not in text:
            raise ParseError("no news_item[...] entries in the WTO news data file")
        return NewsData()
    out = NewsData()
    for m in starts:
        number = m[1]
        try:
            value, _end = read_value(text, m.end())
        except ParseError as exc:
            out.problems.append(f"news_item[{number}]: {exc}")
            continue
        if not isinstance(value, dict):
            out.problems.append(f"news_item[{number}] is a {type(value).__name__}, not an object")
            continue
        out.items.append(_item(value, number, data_url, site_url))
    return out


def _item(entry: dict[str, Any], number: str, data_url: str, site_url: str) -> NewsItem:
    link = ""
    documents: list[str] = []
    links = entry.get("ni_links")
    for ln in links if isinstance(links, list) else []:
        if isinstance(ln, dict) and isinstance(ln.get("nl_url"), str) and ln["nl_url"].strip():
            url = absolute(ln["nl_url"], site_url + "/")
            if url:
                documents.append(url)
                link = link or url
    # an entry without any link still needs a stable, unique address: the data file plus the entry number
    url = link or f"{data_url}#news_item[{number}]"
    return NewsItem(
        url=url,
        title=normalise.html_to_text(_s(entry.get("ni_head"))),
        published=_date(_s(entry.get("ni_date"))),
        body=normalise.html_to_text(_s(entry.get("ni_intro"))),
        language="en",
        member=_member(_s(entry.get("ni_country"))),
        region="WTO",
        tags=[t for t in (p.strip() for p in _s(entry.get("ni_subject")).split("#")) if t],
        documents=list(dict.fromkeys(documents)),
    )


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _date(value: str) -> str | None:
    first = value.split("#", 1)[0].strip()
    return first.split("_", 1)[0].strip() or None


def _member(value: str) -> str | None:
    codes = [c.strip() for c in value.split("#") if c.strip()]
    if len(codes) != 1:
        return None  # several countries: the item is not one member's news
    return members.resolve(codes[0])
