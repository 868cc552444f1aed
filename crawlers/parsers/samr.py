"""SAMR 每日通报: the Chinese daily digest of new WTO TBT/SPS notifications (wto.sacinfo.org.cn).

A digest page (``.../meiritongbao/{id}.html``) opens with a summary ("2026年2月25日,共有15个WTO成员通报了26项
技术性贸易措施...") and a table with one row per notification. Only the summary text is captured in
``../shared``; the table is read by its header words (通报号 / 标题 / 产品 ...), never by column position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from parsel import Selector

from crawlers.errors import ParseError
from crawlers.items import Translation
from crawlers.parsers.common import absolute, attr, find_date, html_selector, text_of

DIGEST_LINK = re.compile(r"/meiritongbao/\d+\.html$")
_COLUMNS: dict[str, tuple[str, ...]] = {
    "symbol": ("通报号", "通报编号", "文件编号", "文件号", "编号"),
    "title": ("通报标题", "标题", "措施名称", "名称"),
    "products": ("涉及产品", "覆盖产品", "产品范围", "产品"),
}


@dataclass
class DigestLink:
    """A digest linked from the list page."""

    url: str
    title: str
    date: str | None


@dataclass
class Digest:
    """One digest page: its date and a translation per table row."""

    date: str | None
    rows: list[Translation] = field(default_factory=list)


def parse_digest_list(body: bytes, url: str, content_type: bytes | str | None = None) -> list[DigestLink]:
    """Digest links of the list page, newest first as the page orders them."""
    sel = html_selector(body, content_type)
    out: dict[str, DigestLink] = {}
    for a in sel.css("a[href]"):
        link = absolute((attr(a, "href")).split("#")[0], url)
        if not link or not DIGEST_LINK.search(urlsplit(link).path):
            continue
        if link not in out:
            row_text = text_of(a.xpath("ancestor::li[1]")[0]) if a.xpath("ancestor::li[1]") else text_of(a)
            out[link] = DigestLink(link, text_of(a), find_date(row_text))
    return list(out.values())


def parse_digest(body: bytes, url: str, content_type: bytes | str | None = None) -> Digest:
    """The digest's rows; raise ParseError when the page has no notification table."""
    sel = html_selector(body, content_type)
    table, columns = _find_table(sel)
    if table is None:
        raise ParseError("no notification table with 通报号 and 标题/产品 columns in the digest page")
    intro = " ".join(text_of(p) for p in sel.css("p")[:5]) or text_of(sel)
    digest = Digest(date=find_date(intro))
    for tr in table.xpath(".//tr")[1:]:
        cells = [text_of(td) for td in tr.xpath("./td|./th")]
        if not any(cells):
            continue

        def cell(key: str, cells: list[str] = cells) -> str:
            idx = columns.get(key)
            return cells[idx] if idx is not None and idx < len(cells) else ""

        digest.rows.append(
            Translation(
                symbol=cell("symbol"),
                title=cell("title") or None,
                products=cell("products") or None,
                url=url,
                published=digest.date,
            )
        )
    return digest


def _find_table(sel: Selector) -> tuple[Selector | None, dict[str, int]]:
    for table in sel.css("table"):
        rows = table.xpath(".//tr")
        if not rows:
            continue
        headers = [text_of(c).replace(" ", "") for c in rows[0].xpath("./th|./td")]
        columns: dict[str, int] = {}
        for key, words in _COLUMNS.items():
            for word in words:  # most specific header words first
                idx = next(
                    (i for i, h in enumerate(headers) if word in h and i not in columns.values()), None
                )
                if idx is not None:
                    columns[key] = idx
                    break
        if "symbol" in columns and ("title" in columns or "products" in columns):
            return table, columns
    return None, {}
