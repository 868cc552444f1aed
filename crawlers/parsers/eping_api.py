"""ePing API search pages and items (format in ``../shared/README.md``, no real capture available).

:func:`parse_search_page` reads one JSON page; :func:`to_record` maps one item to the canonical record keys
of :func:`tbtwatch.eping.build_notices`, which does the validation and builds the notices. The mapping
handles the known quirks: symbols with leading spaces or several comma-separated symbols (joint
notifications), ISO or dd/mm/yyyy dates, HTML in text fields (the ``*Plain`` copy is preferred), ``hsCodes``
as objects, and free-text adoption / entry-into-force dates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crawlers.errors import ParseError
from tbtwatch import members, normalise
from tbtwatch.errors import ValidationError

#: Keys the list of notifications has been seen under; the first present list wins.
ITEM_KEYS = ("items", "notifications", "results", "data", "Items")
DOMAIN_IDS = {"tbt": 1, "sps": 2}
_NOT_DIGIT = re.compile(r"\D")
_JOINT = re.compile(r"[,;\n]+")
_HS_CODE = re.compile(r"\d[\d.\s]*")


@dataclass
class SearchPage:
    """One page of search results."""

    current_page: int | None
    page_size: int | None
    total_count: int | None
    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0  # entries of the list that were not JSON objects


def parse_search_page(body: bytes) -> SearchPage:
    """Read one page; raise :class:`ParseError` when it is not a JSON object with a list of items."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ParseError(f"the API page is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise ParseError(f"the API page is a JSON {type(data).__name__}, expected an object")
    raw_items: Any = None
    for key in ITEM_KEYS:
        if isinstance(data.get(key), list):
            raw_items = data[key]
            break
    if raw_items is None:
        lists = [
            v for v in data.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)
        ]
        raw_items = lists[0] if len(lists) == 1 else None
    total = _int(data.get("totalCount", data.get("total")))
    if raw_items is None:
        if total in (0, None) and not any(isinstance(v, list) and v for v in data.values()):
            raw_items = []  # an empty result may come without the list at all
        else:
            raise ParseError(
                f"no list of notifications in the API page (keys: {', '.join(sorted(map(str, data)))[:200]})"
            )
    items = [x for x in raw_items if isinstance(x, dict)]
    return SearchPage(
        current_page=_int(data.get("currentPage", data.get("page"))),
        page_size=_int(data.get("pageSize")),
        total_count=total,
        items=items,
        skipped=len(raw_items) - len(items),
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def to_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical record of one API item (never raises; bad values are left for build_notices to reject)."""
    symbol = _text(item.get("documentSymbol"))
    member_name = _name(item.get("notifyingMember"))
    member_code = _text(item.get("notifyingMemberCode"))
    member: str | None
    if len([p for p in _JOINT.split(symbol) if p.strip()]) > 1:
        # a joint notification: one notice per symbol, each with the member its symbol names
        member = None
    elif member_name and members.resolve(member_name):
        member = member_name
    elif member_code and members.resolve(member_code):
        member = member_code
    elif symbol:
        member = None  # the symbol names the member; an unknown name must not reject a good notification
    else:
        member = member_name or member_code or None
    record: dict[str, Any] = {
        "symbol": symbol,
        "member": member,
        "title": _plain(item, "titlePlain", "title"),
        "description": _plain(item, "descriptionPlain", "description"),
        "products": _plain(item, "productsFreeTextPlain", "productsFreeText"),
        "objectives": _names(item.get("objectives")),
        "keywords": _names(item.get("keywords")),
        "regions": "; ".join(_names(item.get("countriesAffected"))),
        "distributed_on": _date_value(item.get("distributionDate")),
        "comment_deadline": _date_value(item.get("commentDeadlineDate")),
        "adoption_on": _soft_date(item.get("proposedAdoptionDate"), item.get("proposedAdoptionDateText")),
        "entry_into_force_on": _soft_date(
            item.get("proposedEntryIntoForceDate"), item.get("proposedEntryIntoForceDateText")
        ),
        "notification_type": _name(item.get("notificationType")),
        "area": _name(item.get("area")),
        "documents": _links(item.get("linkToNotification"), item.get("notifiedDocumentLink")),
        "language": "en",
        "eping_id": item.get("id") if isinstance(item.get("id"), (int, str)) else None,
    }
    hs = _hs_codes(item.get("hsCodes"))
    if hs:
        record["hs_codes"] = hs
    else:
        record["hs"] = _text(item.get("hsCodeText"))
    record["ics"] = _text(item.get("icsCodeText"))
    return record


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return normalise.clean_text(value)


def _plain(item: Mapping[str, Any], plain_key: str, html_key: str) -> str:
    plain = item.get(plain_key)
    if isinstance(plain, str) and plain.strip():
        # "plain" copies still carry entities now and then
        return normalise.html_to_text(plain) if "&" in plain or "<" in plain else normalise.clean_text(plain)
    value = item.get(html_key)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return normalise.html_to_text(value)
    return ""


def _name(value: Any) -> str:
    if isinstance(value, Mapping):
        for key in ("name", "Name", "description", "code"):
            if isinstance(value.get(key), (str, int)):
                return normalise.clean_text(value[key])
        return ""
    return _text(value)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return normalise.split_list(value)
    if not isinstance(value, list):
        return []
    out = [_name(v) for v in value]
    return list(dict.fromkeys(v for v in out if v))


def _date_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if value is None or isinstance(value, (int, float, bool, dict, list)):
        # numbers and structures are not dates: keep them visible so build_notices rejects with a reason
        return None if value is None else str(value)
    return value


def _soft_date(value: Any, text: Any) -> str | None:
    """A proposed date, or None: these fields are often free text ("upon publication"), which must not
    make the whole notification invalid."""
    for candidate in (value, text):
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        try:
            parsed = normalise.parse_date(candidate)
        except ValidationError:
            continue
        if parsed:
            return parsed.isoformat()
    return None


def _hs_codes(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    codes = []
    for entry in value:
        raw = entry.get("code") if isinstance(entry, Mapping) else entry
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            continue
        text = str(raw).strip()
        if not _HS_CODE.fullmatch(text):
            continue  # "85A" is not a code: dropping its letters would turn it into chapter 85
        digits = _NOT_DIGIT.sub("", text)
        if 2 <= len(digits) <= 10:
            codes.append(digits)
    return list(dict.fromkeys(codes))


def _links(*values: Any) -> list[str]:
    out: list[str] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for v in items:
            if isinstance(v, Mapping):
                v = v.get("url") or v.get("link")
            if isinstance(v, str):
                out.extend(p for p in v.split() if p.startswith(("http://", "https://")))
    return list(dict.fromkeys(out))
