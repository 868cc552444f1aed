"""Fuzzing: no input makes a parser raise anything but :class:`crawlers.errors.ParseError`.

Inputs are random bytes and text, random JSON, and the real and constructed fixtures cut at random points
or with random bytes spliced in. Whatever a parser returns must also pass validation and normalisation
without an exception (bad items become quarantine records, never crashes).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from crawl_mockserver import API_ITEMS, fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlers.errors import ParseError
from crawlers.items import NewsItem, Translation
from crawlers.parsers import bricspic, common, eping_api, feeds, samr, wto_news, yidaiyilu
from crawlers.parsers.jsliteral import read_value
from crawlers.pipelines import news_notice, validate_news, validate_translation
from tbtwatch.eping import build_notices

SAMPLES = [
    fixture("p/0ODODQPQ.html").read_bytes(),
    fixture("p/GBK1.html").read_bytes(),
    fixture("list/w/zxfb@page=1").read_bytes(),
    fixture("library/news/news_2013_e.js").read_bytes(),
    fixture("library/rss/latest_news_e.xml").read_bytes(),
    fixture("www.gso.org.sa/en/feed/index.xml").read_bytes(),
    fixture("En/Pages/Home/NewsDetail.aspx@rowId=469").read_bytes(),
    fixture("html/1/tongbaopingyi/tongbaosudi/meiritongbao/2028999388301787137.html").read_bytes(),
    API_ITEMS.read_bytes()[:6000],
]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime.now(UTC)
URL = "https://www.yidaiyilu.gov.cn/p/X.html"
CONTENT_TYPES = st.sampled_from(
    [
        None,
        b"text/html",
        b"text/html; charset=utf-8",
        b"text/html; charset=gbk",
        b"text/html; charset=iso-8859-1",
        b"text/html; charset=nonsense",
        b"charset=",
    ]
)


@st.composite
def mutated(draw: Any) -> bytes:
    """A fixture cut at a random point, with random bytes spliced in."""
    base = draw(st.sampled_from(SAMPLES))
    cut = draw(st.integers(0, len(base)))
    body = base[:cut]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=40)) + body[at:]
    return body


BODIES = st.one_of(st.binary(max_size=600), mutated(), st.text(max_size=400).map(lambda t: t.encode("utf-8")))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
API_KEYS = st.sampled_from(
    [
        "id",
        "documentSymbol",
        "area",
        "notificationType",
        "notifyingMember",
        "notifyingMemberCode",
        "distributionDate",
        "commentDeadlineDate",
        "proposedAdoptionDate",
        "proposedAdoptionDateText",
        "proposedEntryIntoForceDate",
        "title",
        "titlePlain",
        "description",
        "descriptionPlain",
        "productsFreeText",
        "productsFreeTextPlain",
        "hsCodes",
        "hsCodeText",
        "icsCodeText",
        "objectives",
        "keywords",
        "countriesAffected",
        "notifiedDocumentLink",
        "linkToNotification",
    ]
)


def _check_news(item: NewsItem) -> None:
    validate_news(item)
    news_notice(item, "fuzz", NOW)


@FUZZ
@given(BODIES, CONTENT_TYPES)
def test_decode_html_never_raises(body: bytes, ctype: bytes | None) -> None:
    assert isinstance(common.decode_html(body, ctype), str)


@FUZZ
@given(BODIES, CONTENT_TYPES)
def test_yidaiyilu_parsers(body: bytes, ctype: bytes | None) -> None:
    try:
        page = yidaiyilu.parse_list(body, URL, ctype)
        assert all(u.startswith("https://www.yidaiyilu.gov.cn/p/") for u, _ in page.articles)
        _check_news(yidaiyilu.parse_article(body, URL, ctype))
    except ParseError:
        pass


@FUZZ
@given(BODIES, CONTENT_TYPES)
def test_bricspic_parser(body: bytes, ctype: bytes | None) -> None:
    try:
        item = bricspic.parse_detail(body, "http://bricspic.org/En/Pages/Home/NewsDetail.aspx?rowId=1", ctype)
    except ParseError:
        return
    if item is not None:
        _check_news(item)


@FUZZ
@given(BODIES, CONTENT_TYPES)
def test_samr_parsers(body: bytes, ctype: bytes | None) -> None:
    try:
        samr.parse_digest_list(body, "http://wto.sacinfo.org.cn/html/1/x/index.html", ctype)
        for row in samr.parse_digest(body, "http://wto.sacinfo.org.cn/d.html", ctype).rows:
            assert isinstance(row, Translation)
            validate_translation(row)
    except ParseError:
        pass


@FUZZ
@given(BODIES)
def test_feed_parser(body: bytes) -> None:
    try:
        page = feeds.parse_feed(body, "https://asean.org/feed/", language="en")
    except ParseError:
        return
    for item in page.items:
        _check_news(item)


@FUZZ
@given(st.one_of(st.text(max_size=400), mutated().map(lambda b: b.decode("utf-8", "replace"))))
def test_wto_news_data_parser(text: str) -> None:
    try:
        data = wto_news.parse_news_data(
            text, "https://www.wto.org/library/news/news_2013_e.js", "https://www.wto.org"
        )
    except ParseError:
        return
    for item in data.items:
        _check_news(item)


@FUZZ
@given(st.text(alphabet="{}[]:,\"'\\/*-.0123456789 \nabtrueflsnuxdi", max_size=80))
def test_js_literal_reader(text: str) -> None:
    with contextlib.suppress(ParseError):
        read_value(text, 0)


@FUZZ
@given(st.one_of(BODIES, JSON.map(lambda v: __import__("json").dumps(v).encode())))
def test_api_page_parser(body: bytes) -> None:
    try:
        page = eping_api.parse_search_page(body)
    except ParseError:
        return
    for item in page.items:
        build_notices(eping_api.to_record(item), source="fuzz")


@FUZZ
@given(st.dictionaries(API_KEYS, JSON, max_size=12))
def test_api_item_mapping_never_raises(item: dict[str, Any]) -> None:
    record = eping_api.to_record(item)
    assert isinstance(record, dict)
    for out in build_notices(record, source="fuzz"):
        assert out is not None
