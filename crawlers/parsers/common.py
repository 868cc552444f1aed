"""Helpers every parser shares: decoding pages whose charset header lies, HTML selection, dates, URLs.

Parsers are pure functions of ``(body bytes, url, content type, options)``; they return items or raise
:class:`crawlers.errors.ParseError`, never anything else (the fuzz tests hold them to that).
"""

from __future__ import annotations

import codecs
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from parsel import Selector

from crawlers.errors import ParseError
from tbtwatch import normalise

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{2,40})""", re.IGNORECASE
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]{2,40})", re.IGNORECASE)
# Single-byte charsets decode any byte string without error, so they cannot tell a wrong guess from a good
# one: they are tried only after every multi-byte candidate failed.
_ANY_BYTES = {"latin-1", "iso8859-1", "cp1252", "ascii"}
_CHINESE = {"gb2312", "gbk", "cp936", "gb18030", "x-gbk", "euc-cn", "hz-gb-2312"}
_DATE_PATTERNS = [
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"),
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),
    re.compile(r"\b\d{4}[/.]\d{1,2}[/.]\d{1,2}\b"),
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{4}\b"),
    re.compile(
        r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+\d{4}\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b",
        re.IGNORECASE,
    ),
]
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|spm)$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def header_charset(content_type: bytes | str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if any."""
    if not content_type:
        return None
    text = content_type.decode("latin-1") if isinstance(content_type, bytes) else content_type
    m = _HEADER_CHARSET.search(text)
    return m[1] if m else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    low = name.strip().lower()
    if low in _CHINESE:
        return "gb18030"  # a superset of GB2312 and GBK: pages labelled with either decode with it
    try:
        return codecs.lookup(low).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: bytes | str | None = None) -> str:
    """Text of an HTML page whose declared charset may be wrong or missing.

    Order: BOM, strict UTF-8 (valid UTF-8 is almost never legacy Chinese text), the ``<meta>`` charset,
    the header charset, GB18030, and only then single-byte charsets or UTF-8 with replacement characters.
    """
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, "replace")
    meta = _META_CHARSET.search(body[:8192])
    candidates: list[str | None] = [
        "utf-8",
        _codec(meta[1].decode("ascii", "replace")) if meta else None,
        _codec(header_charset(content_type)),
        "gb18030",
    ]
    tried: set[str] = set()
    late: list[str] = []
    for enc in candidates:
        if not enc or enc in tried:
            continue
        tried.add(enc)
        if enc in _ANY_BYTES:
            late.append(enc)
            continue
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    if late:
        return body.decode(late[0], "replace")
    return body.decode("utf-8", "replace")


def selector(text: str) -> Selector:
    """A parsel Selector for HTML text, tolerant of NUL and other control characters."""
    cleaned = _CONTROL.sub(" ", text)
    if not cleaned.strip():
        raise ParseError("the page is empty")
    try:
        return Selector(text=cleaned, type="html")
    except (ValueError, TypeError) as exc:  # lxml refuses some inputs outright
        raise ParseError(f"the page cannot be parsed as HTML: {exc}") from exc


def html_selector(body: bytes, content_type: bytes | str | None = None) -> Selector:
    """Decode a page (see :func:`decode_html`) and return its Selector."""
    return selector(decode_html(body, content_type))


def attr(node: Selector, name: str) -> str:
    """One attribute's value ('' when absent); other attributes with names lxml refuses do not matter."""
    root = node.root
    value = root.get(name) if hasattr(root, "get") else None
    return str(value or "")


def text_of(node: Selector | None) -> str:
    """All text inside a node, with whitespace cleaned."""
    if node is None:
        return ""
    return normalise.clean_text(" ".join(node.xpath(".//text()").getall()))


def first(sel: Selector, css: str) -> Selector | None:
    """The first node matching any of the comma-separated CSS selectors, or None (bad selectors raise)."""
    try:
        found = sel.css(css)
    except (ValueError, SyntaxError) as exc:
        raise ParseError(f"CSS selector {css!r} is not valid: {exc}") from exc
    return found[0] if found else None


def block_text(node: Selector | None) -> str:
    """Text of an article body, one paragraph per line."""
    if node is None:
        return ""
    parts = []
    for para in node.xpath(".//p|.//li|.//h2|.//h3|.//tr"):
        text = text_of(para)
        if text:
            parts.append(text)
    if not parts:
        return text_of(node)
    return "\n".join(dict.fromkeys(parts))


def find_date(text: str) -> str | None:
    """The first date-looking substring of ``text`` (Chinese, ISO, dotted, day-first, English month)."""
    best: tuple[int, str] | None = None
    for pattern in _DATE_PATTERNS:
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), m[0])
    return best[1] if best else None


def absolute(url: str, base: str) -> str:
    """``url`` made absolute against ``base`` (empty stays empty)."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        return urljoin(base, url)
    except ValueError:
        return ""


def canonical_url(url: str) -> str:
    """The URL a news item is identified by: lower-case scheme and host, no default port, no tracking
    parameters (``utm_*``, ``spm``...), query kept in its order, fragment kept (data-file items use it)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    return urlunsplit((scheme, netloc, parts.path or "/", query, parts.fragment))


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        return False


def excerpt(body: bytes | str, limit: int = 2000) -> str:
    """The start of a body for a quarantine record."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:limit]
