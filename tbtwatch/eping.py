"""Turn one ePing record (a workbook row or an API item mapped to canonical keys) into notices.

Canonical keys (all optional except ``title`` and a member or a symbol): ``member`` (name or code),
``symbol`` (cell text, may be a joint list), ``symbol_url``, ``title``, ``description``, ``products``,
``hs`` (ePing cell text) or ``hs_codes`` (list), ``ics`` or ``ics_codes``, ``objectives``, ``keywords``
(cells or lists), ``regions``, ``distributed_on``, ``comment_deadline``, ``adoption_on``,
``entry_into_force_on``, ``notification_type``, ``area`` (TBT/SPS), ``documents`` (list of URLs), ``url``.

Joint notifications (one cell, several symbols): one notice per symbol. A workbook repeats the row once
per co-notifying member, so the symbol of the row's member is taken and the others go to ``joint_ids``;
when the row's member is none of them (an API item), every symbol becomes its own notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from tbtwatch import members, normalise, symbols
from tbtwatch.errors import SymbolError, ValidationError
from tbtwatch.ingest import Item, Rejected
from tbtwatch.models import DocType, Kind, Notice, synthetic_id

EPING_VIEW_URL = "https://eping.wto.org/en/Search?viewData={symbol}"


def build_notices(
    record: Mapping[str, Any], *, source: str, fetched_at: datetime | None = None
) -> list[Item]:
    """Notices for one record, or a single Rejected with the reason (the record is kept as raw)."""
    try:
        return list(_build(record, source, fetched_at or datetime.now(UTC)))
    except (ValidationError, SymbolError) as exc:
        return [Rejected(str(exc), _raw(record))]
    except PydanticValidationError as exc:
        return [Rejected(_pydantic_reason(exc), _raw(record))]


def _build(record: Mapping[str, Any], source: str, fetched_at: datetime) -> list[Notice]:
    title = normalise.clean_text(record.get("title"))
    if not title:
        raise ValidationError("title is empty")
    member_text = normalise.clean_text(record.get("member"))
    member = members.resolve(member_text) if member_text else None
    if member_text and member is None:
        raise ValidationError(
            f"unknown notifying member {member_text!r} (add it to tbtwatch/data/wto_members.csv if it is a WTO member)"
        )
    _url, symbol_text = normalise.hyperlink(record.get("symbol"))
    syms = symbols.split_symbols(symbol_text) if symbol_text else []
    distributed_on = normalise.parse_date(record.get("distributed_on"), "distribution date")
    fields: dict[str, Any] = {
        "description": normalise.clean_text(record.get("description")),
        "products": normalise.clean_text(record.get("products")),
        "hs_codes": _codes(record, "hs_codes", "hs", normalise.split_hs),
        "ics_codes": _codes(record, "ics_codes", "ics", normalise.split_ics),
        "objectives": _list(record.get("objectives")),
        "keywords": _list(record.get("keywords")),
        "regions_affected": normalise.clean_text(record.get("regions")),
        "notification_type": normalise.clean_text(record.get("notification_type")),
        "distributed_on": distributed_on,
        "comment_deadline": normalise.parse_date(record.get("comment_deadline"), "final date for comments"),
        "adoption_on": normalise.parse_date(record.get("adoption_on"), "proposed adoption date"),
        "entry_into_force_on": normalise.parse_date(
            record.get("entry_into_force_on"), "proposed entry into force"
        ),
        "documents": _documents(record.get("documents")),
        "language": str(
            record.get("language") or normalise.guess_language(f"{title} {record.get('description') or ''}")
        ),
        "source": source,
        "fetched_at": fetched_at,
    }
    type_doc = normalise.doc_type_from_notification_type(fields["notification_type"])
    if not syms:
        area = normalise.clean_text(record.get("area")).lower()
        kind = (
            area
            if area in {"tbt", "sps"}
            else normalise.kind_from_text(
                " ".join(fields["objectives"]),
                fields["notification_type"],
                " ".join(fields["documents"]),
                str(record.get("url") or ""),
            )
        )
        if kind is None:
            raise ValidationError("no document symbol, and TBT or SPS cannot be told from objectives or type")
        if member is None:
            raise ValidationError("no document symbol and no notifying member")
        nid = synthetic_id(kind, member, distributed_on, title)
        return [
            Notice(
                id=nid,
                base_id=nid,
                kind=Kind(kind),
                doc_type=DocType(type_doc or "regular"),
                member=member,
                title=title,
                url=str(record.get("url") or ""),
                synthetic_id=True,
                **fields,
            )
        ]
    own = [s for s in syms if member and s.member == member]
    chosen = own[:1] if own else syms
    out = []
    for sym in chosen:
        doc_type = sym.doc_type
        if doc_type == "regular" and type_doc == "emergency":
            doc_type = "emergency"
        joint = [str(s) for s in syms if s != sym]
        url = str(record.get("url") or "") or EPING_VIEW_URL.format(symbol=sym)
        out.append(
            Notice(
                id=str(sym),
                base_id=sym.base_id,
                kind=Kind(sym.kind),
                doc_type=DocType(doc_type),
                member=sym.member or member,
                title=title,
                url=url,
                joint_ids=joint,
                **fields,
            )
        )
    return out


def _codes(record: Mapping[str, Any], list_key: str, cell_key: str, split: Any) -> list[str]:
    if record.get(list_key):
        value = record[list_key]
        if isinstance(value, str):
            return list(split(value))
        return [str(c).replace(".", "").strip() if list_key == "hs_codes" else str(c).strip() for c in value]
    return list(split(record.get(cell_key)))


def _list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return list(dict.fromkeys(normalise.clean_text(v) for v in value if normalise.clean_text(v)))
    return normalise.split_list(value)


def _documents(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split()
    urls = []
    for item in items:
        url, text = normalise.hyperlink(item)
        url = url or text
        for part in url.split():
            if part.startswith(("http://", "https://")):
                urls.append(part)
    return list(dict.fromkeys(urls))


def _raw(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in record.items()}


def _pydantic_reason(exc: PydanticValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "notice"
        parts.append(f"{loc}: {err['msg']}")
    return "invalid notice: " + "; ".join(parts)
