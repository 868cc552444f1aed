"""Interface text in Chinese (the default) and English.

The language comes from ``?lang=en`` / ``?lang=zh`` (remembered in a cookie), else the cookie, else
Chinese. Notice texts are never translated here: a notice shows its original text, with the Chinese
title from the SAMR digest beside it when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from fastapi import Request

Lang = Literal["zh", "en"]
LANG_COOKIE = "tbtwatch_lang"

TEXT: dict[str, tuple[str, str]] = {
    "site": ("浙江技术性贸易措施通报监测", "Zhejiang TBT/SPS notification monitor"),
    "nav_search": ("检索", "Search"),
    "nav_dashboard": ("统计", "Dashboard"),
    "nav_api": ("接口文档", "API docs"),
    "nav_admin": ("管理", "Admin"),
    "switch_lang": ("English", "中文"),
    "search": ("搜索", "Search"),
    "query_placeholder": (
        '关键词：玩具、锂电池、"lithium battery"、G/TBT/N/EU/1050',
        'Words: toys, 锂电池, "lithium battery", G/TBT/N/EU/1050',
    ),
    "filters": ("筛选", "Filters"),
    "kind": ("类型", "Kind"),
    "member": ("通报成员", "Notifying member"),
    "cluster": ("产业集群", "Industry cluster"),
    "hs": ("HS 编码前缀", "HS code prefix"),
    "risk": ("风险等级", "Risk"),
    "date_from": ("分发日期自", "Distributed from"),
    "date_to": ("至", "to"),
    "open_only": ("仅评议期内", "Open for comment only"),
    "sort": ("排序", "Sort"),
    "sort_relevance": ("相关度", "Relevance"),
    "sort_date": ("最新", "Newest"),
    "all": ("全部", "All"),
    "results": ("共 {n} 条结果", "{n} results"),
    "no_results": ("没有符合条件的通报。", "No notice matches."),
    "export": ("导出", "Export"),
    "export_note": ("最多导出 {n} 条", "at most {n} rows"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "facets": ("分面统计", "Facets"),
    "month": ("月份", "Month"),
    "kind_tbt": ("TBT 技术性贸易壁垒", "TBT"),
    "kind_sps": ("SPS 卫生与植物卫生措施", "SPS"),
    "kind_news": ("标准资讯", "News"),
    "risk_high": ("高风险", "High risk"),
    "risk_medium": ("中风险", "Medium risk"),
    "risk_low": ("低风险", "Low risk"),
    "distributed": ("分发日期", "Distributed"),
    "deadline": ("评议截止", "Comment deadline"),
    "days_left": ("剩余 {n} 天", "{n} days left"),
    "due_today": ("今天截止", "due today"),
    "closed": ("评议期已过", "comment period closed"),
    "no_deadline": ("无评议期", "no comment period"),
    # notice page
    "notice": ("通报详情", "Notice"),
    "original_title": ("原文标题", "Original title"),
    "title_zh": ("中文标题（市场监管总局每日通报）", "Chinese title (SAMR daily digest)"),
    "products_zh": ("中文产品", "Products (Chinese)"),
    "doc_type": ("文件类型", "Document type"),
    "doc_regular": ("通报", "regular"),
    "doc_addendum": ("增补", "addendum"),
    "doc_revision": ("修订", "revision"),
    "doc_corrigendum": ("更正", "corrigendum"),
    "doc_supplement": ("补遗", "supplement"),
    "doc_emergency": ("紧急通报", "emergency"),
    "description": ("内容描述", "Description"),
    "products": ("产品", "Products"),
    "hs_codes": ("HS 编码", "HS codes"),
    "ics_codes": ("ICS 编码", "ICS codes"),
    "objectives": ("目的", "Objectives"),
    "keywords": ("关键词", "Keywords"),
    "regions": ("影响地区", "Regions affected"),
    "notification_type": ("通报类型", "Notification type"),
    "language": ("语言", "Language"),
    "adoption_on": ("拟批准日期", "Proposed adoption"),
    "entry_into_force_on": ("拟生效日期", "Entry into force"),
    "url": ("原文链接", "Link"),
    "documents": ("文件", "Documents"),
    "joint_ids": ("联合通报", "Joint notifications"),
    "source": ("来源", "Source"),
    "fetched_at": ("采集时间", "Fetched"),
    "clusters_reasons": ("产业集群及依据", "Clusters and evidence"),
    "score": ("得分", "score"),
    "no_labels": ("尚未分类。", "Not classified yet."),
    "risk_reasons": ("风险依据", "Risk evidence"),
    "life": ("措施历程", "Life of the measure"),
    "this_document": ("本文件", "this document"),
    "versions": ("版本", "Versions"),
    # dashboard
    "dashboard": ("统计概览", "Dashboard"),
    "per_month": ("各月通报数（按类型）", "Notices per month by kind"),
    "top_members": ("通报最多的成员", "Top notifying members"),
    "per_cluster": ("各产业集群涉及通报数", "Notices per cluster"),
    "open_list": ("评议期内通报（按截止日期）", "Open for comment, by deadline"),
    "notices_total": ("通报总数", "Notices"),
    "count": ("数量", "Count"),
    "nothing_open": ("目前没有评议期内的通报。", "Nothing is open for comment."),
    # subscriptions
    "manage": ("管理我的订阅", "Manage my subscriptions"),
    "recipient": ("订阅人", "Recipient"),
    "addresses": ("邮箱", "Addresses"),
    "unsubscribed": ("已退订", "unsubscribed"),
    "active": ("接收中", "receiving"),
    "frequency": ("推送频率", "Frequency"),
    "freq_immediate": ("即时", "immediate"),
    "freq_daily": ("每日", "daily"),
    "freq_weekly": ("每周", "weekly"),
    "digest_language": ("邮件语言", "Digest language"),
    "subscriptions": ("订阅", "Subscriptions"),
    "sub_name": ("名称", "Name"),
    "keywords_hint": ("关键词（逗号分隔）", "Keywords (comma-separated)"),
    "hs_hint": ("HS 前缀（2–6 位，逗号分隔）", "HS prefixes (2–6 digits, comma-separated)"),
    "members_hint": ("成员代码（如 EU, USA）", "Member codes (e.g. EU, USA)"),
    "min_risk": ("最低风险", "Minimum risk"),
    "add_subscription": ("添加订阅", "Add subscription"),
    "delete": ("删除", "Delete"),
    "save": ("保存", "Save"),
    "saved": ("已保存。", "Saved."),
    "no_subscriptions": ("暂无订阅。", "No subscriptions."),
    "unsubscribe": ("退订", "Unsubscribe"),
    "unsubscribe_title": ("退订邮件", "Unsubscribe"),
    "unsubscribe_confirm": (
        "确认后，{address} 将不再收到预警邮件。",
        "After confirming, {address} will receive no more alert e-mails.",
    ),
    "unsubscribe_button": ("确认退订", "Confirm unsubscribe"),
    "unsubscribed_done": ("{address} 已退订。", "{address} is unsubscribed."),
    "already_unsubscribed": ("{address} 此前已退订。", "{address} was already unsubscribed."),
    "address_unsubscribed": (
        "{address} 已退订，不再收到预警邮件。",
        "{address} is unsubscribed and receives no alert e-mails.",
    ),
    "resubscribe_button": ("重新订阅", "Subscribe again"),
    "resubscribed": (
        "{address} 已重新订阅，之后的预警邮件会再次发送到此邮箱。",
        "{address} is subscribed again: the next alert e-mails go to this address.",
    ),
    "bad_link": (
        "链接无效或已失效，请使用最新邮件中的链接。",
        "This link is invalid or was revoked: use the link in your latest e-mail.",
    ),
    # admin
    "admin": ("订阅人管理", "Recipients"),
    "admin_login": ("管理员登录", "Admin sign-in"),
    "admin_token": ("管理令牌", "Admin token"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "admin_disabled": (
        "未设置 TBTWATCH_ADMIN_TOKEN，管理功能已关闭。",
        "TBTWATCH_ADMIN_TOKEN is not set: admin pages are switched off.",
    ),
    "wrong_token": ("令牌不正确。", "Wrong token."),
    "add_recipients": (
        "添加或更新订阅人（YAML，与 recipients 文件格式相同）",
        "Add or update recipients (YAML, the recipients file format)",
    ),
    "import": ("导入", "Import"),
    "remove": ("删除订阅人", "Remove recipient"),
    "manage_link": ("自助管理链接", "Self-service link"),
    "type": ("类型", "Type"),
    "organisation": ("单位", "Organisation"),
    # errors
    "error": ("出错了", "Error"),
    "not_found": ("找不到该页面或通报。", "No such page or notice."),
    "bad_request": ("请求有误：", "Bad request: "),
    "forbidden": ("无权访问。", "Forbidden."),
    "unavailable": ("搜索索引暂不可用。", "The search index is unavailable."),
    "server_error": ("服务器内部错误，已记录。", "Internal error; it was logged."),
    "csrf_failed": (
        "表单已过期或来源不明，请返回后重试。",
        "The form expired or came from another site: go back and try again.",
    ),
    "back": ("返回", "Back"),
    "sources": ("数据源", "Sources"),
}


def resolve_lang(request: Request) -> Lang:
    """``?lang=``, else the cookie, else Chinese."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return "en" if asked == "en" else "zh"


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)``: the text of ``key`` in ``lang`` with ``{values}`` filled in."""
    col = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        pair = TEXT.get(key)
        text = pair[col] if pair else key
        return text.format(**values) if values else text

    return t
