"""Hostile input: generated (hypothesis) records, pages, feeds, workbooks, queries, names and titles.

Every input must end in a clear, documented error or a quarantine record, never a crash, and never lost
data: every item read is stored or quarantined (the ingest report adds up, the store holds both). The
mutated-bytes fuzzing of each parser lives in ``tests/crawlers/test_crawler_fuzz.py``; these tests add
structured hostile values inside otherwise valid documents, the workbook path, the query parser against a
real index, and header and HTML injection in rendered digests.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import email
import json
import re
from email import policy
from email.message import EmailMessage
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
from core.core_workbooks import SEARCH_HEADERS, row, write
from hypothesis import given
from hypothesis import strategies as st
from reliability_testlib import FUZZ, HOSTILE_PIECES, HOSTILE_TEXT, count

from alerts.clusters import cluster_names
from alerts.digest import Clock, ClusterGroup, Digest, DigestItem, DigestKind
from alerts.errors import RecipientError
from alerts.recipients import normalise_address, parse_recipients
from alerts.render import Renderer, RenderSettings
from alerts.repository import StoredAddress, StoredRecipient
from alerts.tokens import TokenSigner
from crawlers.errors import ParseError
from crawlers.items import NewsItem
from crawlers.parsers import eping_api, feeds, samr, yidaiyilu
from crawlers.pipelines import news_notice, validate_news, validate_translation
from index.embedded import EmbeddedBackend
from index.errors import QuerySyntaxError
from index.query import Query
from tbtwatch.demo.mirror import SITE_DIR
from tbtwatch.eping import build_notices
from tbtwatch.eping_workbook import open_workbook
from tbtwatch.errors import TbtwatchError
from tbtwatch.ingest import Ingestor, Item, Rejected
from tbtwatch.models import Notice, Risk
from tbtwatch.settings import REPO_ROOT
from tbtwatch.store import Store

FIX = REPO_ROOT / "tests" / "fixtures"
API_ITEMS: list[dict[str, Any]] = json.loads(
    (SITE_DIR / "eping_api" / "notifications.json").read_text(encoding="utf-8")
)
MIRROR = SITE_DIR / "mirror"  # the demo's site, which the crawler tests' mirror serves
ARTICLE = (MIRROR / "p" / "0ODODQPQ.html").read_text(encoding="utf-8")
SAMR_DIGEST = (MIRROR / "html/1/tongbaopingyi/tongbaosudi/meiritongbao/2028999388301787137.html").read_text(
    encoding="utf-8"
)
NOW = dt.datetime(2025, 6, 12, 1, 0, tzinfo=dt.UTC)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | HOSTILE_TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(HOSTILE_TEXT, children, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One real SQLite store for the module (hypothesis runs many cases per test)."""
    s = Store.open(tmp_path_factory.mktemp("hostile") / "store.sqlite3")
    yield s
    s.close()


def _ingest_accounts_for_everything(store: Store, items: list[Item], source: str) -> None:
    """Ingest ``items``: each is stored (its id readable) or quarantined (with its reason)."""
    before = store.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    with Ingestor(store, source=source, record_run=False) as ing:
        ing.add_all(items)
    r = ing.report
    assert r.read == len(items) == r.new + r.changed + r.unchanged + r.quarantined
    assert r.quarantined == sum(isinstance(i, Rejected) for i in items)
    after = store.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert after - before == r.quarantined
    stored = [i.id for i in items if isinstance(i, Notice)]
    assert {n.id for n in store.get_many(stored)} == set(stored)
    for rej in items:
        if isinstance(rej, Rejected):
            assert rej.reason.strip(), "a quarantine record says why"


# -- ePing API items and workbook rows ------------------------------------------------------------------
@st.composite
def api_items(draw: Any) -> dict[str, Any]:
    """A real API item with some fields replaced by hostile values or dropped."""
    item = copy.deepcopy(draw(st.sampled_from(API_ITEMS)))
    for key in draw(st.lists(st.sampled_from(sorted(item)), max_size=6, unique=True)):
        if draw(st.booleans()):
            item[key] = draw(JSON_VALUES)
        else:
            del item[key]
    return item


@FUZZ
@given(st.lists(api_items(), min_size=1, max_size=4))
def test_eping_api_items_are_stored_or_quarantined(store: Store, items: list[dict[str, Any]]) -> None:
    count("eping_api_items")
    body = json.dumps({"items": items, "totalCount": len(items)}, allow_nan=True).encode()
    page = eping_api.parse_search_page(body)
    out: list[Item] = []
    for item in page.items:
        built = build_notices(eping_api.to_record(item), source="fuzz-api")
        assert built, "every item gives notices or a quarantine record"
        out += built
    _ingest_accounts_for_everything(store, out, "fuzz-api")


# openpyxl refuses XML-illegal characters (the real export never holds them): keep to legal text
CELL_TEXT = st.lists(
    st.text(
        st.characters(
            blacklist_categories=("Cs",),
            blacklist_characters="".join(map(chr, range(32))) + "\ufffe\uffff",
        ),
        max_size=20,
    )
    | st.sampled_from(["\n", "\t", "\r\n", "_x000D_", "<b>", "&amp;", "=", "Bcc: x@evil.example"]),
    max_size=4,
).map("".join)
CELLS = st.one_of(
    st.none(),
    CELL_TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2200, 1, 1)),
    st.sampled_from(
        [
            '=HYPERLINK("https://eping.wto.org/x"," G/TBT/N/CHN/2072")',
            "G/SPS/N/EU/860/Add.1",
            "9503; 8517.62; 95 - Toys; 9",
            "Regular notification",
            "Addendum",
            "2025-13-45",
        ]
    ),
)


@st.composite
def workbook_rows(draw: Any) -> list[dict[str, Any]]:
    """A few search-export rows, each a valid row with some cells replaced."""
    rows = []
    for i in range(draw(st.integers(1, 4))):
        r = row(**{"Document symbol": f"G/TBT/N/CHN/{3000 + i}"})
        for header in draw(st.lists(st.sampled_from(SEARCH_HEADERS), max_size=5, unique=True)):
            r[header] = draw(CELLS)
        rows.append(r)
    return rows


@FUZZ
@given(workbook_rows())
def test_workbook_rows_are_stored_or_quarantined(
    store: Store, tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, Any]]
) -> None:
    count("eping_workbook_rows")
    path = write(tmp_path_factory.mktemp("wb") / "export.xlsx", rows)
    try:
        with open_workbook(path) as wb:
            records = list(wb.records(parallel=False))
            items: list[Item] = []
            for rec in records:
                built = build_notices(rec, source="fuzz-xlsx")
                assert built
                items += built
    except TbtwatchError as exc:  # a documented import error (no header row, say) with a message
        assert str(exc)
        return
    assert len(records) <= len(items)
    _ingest_accounts_for_everything(store, items, "fuzz-xlsx")


# -- RSS / Atom, HTML articles, the SAMR digest ------------------------------------------------------------
def _news_ok(item: NewsItem) -> None:
    """A parsed news item validates to a list of problems and becomes a Notice or a quarantine record."""
    problems = validate_news(item)
    assert isinstance(problems, list)
    if not problems:
        out = news_notice(item, "fuzz", NOW)
        assert isinstance(out, Notice | Rejected)


def _xml(text: str, raw: bool) -> str:
    # raw: the value is put into the XML unescaped (a broken feed); else escaped as a feed should be
    return text if raw else escape(text)


@FUZZ
@given(
    st.sampled_from(["rss", "atom"]),
    st.lists(st.tuples(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, st.booleans()), min_size=1, max_size=4),
    st.booleans(),
)
def test_feeds_with_hostile_entries(kind: str, entries: list[tuple[str, str, str, bool]], bomb: bool) -> None:
    count("rss_atom")
    doctype = (
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        '<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        if bomb
        else ""
    )
    if kind == "rss":
        body = "".join(
            f"<item><title>{_xml(t, raw)}</title><link>{_xml(link, raw)}</link>"
            f"<description>{_xml(d, raw)}{'&d;&x;' if bomb else ''}</description>"
            "<pubDate>Tue, 10 Jun 2025 08:00:00 GMT</pubDate></item>"
            for t, link, d, raw in entries
        )
        doc = f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel><title>x</title>{body}</channel></rss>'
    else:
        body = "".join(
            f'<entry><title>{_xml(t, raw)}</title><link href="{escape(link, {chr(34): "&quot;"})}"/>'
            f"<id>{_xml(link, raw)}</id><updated>2025-06-10T08:00:00Z</updated>"
            f"<summary>{_xml(d, raw)}</summary></entry>"
            for t, link, d, raw in entries
        )
        doc = f'<?xml version="1.0" encoding="utf-8"?>{doctype}<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>{body}</feed>'
    try:
        page = feeds.parse_feed(
            doc.encode("utf-8", "surrogatepass"), "https://asean.org/feed/", language="en"
        )
    except ParseError:
        return
    for item in page.items:
        assert "root:" not in (item.body or "") + (item.title or ""), "no external entity is read"
        _news_ok(item)


_TEXT_NODE = re.compile(r">([^<>]{2,})<")


@FUZZ
@given(st.lists(HOSTILE_TEXT, min_size=1, max_size=6), st.integers(0, 3000), st.data())
def test_html_article_and_list_with_hostile_text(pieces: list[str], depth: int, data: st.DataObject) -> None:
    count("html_article_list")
    spots = [m.start(1) for m in _TEXT_NODE.finditer(ARTICLE)]
    page = ARTICLE
    for piece in pieces:
        at = data.draw(st.sampled_from(spots))
        page = page[:at] + piece + page[at:]
    page = page.replace("<body>", "<body>" + "<div>" * depth, 1)  # deep nesting
    body = page.encode("utf-8", "surrogatepass")
    url = "https://www.yidaiyilu.gov.cn/p/X.html"
    try:
        listing = yidaiyilu.parse_list(body, url, b"text/html; charset=utf-8")
        assert all(u.startswith("https://www.yidaiyilu.gov.cn/p/") for u, _ in listing.articles)
    except ParseError:
        pass
    with contextlib.suppress(ParseError):
        _news_ok(yidaiyilu.parse_article(body, url, b"text/html; charset=utf-8"))


@FUZZ
@given(st.lists(HOSTILE_TEXT, min_size=1, max_size=8), st.data())
def test_samr_digest_with_hostile_cells(pieces: list[str], data: st.DataObject) -> None:
    count("samr_digest")
    cells = [m.start(1) for m in re.finditer(r"<td[^>]*>([^<]*)", SAMR_DIGEST)]
    page = SAMR_DIGEST
    for piece in pieces:
        at = data.draw(st.sampled_from(cells))
        page = page[:at] + piece + page[at:]
    try:
        digest = samr.parse_digest(page.encode("utf-8", "surrogatepass"), "http://wto.sacinfo.org.cn/d.html")
    except ParseError:
        return
    for translation in digest.rows:
        assert isinstance(validate_translation(translation), list)


# -- the search query parser against a real index ----------------------------------------------------
QUERY_TEXT = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.sampled_from(
            [
                "AND",
                "OR",
                "NOT",
                "-",
                "(",
                ")",
                "（",
                "）",
                '"',
                "“",
                "」",
                "玩具",
                "toys",
                "G/TBT/N/EU/1050",
                "*",
                "~",
                "^2",
                ":",
                "\\",
                "\x00",
                "title:x",
                " ",
                "锂电池",
                "LED灯具",
                "[",
                "]",
                "{",
                "}",
            ]
        )
        | HOSTILE_TEXT,
        max_size=40,
    ).map(" ".join),
    st.text(min_size=990, max_size=1100),
)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    """A real tantivy index with the alerts fixture notices."""
    rows = json.loads((FIX / "alerts" / "eping_notices.json").read_text(encoding="utf-8"))
    backend = EmbeddedBackend(tmp_path_factory.mktemp("index"))
    backend.bulk_upsert([Notice.model_validate(r) for r in rows], {})
    return backend


@FUZZ
@given(
    QUERY_TEXT,
    st.lists(HOSTILE_TEXT, max_size=2),
    st.lists(HOSTILE_TEXT, max_size=2),
    st.integers(-5, 10**6),
)
def test_no_query_raises_anything_but_the_documented_error(
    small_index: EmbeddedBackend, text: str, members: list[str], hs: list[str], page: int
) -> None:
    count("search_query")
    try:
        query = Query(text=text, members=members, hs_prefixes=hs, page=page)
        query.plan()
        results = small_index.search(query)
    except QuerySyntaxError as exc:
        assert str(exc).startswith("query")  # says it is the query that is wrong, and where
        return
    assert results.total >= len(results.ids)


# -- e-mail header and HTML injection ----------------------------------------------------------------------
ALLOWED_HEADERS = {
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "subject",
    "from",
    "to",
    "date",
    "list-id",
    "auto-submitted",
    "precedence",
    "x-tbtwatch-digest",
    "content-type",
    "mime-version",
    "content-transfer-encoding",
}


@FUZZ
@given(st.lists(HOSTILE_TEXT, min_size=1, max_size=3), HOSTILE_TEXT)
def test_recipient_addresses_with_line_breaks_are_refused_clearly(pieces: list[str], name: str) -> None:
    count("recipient_addresses")
    address = "user@example.cn".join(["", *pieces[:1]]) + "".join(pieces[1:])
    try:
        normalised = normalise_address(address)
    except ValueError as exc:
        assert str(exc)
    else:
        assert not re.search(r"[\s\x00-\x1f\x7f]", normalised) and normalised.count("@") == 1
    doc = {"recipients": [{"id": "x", "type": "exporter", "name": name, "addresses": [address]}]}
    try:
        [rec] = parse_recipients(doc)
    except RecipientError as exc:
        assert str(exc).strip()
    else:
        assert all("\n" not in a and "\r" not in a for a in rec.addresses)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    """The real renderer with the bundled cluster names."""
    return Renderer(
        RenderSettings(base_url="https://tbt.example.cn", from_address="alerts@tbt.example.cn"),
        cluster_names(REPO_ROOT / "config"),
        TokenSigner(b"test-signing-key-0123456789abcdef"),
    )


@FUZZ
@given(HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT)
def test_digest_headers_and_html_resist_injection(
    renderer: Renderer, name: str, title: str, title_zh: str, description: str, url: str
) -> None:
    count("digest_injection")
    notice = Notice.model_validate(
        {
            "id": "G/TBT/N/EU/1066",
            "base_id": "G/TBT/N/EU/1066",
            "kind": "tbt",
            "doc_type": "regular",
            "member": "EU",
            "title": title.strip() or "x",
            "title_zh": title_zh or None,
            "description": description,
            "products": description,
            "url": url if url.startswith(("http://", "https://")) else "",
            "distributed_on": dt.date(2025, 6, 10),
            "source": "fuzz",
        }
    )
    recipient = StoredRecipient(
        id=1,
        key="exp-x",
        type="exporter",
        name=name,
        organisation=name,
        clusters=[],
        language="zh",
        frequency="immediate",
        quiet_hours="",
        webhooks=[],
        active=True,
        addresses=[StoredAddress(1, "x@example.cn", "nonce", None)],
    )
    item = DigestItem(notice, Risk.HIGH, [f"kw:{title}"], False, None, None, 1)
    clock = Clock(NOW, ZoneInfo("Asia/Shanghai"))
    digest = Digest(recipient, DigestKind.IMMEDIATE, "p1", clock, [ClusterGroup(None, [item])])
    [message] = renderer.messages(digest)
    head = message.body.split(b"\r\n\r\n", 1)[0].decode("ascii")  # headers are ASCII (RFC 2047)
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line and not line[0].isspace()]
    assert set(names) <= ALLOWED_HEADERS and names.count("to") == 1, names
    msg = email.message_from_bytes(message.body, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == ["x@example.cn"]
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    for piece in HOSTILE_PIECES:
        if "<" in piece and piece in title + title_zh + description + name:
            assert piece not in html, f"unescaped {piece!r} in the HTML part"
    assert "javascript:" not in re.sub(r"&[a-z#0-9]+;", "", " ".join(re.findall(r'href="([^"]*)"', html)))
