"""Rendering alone (no server): multipart/alternative, Chinese first, headers, hostile input, webhooks."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
from collections.abc import Callable
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage

import pytest
from alerts_testlib import NOW, exporter, import_recipients, ingest, labels, make_notice

from alerts.digest import Clock, Digest, DigestBuilder, DigestKind
from alerts.recipients import Frequency, Webhook
from alerts.render import MAIL_POLICY, WEBHOOK_MAXLEN, display_name, header_text, md_escape
from alerts.repository import AlertsRepository
from alerts.service import build_digests, make_renderer
from alerts.tokens import TokenSigner, signing_key
from tbtwatch.models import Notice, Risk
from tbtwatch.settings import Settings
from tbtwatch.store import Store

TOY = make_notice(
    "G/TBT/N/EU/1050",
    title="Draft Regulation on the safety of toys",
    title_zh="欧盟玩具安全法规草案",
    description="Lays down safety requirements for toys.",
    products="Toys (HS 9503)",
    hs_codes=["950300"],
    documents=["https://members.wto.org/crnattachments/2025/TBT/EEC/25_03927_00_e.pdf"],
    url="https://eping.wto.org/en/Search?viewData=G/TBT/N/EU/1050",
    comment_deadline=dt.date(2025, 8, 9),
)


def _emails(repo: AlertsRepository, key: str) -> list[EmailMessage]:
    rec = repo.get_recipient(key)
    assert rec is not None
    out = []
    for row in reversed(repo.outbox(limit=1000)):
        if row.recipient_id == rec.id and row.channel == "email":
            msg = email.message_from_bytes(repo.outbox_body(row.id), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
    return out


def _parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.fixture
def queued(
    settings: Settings, store: Store, repo: AlertsRepository, eping_notices: dict[str, Notice]
) -> AlertsRepository:
    """Fixture recipients, real notices plus toy notices, labelled; daily digests built (not sent)."""
    import_recipients(repo)
    toys_low = make_notice(
        "G/TBT/N/USA/2300", title="Toy labelling", hs_codes=["9503"], comment_deadline=dt.date(2025, 7, 1)
    )
    toys_high_late = make_notice("G/TBT/N/KOR/900", title="Toy magnets", hs_codes=["9503"])
    gifts = make_notice("G/TBT/N/JPN/870", title="Christmas lights", comment_deadline=dt.date(2025, 6, 20))
    notices = [*eping_notices.values(), TOY, toys_low, toys_high_late, gifts]
    lab = [
        labels(TOY.id, ["toys", "yiwu_small_commodities"], Risk.HIGH),
        labels(toys_low.id, ["toys"], Risk.LOW),
        labels(toys_high_late.id, ["toys"], Risk.HIGH),
        labels(gifts.id, ["yiwu_small_commodities"], Risk.HIGH),
        labels("G/TBT/N/USA/552/Rev.3/Add.5", ["household_appliances"], Risk.MEDIUM),
    ]
    ingest(store, notices, lab)
    build_digests(settings, store, frequency=Frequency.DAILY, now=NOW)
    return repo


def test_multipart_alternative_with_utf8_subject_and_list_headers(
    queued: AlertsRepository, settings: Settings
) -> None:
    msgs = _emails(queued, "wp-yiwu-toys")
    assert [m["To"].addresses[0].addr_spec for m in msgs] == [
        "warning@yiwu.example.cn",
        "duty@yiwu.example.cn",
    ]
    msg = msgs[0]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert str(msg["Subject"]) == "【TBT/SPS预警】每日摘要 2025-06-12：4 条通报，高风险 3 条"
    assert str(msg["From"]) == "alerts@tbt.example.cn"
    assert str(msg["To"]) == "义乌市玩具出口预警点 <warning@yiwu.example.cn>"
    assert re.fullmatch(r"<[0-9a-f]{32}\.daily\.20250612@tbt\.example\.cn>", str(msg["Message-ID"]))
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https://tbt\.example\.cn/unsubscribe/([^>]+))>", str(msg["List-Unsubscribe"]))
    assert url is not None
    rec = queued.get_recipient("wp-yiwu-toys")
    assert rec is not None
    assert TokenSigner(signing_key(settings)).parse(url[2]) == (
        rec.addresses[0].id,
        rec.addresses[0].token_nonce,
    )
    text, html = _parts(msg)
    assert url[1] in text and url[1] in html
    # The raw message is 7-bit clean: any relay takes it.
    assert max(queued.outbox_body(queued.outbox(limit=1)[0].id)) < 128


def test_grouped_by_cluster_sorted_by_risk_then_deadline(queued: AlertsRepository) -> None:
    text, _ = _parts(_emails(queued, "wp-yiwu-toys")[0])
    groups = re.findall(r"^== (.+?) / ", text, re.M)
    # groups follow their most urgent item: a high-risk item closing on 2025-06-20 comes first
    assert groups == ["义乌小商品(饰品、节庆用品、日用百货)产业集群", "玩具产业集群"]
    order = re.findall(r"^\[风险等级: .\] (\S+)", text, re.M)
    # toys: two high (same deadline: EU before KOR by symbol), then the low one with an earlier deadline
    assert order == ["G/TBT/N/JPN/870", "G/TBT/N/EU/1050", "G/TBT/N/KOR/900", "G/TBT/N/USA/2300"]


def test_item_shows_chinese_first_and_keeps_the_original(queued: AlertsRepository) -> None:
    text, html = _parts(_emails(queued, "wp-yiwu-toys")[0])
    block = text.split("G/TBT/N/EU/1050 (TBT)")[1].split("[风险等级")[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "中文标题: 欧盟玩具安全法规草案"
    assert lines[1] == "标题: Draft Regulation on the safety of toys"
    assert "通报成员: 欧盟（European Union）" in lines
    assert "HS 编码: 950300" in lines
    assert "匹配原因: 产业集群：玩具产业集群；产业集群：义乌小商品(饰品、节庆用品、日用百货)产业集群" in lines
    assert "分发日期: 2025-06-10" in lines
    assert "评议截止: 2025-08-09（剩余 58 天）" in lines
    assert any(line.startswith("WTO 文件: https://docs.wto.org/") for line in lines)
    assert "通报文本: https://members.wto.org/crnattachments/2025/TBT/EEC/25_03927_00_e.pdf" in lines
    assert "[风险等级: 高]" in text and "欧盟玩具安全法规草案" in html and "剩余 58 天" in html


def test_english_recipient_gets_english_labels(
    queued: AlertsRepository, settings: Settings, store: Store
) -> None:
    build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW)
    [msg] = _emails(queued, "exp-en-buyer")
    assert str(msg["Subject"]) == "[TBT/SPS alert] 4 new notification(s) (2025-06-12), 2 high risk"
    text, _ = _parts(msg)
    assert "Dear Anna Schmidt," in text
    assert "Member: European Union (EU)" in text
    assert "Why: keyword: phthalate" in text
    assert "Comments until: 2025-08-09 (58 days left)" in text


def test_message_id_is_stable_for_a_resend(
    settings: Settings, store: Store, queued: AlertsRepository
) -> None:
    rec = queued.get_recipient("wp-yiwu-toys")
    assert rec is not None
    clock = Clock.of(settings, NOW)
    renderer = make_renderer(settings)
    builder = DigestBuilder(store, renderer.clusters, clock)
    alerts = queued.alerts_for(recipient_id=rec.id)
    digest = builder.from_alerts(rec, DigestKind.DAILY, alerts)
    assert digest is not None
    first = renderer.email(digest, rec.addresses[0])
    again = renderer.email(digest, rec.addresses[0])
    assert first.message_id == again.message_id == str(_emails(queued, "wp-yiwu-toys")[0]["Message-ID"])
    assert renderer.email(digest, rec.addresses[1]).message_id != first.message_id
    later = Digest(rec, DigestKind.DAILY, "2025-06-13", clock, digest.groups)
    assert renderer.email(later, rec.addresses[0]).message_id != first.message_id


def test_hostile_title_cannot_inject_headers_and_html_is_escaped(
    settings: Settings, store: Store, repo: AlertsRepository
) -> None:
    import_recipients(
        repo,
        {
            "recipients": [
                {**exporter("exp-x", "x@example.cn", hs_prefixes=["9503"]), "frequency": "immediate"}
            ]
        },
    )
    evil = make_notice(
        "G/TBT/N/EU/1066",
        title="Toys\r\nBcc: victim@evil.example\r\nX-Injected: yes\n\nbody",
        title_zh="玩具\r\nCc: other@evil.example",
        description='<script>alert("x")</script><img src=x onerror=alert(1)> & more',
        products="<b>bold</b>",
        url="javascript:alert(1)",
        documents=['https://example.org/a.pdf" onmouseover="alert(1)'],
        hs_codes=["9503"],
    )
    ingest(store, [evil])
    build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW)
    [row] = repo.outbox()
    raw = repo.outbox_body(row.id)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line and not line[0].isspace()]
    assert "bcc" not in names and "cc" not in names and "x-injected" not in names
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert str(msg["Subject"]) == "【TBT/SPS预警】1 条新通报：G/TBT/N/EU/1066 玩具 Cc: other@evil.example"
    assert isinstance(msg, EmailMessage)
    text, html = _parts(msg)
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>bold" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "javascript:" not in html, "only http(s) URLs become links"
    assert 'onmouseover="alert' not in html
    assert "标题: Toys Bcc: victim@evil.example X-Injected: yes body" in text


@pytest.mark.parametrize(
    "name",
    [
        # found by the hostile-input fuzz test: Python 3.11 folds this long quoted name without its quotes
        '\r\nBcc: victim@evil.example\r\nBcc: victim@evil.example"><img src=x onerror=alert(1)>',
        "\nCc: other@evil.example\n\n" * 3,
        '"a@evil.example" <b@evil.example>, c@evil.example; (x) [y] \\',
        "浙江某某进出口有限公司, Zhejiang Co., Ltd.",
    ],
)
def test_a_recipient_name_adds_no_address(name: str) -> None:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = "alerts@tbt.example.cn"
    msg["To"] = Address(display_name=display_name(name), addr_spec="x@example.cn")
    msg.set_content("x")
    back = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert [a.addr_spec for a in back["To"].addresses] == ["x@example.cn"]
    assert back["Bcc"] is None and back["Cc"] is None
    # the name still reads the same, its specials in full-width forms
    assert display_name("Zhejiang Co., Ltd. <sales>") == "Zhejiang Co.， Ltd. ＜sales＞"


def test_header_text_and_markdown_escaping() -> None:
    assert header_text("a\r\nBcc: b\x00c\u2028d") == "a Bcc: b c d"
    assert len(header_text("长" * 500, 50)) == 50
    assert md_escape("[click](javascript:alert(1)) **bold** <b>") == (
        r"\[click\]\(javascript:alert\(1\)\) \*\*bold\*\* \<b\>"
    )


def test_webhook_payloads(settings: Settings, store: Store, queued: AlertsRepository) -> None:
    rec = queued.get_recipient("wp-yiwu-toys")
    assert rec is not None
    clock = Clock.of(settings, NOW)
    renderer = make_renderer(settings)
    digest = DigestBuilder(store, renderer.clusters, clock).from_alerts(
        rec, DigestKind.DAILY, queued.alerts_for(recipient_id=rec.id)
    )
    assert digest is not None
    ding = renderer.webhook(digest, Webhook(platform="dingtalk", url_env="HOOK", secret_env="SECRET"), 0)
    assert (ding.channel, ding.address, ding.secret_env) == ("dingtalk", "env:HOOK", "SECRET")
    payload = json.loads(ding.body)
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"].startswith("【TBT/SPS预警】每日摘要")
    assert (
        "G/TBT/N/EU/1050" in payload["markdown"]["text"]
        and "欧盟玩具安全法规草案" in payload["markdown"]["text"]
    )
    assert "[WTO 文件](https://docs.wto.org/" in payload["markdown"]["text"]
    assert "%28@Symbol" in payload["markdown"]["text"], (
        "parentheses in URLs are encoded inside Markdown links"
    )
    wecom = json.loads(
        renderer.webhook(digest, Webhook(platform="wecom", url="https://qyapi.example.cn/x"), 1).body
    )
    assert set(wecom) == {"msgtype", "markdown"} and "content" in wecom["markdown"]
    feishu = json.loads(
        renderer.webhook(digest, Webhook(platform="feishu", url="https://open.example.cn/x"), 2).body
    )
    assert feishu["msg_type"] == "text" and "欧盟玩具安全法规草案" in feishu["content"]["text"]
    # A long digest is cut at a line boundary under the platform limit, with a note.
    many = Digest(rec, DigestKind.DAILY, digest.period, clock, digest.groups * 40)
    cut = json.loads(
        renderer.webhook(many, Webhook(platform="wecom", url="https://qyapi.example.cn/x"), 1).body
    )
    content = cut["markdown"]["content"]
    assert len(content.encode()) <= WEBHOOK_MAXLEN["wecom"]
    assert content.endswith("……内容过长已截断，完整内容请查看邮件。")


def test_an_update_is_labelled_as_such_in_every_part(
    settings: Settings, store: Store, repo: AlertsRepository
) -> None:
    """An addendum sent as an update carries the 更新 / Update label (a dict of labels once rendered
    ``t.update`` as ``dict.update``: "<built-in method update of dict object>" reached real digests)."""
    import_recipients(repo)
    ingest(store, [TOY], [labels(TOY.id, ["toys"], Risk.HIGH)])
    add1 = make_notice("G/TBT/N/EU/1050/Add.1", title="Adoption of the toy safety regulation", hs_codes=[])
    ingest(store, [add1], [labels(add1.id, ["tea"], Risk.LOW)])
    for frequency in (Frequency.DAILY, Frequency.IMMEDIATE):  # the English exporter wants each at once
        build_digests(settings, store, frequency=frequency, now=NOW)
    for key, word in (("wp-yiwu-toys", "更新"), ("exp-en-buyer", "Update")):
        msgs = _emails(repo, key)
        assert msgs, key
        for msg in msgs:
            text, html = _parts(msg)
            assert "built-in method" not in text + html
            assert f"[{word}]" in text and f">{word}</span>" in html


def test_a_long_digest_shows_the_most_urgent_in_full_and_lists_the_rest(
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    eping_notices: dict[str, Notice],
) -> None:
    """A backlog or a broad subscription can bring hundreds of notices: the most urgent ``digest_full_items``
    are shown in full, the others one line each with their deadline and link; every one is delivered."""
    alerts = {
        "base_url": "https://tbt.example.cn",
        "from_address": "alerts@tbt.example.cn",
        "digest_full_items": 2,
    }
    settings = make_settings({"alerts": alerts})
    import_recipients(repo)
    toys = [
        make_notice(
            f"G/TBT/N/USA/{2300 + i}",
            title=f"Toy rule {i}",
            hs_codes=["9503"],
            comment_deadline=dt.date(2025, 7, 1 + i),
        )
        for i in range(5)
    ]
    ingest(
        store, toys, [labels(n.id, ["toys"], Risk.HIGH if i == 4 else Risk.LOW) for i, n in enumerate(toys)]
    )
    build_digests(settings, store, frequency=Frequency.DAILY, now=NOW)
    sent = _emails(repo, "wp-yiwu-toys")
    text, html = _parts(sent[0])
    assert "风险最高、截止最早的 2 条列出详情，其余 3 条仅列标题、截止日期和链接。" in text
    full = re.findall(r"^\[风险等级: .\] (\S+) \(TBT\)", text, re.M)
    brief = re.findall(r"^- \[风险等级: .\] (\S+) ", text, re.M)
    # the high-risk one first, then the soonest deadline; the rest by title, deadline and link
    assert full == ["G/TBT/N/USA/2304", "G/TBT/N/USA/2300"]
    assert brief == ["G/TBT/N/USA/2301", "G/TBT/N/USA/2302", "G/TBT/N/USA/2303"]
    assert (
        "Toy rule 3 | 评议截止: 2025-07-04" in text and "https://docs.wto.org/" in text.split("Toy rule 3")[1]
    )
    assert text.count("匹配原因") == 2
    assert all(n.id in html for n in toys) and html.count("匹配原因") == 2
    # the chat-app Markdown lists them the same way
    rec = repo.get_recipient("wp-yiwu-toys")
    assert rec is not None
    renderer = make_renderer(settings)
    digest = DigestBuilder(store, renderer.clusters, Clock.of(settings, NOW)).from_alerts(
        rec, DigestKind.DAILY, repo.alerts_for(recipient_id=rec.id)
    )
    assert digest is not None
    md = json.loads(renderer.webhook(digest, Webhook(platform="dingtalk", url_env="HOOK"), 0).body)
    md_text = md["markdown"]["text"]
    assert "其余 3 条仅列标题" in md_text and md_text.count("匹配原因") == 2
    assert "Toy rule 3；评议截止：2025-07-04（剩余 22 天） [WTO 文件](https://docs.wto.org/" in md_text
    # nothing is held back: the next run has no alert of these left to send
    build_digests(settings, store, frequency=Frequency.DAILY, now=NOW + dt.timedelta(days=1))
    assert len(_emails(repo, "wp-yiwu-toys")) == len(sent)
