"""Parsers on real captures (yidaiyilu article, WTO 2013 data file, ePing export) and constructed pages."""

from __future__ import annotations

import json
from datetime import date

import pytest
from crawl_mockserver import API_ITEMS as API_ITEMS_FILE
from crawl_mockserver import fixture

from crawlers.errors import ParseError
from crawlers.parsers import bricspic, common, eping_api, feeds, samr, wto_news, yidaiyilu
from crawlers.parsers.jsliteral import read_value
from crawlers.pipelines import news_notice, validate_news
from tbtwatch import normalise
from tbtwatch.eping import build_notices
from tbtwatch.ingest import Rejected
from tbtwatch.models import Notice

DIGESTS = "html/1/tongbaopingyi/tongbaosudi/meiritongbao"
API_ITEMS = {i["id"]: i for i in json.loads(API_ITEMS_FILE.read_text(encoding="utf-8"))}
UTC_NOW = normalise.parse_date("2026-01-01")


# -- yidaiyilu (real article) ------------------------------------------------------------------------
def test_real_yidaiyilu_article() -> None:
    body = fixture("p/0ODODQPQ.html").read_bytes()
    item = yidaiyilu.parse_article(
        body, "https://www.yidaiyilu.gov.cn/p/0ODODQPQ.html", b"text/html; charset=utf-8"
    )
    assert item.title == "中企海外项目周报（2026.4.25-2026.4.30）"
    assert item.published == "2026-04-30"  # from 发布时间, not the 2026.4.25 in the title
    assert "来源:中国一带一路网" in item.tags
    assert item.body.startswith("中国路桥中标")
    assert "尼日利亚国家税务总局总部大楼正式启用" in item.body
    assert item.language == "zh"
    assert validate_news(item) == []
    # a weekly project report is not about standards: "四车道标准建设" must not count as a topic
    assert yidaiyilu.on_topic(f"{item.title}\n{item.body}") == []


def test_yidaiyilu_list_and_topics() -> None:
    page = yidaiyilu.parse_list(
        fixture("list/w/zxfb@page=1").read_bytes(),
        "https://www.yidaiyilu.gov.cn/list/w/zxfb?page=1",
    )
    assert [u for u, _ in page.articles] == [
        "https://www.yidaiyilu.gov.cn/p/0ODODQPQ.html",
        "https://www.yidaiyilu.gov.cn/p/STD0001.html",
        "https://www.yidaiyilu.gov.cn/p/STD0002.html",
    ]
    assert page.total_pages == 2
    assert [bool(yidaiyilu.on_topic(t)) for _, t in page.articles] == [False, True, True]
    empty = yidaiyilu.parse_list(
        fixture("list/w/yaowen@page=1").read_bytes(), "https://x.gov.cn/list/w/yaowen"
    )
    assert empty.articles == [] and empty.total_pages is None


def test_english_edition_and_truncated_article() -> None:
    body = fixture("p/STD0001.html").read_bytes()
    assert yidaiyilu.parse_article(body, "https://eng.yidaiyilu.gov.cn/p/STD0001.html").language == "en"
    cut = yidaiyilu.parse_article(
        fixture("p/TRUNC1.html").read_bytes(), "https://www.yidaiyilu.gov.cn/p/TRUNC1.html"
    )
    assert cut.title == "截断页面：国际标准采用情况通报" and cut.published is None
    assert validate_news(cut) == ["no publication date"]


# -- encodings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "meta"),
    [
        ("text/html; charset=utf-8", "gbk"),
        ("text/html", None),
        (None, None),
        ("text/html; charset=iso-8859-1", "gb2312"),
    ],
)
def test_gbk_page_with_wrong_or_missing_charset(header: str | None, meta: str | None) -> None:
    head = f'<meta charset="{meta}">' if meta else ""
    body = f"<html><head>{head}</head><body><h1>技术性贸易措施通报</h1></body></html>".encode("gbk")
    assert "技术性贸易措施通报" in common.decode_html(body, header)


def test_decoding_prefers_valid_utf8_and_bom() -> None:
    text = "<p>合格评定</p>"
    assert common.decode_html(text.encode("utf-8"), "text/html; charset=gbk") == text
    assert common.decode_html(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert (
        common.decode_html("<p>café</p>".encode("latin-1"), "text/html; charset=iso-8859-1") == "<p>café</p>"
    )


def test_gbk_digest_fixtures_decode() -> None:
    wrong = samr.parse_digest(
        fixture(f"{DIGESTS}/2029000000000000001.html").read_bytes(),
        "http://x/1.html",
        b"text/html; charset=utf-8",
    )
    missing = samr.parse_digest(
        fixture(f"{DIGESTS}/2029000000000000002.html").read_bytes(), "http://x/2.html", b"text/html"
    )
    assert wrong.rows[0].title == "某些商品中吡虫啉的农药残留限量"
    assert missing.rows[0].products == "电热水器、水壶及咖啡机"
    assert wrong.date == "2025年6月11日"


# -- SAMR digest ------------------------------------------------------------------------------------
def test_samr_digest_rows_and_list() -> None:
    digest = samr.parse_digest(
        fixture(f"{DIGESTS}/2028999388301787137.html").read_bytes(), "http://wto.sacinfo.org.cn/d.html"
    )
    assert digest.date == "2026年2月25日"
    assert normalise.parse_date(digest.date) == date(2026, 2, 25)
    assert [r.symbol for r in digest.rows] == [
        "G/TBT/N/EU/1150",
        "G/TBT/N/ USA/2145",
        "G/TBT/N/BDI/650, G/TBT/N/KEN/1850",
        "G/TBT/N/USA/2200",
        "G/TBT/N/XX",
    ]
    assert digest.rows[0].title == "修订玩具安全化学限值及标签规定的委员会条例草案"
    assert digest.rows[4].products is None
    links = samr.parse_digest_list(
        fixture(f"{DIGESTS}/index.html").read_bytes(),
        "http://wto.sacinfo.org.cn" + "/html/1/tongbaopingyi/tongbaosudi/meiritongbao/index.html",
    )
    assert [normalise.parse_date(link.date) for link in links] == [
        date(2026, 2, 25),
        date(2025, 6, 11),
        date(2025, 6, 6),
    ]
    assert links[1].url.endswith("/meiritongbao/2029000000000000001.html")
    with pytest.raises(ParseError, match="no notification table"):
        samr.parse_digest(fixture(f"{DIGESTS}/2029000000000000003.html").read_bytes(), "http://x/3.html")


def test_samr_table_found_by_header_words_not_position() -> None:
    html = (
        "<table><tr><th>涉及产品</th><th>通报标题</th><th>国家</th><th>通报编号</th></tr>"
        "<tr><td>玩具</td><td>玩具安全</td><td>欧盟</td><td>G/TBT/N/EU/1</td></tr></table>"
    ).encode()
    row = samr.parse_digest(html, "http://x").rows[0]
    assert (row.symbol, row.title, row.products) == ("G/TBT/N/EU/1", "玩具安全", "玩具")


# -- WTO news (real data file) --------------------------------------------------------------------
def test_real_wto_news_data_file() -> None:
    text = fixture("library/news/news_2013_e.js").read_text(encoding="utf-8")
    data = wto_news.parse_news_data(
        text, "https://www.wto.org/library/news/news_2013_e.js", "https://www.wto.org"
    )
    assert data.problems == []
    assert len(data.items) == 16
    first = data.items[0]
    assert first.title == "Trade Policy Review: Suriname"
    assert first.published == "2013.06.10"
    assert first.url == "https://www.wto.org/english/tratop_e/tpr_e/tp382_e.htm"
    assert first.member == "SUR" and first.tags == ["TPR", "BUS"]
    lamy = next(i for i in data.items if "Lamy" in i.title)
    assert "Europe’s growth — Lamy" in lamy.title  # &rsquo; and &mdash; decoded
    assert all(normalise.parse_date(i.published) for i in data.items)
    notices = [news_notice(i, "wto_news", normalise_now()) for i in data.items]
    assert all(isinstance(n, Notice) for n in notices)
    assert len({n.id for n in notices if isinstance(n, Notice)}) == 16


def normalise_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_wto_news_bad_entries_are_reported_not_fatal() -> None:
    text = (
        'news_item[1] = { ni_head:"ok", ni_date:"2025.01.02_10:00:00" };\n'
        'news_item[2] = { ni_head:"broken ;\n'
    )
    data = wto_news.parse_news_data(text, "https://www.wto.org/d.js", "https://www.wto.org")
    assert [i.title for i in data.items] == ["ok"]
    assert len(data.problems) == 1 and "news_item[2]" in data.problems[0]
    assert data.items[0].url == "https://www.wto.org/d.js#news_item[1]"
    with pytest.raises(ParseError):
        wto_news.parse_news_data("<html>not a data file</html>", "u", "https://www.wto.org")


def test_js_literals() -> None:
    assert read_value('{ a:"x", b:[1, 2,], }', 0) == ({"a": "x", "b": [1, 2]}, 21)
    value, _ = read_value("{'k': 'it\\'s', n: -1.5e2, t: true, u: undefined, /* c */ s: \"\\u4e2d\"}", 0)
    assert value == {"k": "it's", "n": -150.0, "t": True, "u": None, "s": "中"}
    for bad in ["{a:1", "[1 2]", "{a 1}", '"open', "{a: nope}", "[" * 60 + "]" * 60]:
        with pytest.raises(ParseError):
            read_value(bad, 0)


# -- feeds ----------------------------------------------------------------------------------------
def test_rss_and_atom_feeds() -> None:
    rss = feeds.parse_feed(
        fixture("asean.org/feed/index.xml").read_bytes(),
        "https://asean.org/feed/",
        language="en",
        region="ASEAN",
        tags=["ASEAN"],
    )
    assert [i.published for i in rss.items] == ["2025-06-03", "2025-06-11", None]
    assert rss.items[0].tags == ["ASEAN", "Economic Community", "Standards"]
    assert "harmonised standards" in rss.items[0].body  # content:encoded preferred, HTML removed
    assert (
        common.canonical_url(rss.items[1].url)
        == "https://asean.org/asean-cosmetic-directive-annex-preservatives/"
    )
    atom = feeds.parse_feed(
        fixture("www.gso.org.sa/en/feed/index.xml").read_bytes(), "https://www.gso.org.sa/en/feed/"
    )
    assert atom.language == "en"
    assert atom.items[0].published == "2023-03-14"
    assert atom.items[1].url == "https://www.gso.org.sa/en/media/2025/06/gulf-toys-regulation/"


def test_feeds_that_are_not_feeds() -> None:
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        feeds.parse_feed(
            fixture("feeds.example.org/broken.xml").read_bytes(), "https://feeds.example.org/broken.xml"
        )
    cut = feeds.parse_feed(
        fixture("feeds.example.org/truncated.xml").read_bytes(), "https://feeds.example.org/t.xml"
    )
    assert cut.warning and cut.items[0].title == "Standard for ceramic tiles adopted"


def test_a_feed_item_with_an_unreadable_date_keeps_its_text() -> None:
    # feedparser leaves published_parsed None and answers "updated_parsed" with a DeprecationWarning (an
    # error under the test settings): the date text is kept as it was written (found by the fuzz test in CI)
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>Members discuss trade concerns</title><link>https://asean.org/a/</link>"
        b"<pubDate>18-20 June 2025</pubDate></item></channel></rss>"
    )
    page = feeds.parse_feed(body, "https://asean.org/feed/", language="en")
    assert [i.published for i in page.items] == ["18-20 June 2025"]


# -- bricspic ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "published"), [(469, "2022-11-25"), (470, "2022/12/08"), (471, "Jan 16, 2023")]
)
def test_bricspic_detail_dates(row: int, published: str) -> None:
    body = fixture(f"En/Pages/Home/NewsDetail.aspx@rowId={row}").read_bytes()
    item = bricspic.parse_detail(body, f"http://bricspic.org/En/Pages/Home/NewsDetail.aspx?rowId={row}")
    assert item is not None and item.published == published
    assert validate_news(item) == []


def test_bricspic_real_text_and_missing_row() -> None:
    item = bricspic.parse_detail(
        fixture("En/Pages/Home/NewsDetail.aspx@rowId=469").read_bytes(), "http://bricspic.org/x"
    )
    assert (
        item is not None
        and item.title == "2022 Meeting of Heads of BRICS National Standardization Bodies kicked off"
    )
    assert "UNIDO highly appraised" in item.body
    assert (
        bricspic.parse_detail(fixture("En/Pages/Home/NewsDetail.aspx@rowId=472").read_bytes(), "http://x")
        is None
    )
    no_date_css = (
        b"<html><body><h1>BRICS workshop (2021)</h1><div>Posted 3 March 2023. Text.</div></body></html>"
    )
    assert bricspic.parse_detail(no_date_css, "http://x").published == "3 March 2023"  # type: ignore[union-attr]
    with pytest.raises(ParseError, match="CSS selector"):
        bricspic.parse_detail(no_date_css, "http://x", title_css="h1[")


# -- ePing API --------------------------------------------------------------------------------------
def _notices(item_id: int) -> list[Notice | Rejected]:
    return list(build_notices(eping_api.to_record(API_ITEMS[item_id]), source="eping_api"))


def test_api_quirks_symbols_html_hs_objects() -> None:
    [n] = _notices(1)
    assert isinstance(n, Notice)
    assert n.id == "G/TBT/N/EU/1150" and n.member == "EU"  # leading space in the symbol
    assert n.title.startswith(
        "Draft Commission Regulation amending the toy safety rules on chemical limits & labelling"
    )
    assert "<" not in n.description and "digital product passport" in n.description
    assert n.hs_codes == ["950300"] and n.ics_codes == ["97.200.50"]
    assert n.adoption_on == date(2025, 12, 1) and n.entry_into_force_on is None  # free-text date is not fatal
    assert n.objectives == ["Protection of human health or safety"] and n.keywords == [
        "Consumer safety",
        "Chemicals",
    ]
    assert len(n.documents) == 2
    [odd] = _notices(7)
    assert isinstance(odd, Notice) and odd.id == "G/TBT/N/USA/2145"


def test_api_dates_in_four_formats() -> None:
    got = {i: _notices(i)[0] for i in (1, 2, 3, 4)}
    assert {i: n.distributed_on for i, n in got.items() if isinstance(n, Notice)} == {
        1: date(2025, 6, 2),  # 2025-06-02
        2: date(2025, 6, 10),  # 2025-06-10T00:00:00
        3: date(2025, 6, 11),  # 11/06/2025 (day first)
        4: date(2025, 6, 3),  # 2025-06-03T00:00:00.000Z
    }
    assert got[4].comment_deadline == date(2025, 8, 2)  # type: ignore[union-attr]


def test_api_joint_notification_gives_one_notice_per_symbol() -> None:
    notices = _notices(6)
    assert [n.id for n in notices if isinstance(n, Notice)] == [
        "G/TBT/N/BDI/650",
        "G/TBT/N/KEN/1850",
        "G/TBT/N/RWA/1100",
        "G/TBT/N/TZA/1300",
        "G/TBT/N/UGA/2200",
    ]
    ken = notices[1]
    assert isinstance(ken, Notice) and ken.member == "KEN" and "G/TBT/N/BDI/650" in ken.joint_ids


def test_api_missing_and_null_fields() -> None:
    [r8] = _notices(8)
    assert isinstance(r8, Rejected) and r8.reason == "title is empty"
    [n9] = _notices(9)
    assert isinstance(n9, Notice) and n9.synthetic_id and n9.kind == "tbt" and n9.member == "PER"
    [r12] = _notices(12)
    assert isinstance(r12, Rejected) and "distribution date" in r12.reason
    [n13] = _notices(13)
    assert isinstance(n13, Notice) and n13.distributed_on is None
    [n14] = _notices(14)
    assert isinstance(n14, Notice) and n14.hs_codes == ["851660", "851610"] and n14.member == "SAU"
    assert n14.products == "Electric water heaters\nKettles & coffee makers"
    assert n14.entry_into_force_on == date(2026, 1, 1)
    [r17] = _notices(17)
    assert isinstance(r17, Rejected) and "unknown notifying member 'Narnia'" in r17.reason
    empty = eping_api.to_record({})
    assert empty["title"] == "" and empty["symbol"] == "" and empty["documents"] == []


def test_api_pages() -> None:
    page = eping_api.parse_search_page(
        b'{"currentPage": 2, "pageSize": 10, "totalCount": 25, "items": [{"id": 1}, 3]}'
    )
    assert (page.current_page, page.page_size, page.total_count, page.skipped) == (2, 10, 25, 1)
    alt = eping_api.parse_search_page(b'{"totalCount": "1", "notifications": [{"id": 7}]}')
    assert alt.items == [{"id": 7}] and alt.total_count == 1
    assert eping_api.parse_search_page(b'{"totalCount": 0}').items == []
    for bad in [
        b"<html>maintenance</html>",
        b"[1, 2]",
        b'{"totalCount": 5, "message": "quota"}',
        b"\xff\xfe\x00",
    ]:
        with pytest.raises(ParseError):
            eping_api.parse_search_page(bad)


# -- helpers ----------------------------------------------------------------------------------------
def test_canonical_urls() -> None:
    assert common.canonical_url("HTTPS://WWW.WTO.ORG:443/english/news_e/x.htm?utm_source=rss&b=2&a=1") == (
        "https://www.wto.org/english/news_e/x.htm?b=2&a=1"
    )
    assert (
        common.canonical_url("http://127.0.0.1:8765/p/A.html#frag") == "http://127.0.0.1:8765/p/A.html#frag"
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("发布时间：2026年5月12日 来源", "2026年5月12日"),
        ("Update on:2022-09-13 11:00", "2022-09-13"),
        ("Moscow, November 26, 2024 – GOST R", "November 26, 2024"),
        ("29 Jun 2020", "29 Jun 2020"),
        ("dated 20/05/2025", "20/05/2025"),
        ("no date here", None),
    ],
)
def test_find_date(text: str, found: str | None) -> None:
    assert common.find_date(text) == found
    if found:
        assert normalise.parse_date(found) is not None


def test_news_notice_validation() -> None:
    from crawlers.items import NewsItem

    ok = news_notice(
        NewsItem(
            url="https://asean.org/a/?utm_medium=rss",
            title=" T ",
            published="2025-06-03",
            body="Body",
            member="EU",
            region="EU",
            tags=["EU", "EU", ""],
        ),
        "feeds",
        normalise_now(),
    )
    assert isinstance(ok, Notice)
    assert ok.id == ok.base_id and ok.id.startswith("news:") and ok.url == "https://asean.org/a/"
    assert ok.kind == "news" and ok.member == "EU" and ok.keywords == ["EU"] and ok.language == "en"
    assert validate_news(NewsItem(url="/relative", title="", published="someday", language="english")) == [
        "url '/relative' is not an absolute http(s) URL",
        "title is empty",
        "publication date: cannot read 'someday' as a date",
        "language 'english' is not a two-letter code",
    ]
    unknown_member = news_notice(
        NewsItem(url="https://x.org/a", title="t", published="2025-01-01", member="Atlantis"),
        "feeds",
        normalise_now(),
    )
    assert isinstance(unknown_member, Notice) and unknown_member.member is None
