"""bricspic.org news detail pages (``/En/Pages/Home/NewsDetail.aspx?rowId=469``).

Only the URL pattern is documented; the markup of the live pages has not been captured, so the title,
date and body are found through CSS selectors that are source options (``title_css``, ``date_css``,
``body_css`` in ``config/sources.yaml``), with a date search in the page text as the fallback.
"""

from __future__ import annotations

from crawlers.items import NewsItem
from crawlers.parsers.common import block_text, find_date, first, html_selector, text_of

DEFAULT_TITLE_CSS = "[id$=lblTitle], .news-title, .newsTitle, h1"
DEFAULT_DATE_CSS = "[id$=lblDate], [id$=lblTime], .news-date, .newsDate, .date"
DEFAULT_BODY_CSS = "[id$=divContent], [id$=lblContent], .news-content, .newsContent, #content, article"


def parse_detail(
    body: bytes,
    url: str,
    content_type: bytes | str | None = None,
    *,
    language: str = "en",
    title_css: str = DEFAULT_TITLE_CSS,
    date_css: str = DEFAULT_DATE_CSS,
    body_css: str = DEFAULT_BODY_CSS,
) -> NewsItem | None:
    """The news item of a detail page, or None when the page holds no news (a missing rowId)."""
    sel = html_selector(body, content_type)
    title = text_of(first(sel, title_css))
    if not title:
        return None
    content = first(sel, body_css)
    text = block_text(content)
    date_text = text_of(first(sel, date_css))
    published = find_date(date_text) if date_text else None
    if published is None:
        # no date element: the first date in the page text after the title (not one inside the title)
        bodies = sel.xpath("//body")
        page_text = text_of(bodies[0] if bodies else sel)
        after = page_text.split(title, 1)[1] if title in page_text else page_text
        published = find_date(after[:3000])
    return NewsItem(
        url=url,
        title=title,
        published=published,
        body=text,
        language=language,
        region="BRICS",
        tags=["BRICS", "standardization"],
    )
