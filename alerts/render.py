"""Rendering digests: e-mail (multipart/alternative, plain text + autoescaped HTML) and webhook payloads.

Rendering never talks to a server: it turns a :class:`~alerts.digest.Digest` into outbox messages.
Chinese comes first (labels, member names, the Chinese title when the SAMR digest gave one) and the
original text is always kept. Untrusted text (titles, descriptions, names) never reaches a header
unsanitised: control characters are folded to spaces before any header is set, and the HTML template
escapes everything.

Headers: ``Message-ID`` is derived from recipient, kind, period and address, so a resend of the same
digest keeps it; ``List-Unsubscribe`` carries a signed HTTPS link and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import jinja2

from alerts.clusters import ClusterName
from alerts.digest import Digest, DigestItem, DigestKind
from alerts.errors import AlertsError
from alerts.recipients import Webhook
from alerts.repository import OutgoingMessage, StoredAddress
from alerts.tokens import TokenSigner, unsubscribe_url
from tbtwatch import members
from tbtwatch.models import Kind, Risk

log = logging.getLogger(__name__)

#: 7bit-safe transfer encodings (base64 / quoted-printable) so any relay takes the message.
MAIL_POLICY = policy.SMTP.clone(cte_type="7bit")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_URL_SAFE = re.compile(r"^https?://[\x21-\x7e]+$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")

#: Webhook body limits in bytes (the platforms' documented maximums, with a margin).
WEBHOOK_MAXLEN = {"dingtalk": 18_000, "wecom": 4_000, "feishu": 18_000}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "immediate": "TBT/SPS 通报预警",
        "escalation": "高风险通报预警",
        "daily": "TBT/SPS 通报每日摘要",
        "weekly": "TBT/SPS 通报每周摘要",
        "reminder": "通报评议截止提醒",
        "greeting": "{name}：",
        "intro": "以下 {n} 条 WTO 通报与您订阅的产品或产业相关（高风险 {h} 条）。",
        "intro_reminder": "以下 {n} 条通报的评议截止日期临近，如需提交评议意见请抓紧。",
        "member": "通报成员",
        "symbol": "通报编号",
        "title": "标题",
        "title_zh": "中文标题",
        "products": "产品",
        "hs": "HS 编码",
        "description": "内容摘要",
        "why": "匹配原因",
        "risk": "风险等级",
        "distributed": "分发日期",
        "deadline": "评议截止",
        "days_left": "剩余 {n} 天",
        "today": "今天截止",
        "closed": "已截止",
        "none": "未注明",
        "links": "文件链接",
        "wto_doc": "WTO 文件",
        "source": "通报页面",
        "attachment": "通报文本",
        "update": "更新",
        "other": "其他（未归入产业集群）",
        "footer": "本邮件由浙江省 TBT/SPS 通报预警系统自动发送。",
        "unsubscribe": "退订",
        "unsubscribe_text": "不再接收此类邮件？点击退订：",
        "truncated": "……内容过长已截断，完整内容请查看邮件。",
        "brief_note": "风险最高、截止最早的 {m} 条列出详情，其余 {n} 条仅列标题、截止日期和链接。",
        "risk_high": "高",
        "risk_medium": "中",
        "risk_low": "低",
        "risk_none": "未评级",
        "r_cluster": "产业集群：{v}",
        "r_hs": "HS {v}",
        "r_kw": "关键词：{v}",
        "r_member": "通报成员：{v}",
        "r_kind": "类型：{v}",
        "r_risk": "风险：{v}",
        "r_update": "更新：已通知过的通报 {v} 的后续文件",
    },
    "en": {
        "immediate": "TBT/SPS notification alert",
        "escalation": "High-risk notification alert",
        "daily": "TBT/SPS daily digest",
        "weekly": "TBT/SPS weekly digest",
        "reminder": "Comment deadline reminder",
        "greeting": "Dear {name},",
        "intro": "{n} WTO notifications match your subscriptions ({h} high risk).",
        "intro_reminder": "The comment period of these {n} notifications ends soon.",
        "member": "Member",
        "symbol": "Symbol",
        "title": "Title",
        "title_zh": "Chinese title",
        "products": "Products",
        "hs": "HS codes",
        "description": "Description",
        "why": "Why",
        "risk": "Risk",
        "distributed": "Distributed",
        "deadline": "Comments until",
        "days_left": "{n} days left",
        "today": "closes today",
        "closed": "closed",
        "none": "not given",
        "links": "Documents",
        "wto_doc": "WTO document",
        "source": "Notification page",
        "attachment": "Notified text",
        "update": "Update",
        "other": "Other (no cluster)",
        "footer": "Sent automatically by the Zhejiang TBT/SPS early-warning service.",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_text": "Stop these e-mails:",
        "truncated": "... cut short; see the e-mail for the full text.",
        "brief_note": "The {m} most urgent are shown in full; the other {n} are listed by title, deadline and link.",
        "risk_high": "high",
        "risk_medium": "medium",
        "risk_low": "low",
        "risk_none": "not graded",
        "r_cluster": "cluster: {v}",
        "r_hs": "HS {v}",
        "r_kw": "keyword: {v}",
        "r_member": "member: {v}",
        "r_kind": "type: {v}",
        "r_risk": "risk: {v}",
        "r_update": "update: follows {v}, which you received",
    },
}


def header_text(value: str, limit: int = 200) -> str:
    """Text safe for a header: control characters (CR, LF, ...) become spaces; long text is cut."""
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: the characters with a meaning in an address header, as their full-width forms
_ADDRESS_SPECIALS = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in '()<>@,;:\\"[]'})


def display_name(value: str, limit: int = 100) -> str:
    """A recipient's name safe as the display name of an address header: :func:`header_text`, and every
    character with a meaning there (``<>@,;:"()[]\\``) in its full-width form. Quoting alone is not enough:
    Python 3.11's e-mail folder writes a long quoted display name back without its quotes, so a name such as
    ``Bcc: victim@evil.example ... "><img ...>`` would have added an address (found by the hostile-input fuzz
    test). Full-width characters are sent RFC 2047-encoded and read the same in a mail client."""
    return header_text(value, limit).translate(_ADDRESS_SPECIALS)


def md_escape(value: Any) -> str:
    """Escape Markdown syntax in untrusted text (webhook messages) and keep it on one line."""
    return _MD_SPECIAL.sub(r"\\\1", header_text(str(value), 2000))


def md_url(value: str) -> str:
    """A URL usable inside a Markdown link (parentheses and spaces percent-encoded)."""
    return value.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def one_line(value: Any) -> str:
    """Collapse whitespace and control characters (for the plain-text part)."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


def excerpt(value: str, limit: int = 600) -> str:
    """The first ``limit`` characters of a text, on one line."""
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wto_document_url(symbol: str) -> str:
    """Search link of the WTO Documents Online for a document symbol."""
    return (
        "https://docs.wto.org/dol2fe/Pages/FE_Search/FE_S_S006.aspx?Query=(@Symbol=%20"
        + quote(symbol.lower(), safe="/")
        + ")&Language=ENGLISH&Context=FomerScriptedSearch&languageUIChanged=true"
    )


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("alerts", "templates"),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_escape
    env.filters["one_line"] = one_line
    env.filters["md_url"] = md_url
    return env


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """What rendering needs from the settings."""

    base_url: str
    from_address: str
    #: notices shown in full, the most urgent first; the rest of a long digest (a backlog after a pause, a
    #: broad subscription on a busy day) is listed one line each, so nothing is held back
    full_items: int = 40

    @property
    def domain(self) -> str:
        """Domain of the From address (for Message-IDs)."""
        domain = self.from_address.rpartition("@")[2].strip().lower()
        return domain if re.fullmatch(r"[a-z0-9.-]+", domain or "") else "tbtwatch.localhost"


class Renderer:
    """Turns digests into outbox messages: one e-mail per active address, one payload per webhook."""

    def __init__(self, config: RenderSettings, clusters: dict[str, ClusterName], signer: TokenSigner) -> None:
        if not _URL_SAFE.match(config.base_url):
            raise AlertsError(
                f"alerts.base_url {config.base_url!r} is not an http(s) URL without spaces. "
                "Fix: set it to the public address of the web app, e.g. https://tbt.example.org."
            )
        if not config.base_url.startswith("https://"):
            log.warning(
                "alerts.base_url %s is not HTTPS: one-click unsubscribe (RFC 8058) needs HTTPS",
                config.base_url,
            )
        self.config = config
        self.clusters = clusters
        self.signer = signer
        self.env = _environment()
        self._html = self.env.get_template("digest.html.j2")
        self._text = self.env.get_template("digest.txt.j2")
        self._md = self.env.get_template("digest.md.j2")

    # -- view model ------------------------------------------------------------------------------------
    def subject(self, digest: Digest) -> str:
        """The subject line (Chinese first for zh recipients); already header-safe."""
        zh = digest.recipient.language == "zh"
        n, h = len(digest.items), digest.high_count
        kind = digest.kind
        first = digest.items[0] if digest.items else None
        single = ""
        if n == 1 and first is not None:
            title = (first.notice.title_zh or first.notice.title) if zh else first.notice.title
            single = f"{first.notice.id} {title}"
        date_text = digest.clock.local.strftime("%Y-%m-%d")
        if zh:
            if kind is DigestKind.REMINDER:
                text = f"【评议截止提醒】{n} 条通报即将截止评议" + (f"：{single}" if single else "")
            elif kind is DigestKind.ESCALATION:
                text = f"【高风险预警】{n} 条高风险通报" + (f"：{single}" if single else "")
            elif kind is DigestKind.IMMEDIATE:
                text = f"【TBT/SPS预警】{n} 条新通报" + (f"：{single}" if single else f"（{date_text}）")
            else:
                label = "每日摘要" if kind is DigestKind.DAILY else "每周摘要"
                text = f"【TBT/SPS预警】{label} {digest.period}：{n} 条通报"
            if h and kind is not DigestKind.REMINDER and not single:
                text += f"，高风险 {h} 条"
        else:
            if kind is DigestKind.REMINDER:
                text = f"[Comment deadline] {n} notification(s) close soon" + (
                    f": {single}" if single else ""
                )
            elif kind is DigestKind.ESCALATION:
                text = f"[High risk] {n} notification(s)" + (f": {single}" if single else "")
            elif kind is DigestKind.IMMEDIATE:
                text = f"[TBT/SPS alert] {n} new notification(s)" + (
                    f": {single}" if single else f" ({date_text})"
                )
            else:
                label = "Daily digest" if kind is DigestKind.DAILY else "Weekly digest"
                text = f"[TBT/SPS alert] {label} {digest.period}: {n} notification(s)"
            if h and kind is not DigestKind.REMINDER and not single:
                text += f", {h} high risk"
        return header_text(text, 180)

    def _reason(self, reason: str, lang: str) -> str:
        t = LABELS[lang]
        key, _, value = reason.partition(":")
        if key == "cluster":
            c = self.clusters.get(value)
            return t["r_cluster"].format(v=c.name(lang) if c else value)
        if key == "member":
            return t["r_member"].format(
                v=members.chinese_name(value) if lang == "zh" else members.english_name(value)
            )
        if key == "kind":
            return t["r_kind"].format(v=value.upper())
        if key == "risk":
            return t["r_risk"].format(v=t.get(f"risk_{value}", value))
        if key in ("hs", "kw", "update"):
            return t[f"r_{key}"].format(v=value)
        return reason

    def _item(self, item: DigestItem, lang: str) -> dict[str, Any]:
        t = LABELS[lang]
        n = item.notice
        deadline = t["none"]
        if n.comment_deadline:
            left = item.days_left if item.days_left is not None else 0
            note = t["days_left"].format(n=left) if left > 0 else (t["today"] if left == 0 else t["closed"])
            deadline = (
                f"{n.comment_deadline.isoformat()}（{note}）"
                if lang == "zh"
                else f"{n.comment_deadline} ({note})"
            )
        links: list[tuple[str, str]] = []
        if n.kind is not Kind.NEWS and not n.synthetic_id:
            links.append((t["wto_doc"], wto_document_url(n.id)))
        if n.url and _URL_SAFE.match(n.url):
            links.append((t["source"], n.url))
        links += [(t["attachment"], d) for d in n.documents if _URL_SAFE.match(d)]
        member = ""
        if n.member:
            member = (
                f"{members.chinese_name(n.member)}（{members.english_name(n.member)}）"
                if lang == "zh"
                else f"{members.english_name(n.member)} ({n.member})"
            )
        return {
            "id": n.id,
            "kind": n.kind.value.upper(),
            "member": member,
            "title": n.title,
            "title_zh": n.title_zh or "",
            "products": n.products,
            "products_zh": n.products_zh or "",
            "hs": ", ".join(n.hs_codes),
            "description": excerpt(n.description),
            "reasons": [self._reason(r, lang) for r in item.reasons],
            "risk": item.risk.value if item.risk else "none",
            "risk_label": t[f"risk_{item.risk.value}"] if item.risk else t["risk_none"],
            "distributed": n.distributed_on.isoformat() if n.distributed_on else t["none"],
            "deadline": deadline,
            "days_left": item.days_left,
            "is_update": item.is_update,
            "links": links,
            "reminder_days": item.reminder_days,
        }

    def context(self, digest: Digest, unsubscribe: str | None) -> dict[str, Any]:
        """Everything the templates see (display-ready strings; escaping is the templates' job)."""
        lang = digest.recipient.language if digest.recipient.language in LABELS else "zh"
        t = LABELS[lang]
        full = {id(i) for i in sorted(digest.items, key=DigestItem.sort_key)[: self.config.full_items]}
        groups = [
            {
                "name": g.cluster.name(lang) if g.cluster else t["other"],
                "other_name": (g.cluster.name_en if lang == "zh" else g.cluster.name_zh) if g.cluster else "",
                "items": [{**self._item(i, lang), "brief": id(i) not in full} for i in g.items],
            }
            for g in digest.groups
        ]
        n = len(digest.items)
        brief = n - len(full)
        intro_key = "intro_reminder" if digest.kind is DigestKind.REMINDER else "intro"
        return {
            # attributes, not a dict: ``t.update`` in a template is the label, never ``dict.update``
            "t": SimpleNamespace(**t),
            "lang": lang,
            "heading": t[digest.kind.value],
            "period": digest.period,
            "greeting": t["greeting"].format(name=digest.recipient.name),
            "intro": t[intro_key].format(n=n, h=digest.high_count),
            "brief_note": t["brief_note"].format(m=len(full), n=brief) if brief else "",
            "groups": groups,
            "unsubscribe": unsubscribe,
            "high": Risk.HIGH.value,
        }

    # -- messages ----------------------------------------------------------------------------------------
    def message_id(self, digest: Digest, address: str) -> str:
        """Stable Message-ID for (recipient, kind, period, address): a resend keeps it."""
        seed = f"{digest.recipient.key}\x1f{digest.kind.value}\x1f{digest.period}\x1f{address}"
        digest_hex = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]
        period = re.sub(r"[^0-9A-Za-z]", "", digest.period)
        return f"<{digest_hex}.{digest.kind.value}.{period}@{self.config.domain}>"

    def email(self, digest: Digest, address: StoredAddress) -> OutgoingMessage:
        """The e-mail for one address: multipart/alternative, UTF-8 subject, unsubscribe headers."""
        token = self.signer.make(address.id, address.token_nonce)
        url = unsubscribe_url(self.config.base_url, token)
        ctx = self.context(digest, url)
        subject = self.subject(digest)
        message_id = self.message_id(digest, address.address)
        msg = EmailMessage(policy=MAIL_POLICY)
        msg["Subject"] = subject
        msg["From"] = self.config.from_address
        msg["To"] = Address(display_name=display_name(digest.recipient.name), addr_spec=address.address)
        msg["Date"] = format_datetime(digest.clock.local)
        msg["List-Id"] = f"TBT/SPS alerts <alerts.{self.config.domain}>"
        msg["Auto-Submitted"] = "auto-generated"
        msg["Precedence"] = "bulk"
        msg["X-Tbtwatch-Digest"] = f"{digest.kind.value} {digest.period}"
        msg.set_content(self._text.render(ctx), charset="utf-8")
        msg.add_alternative(self._html.render(ctx), subtype="html", charset="utf-8")
        # These values are ASCII without spaces that we built (the base URL is checked above). They are
        # written raw: the email package would fold a long Message-ID onto a continuation line and
        # RFC 2047-encode a long URL, and some clients mishandle both.
        head = (
            f"Message-ID: {message_id}\r\nList-Unsubscribe: <{url}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        )
        raw = head.encode("ascii") + msg.as_bytes()
        return OutgoingMessage("email", address.address, message_id, subject, raw)

    def webhook(self, digest: Digest, hook: Webhook, position: int) -> OutgoingMessage:
        """The payload for one group-chat robot (unsigned: signatures are made when sending)."""
        ctx = self.context(digest, None)
        subject = self.subject(digest)
        limit = WEBHOOK_MAXLEN[hook.platform]
        payload: dict[str, Any]
        if hook.platform == "feishu":
            text = _cut(self._text.render(ctx), limit, LABELS[ctx["lang"]]["truncated"])
            payload = {"msg_type": "text", "content": {"text": text}}
        else:
            text = _cut(self._md.render(ctx), limit, LABELS[ctx["lang"]]["truncated"])
            if hook.platform == "dingtalk":
                payload = {"msgtype": "markdown", "markdown": {"title": subject[:60], "text": text}}
            else:
                payload = {"msgtype": "markdown", "markdown": {"content": text}}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        message_id = self.message_id(digest, f"{hook.platform}:{position}")
        return OutgoingMessage(hook.platform, hook.target, message_id, subject, body, hook.secret_env)

    def messages(self, digest: Digest) -> list[OutgoingMessage]:
        """Every message of a digest: its recipient's active addresses and webhooks."""
        out = [self.email(digest, a) for a in digest.recipient.active_addresses]
        out += [self.webhook(digest, h, i) for i, h in enumerate(digest.recipient.webhooks)]
        return out


def _cut(text: str, limit: int, note: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(note.encode("utf-8")) - 2
    head = data[:room].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    return (head[:cut] if cut > 0 else head) + "\n" + note
