"""The document both backends index for a notice: its searchable text, keyword fields, dates and labels.

Built from a :class:`~tbtwatch.models.Notice` and its :class:`~tbtwatch.models.Labels` (cluster ids and
risk grade are indexed, so searches can filter and facet on them). Every backend indexes exactly this
dict, so what one finds the other finds.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from index import analysis
from tbtwatch.models import Labels, Notice

#: Text fields (searched by English and by Chinese analysis), with their relevance weights.
TEXT_FIELDS: dict[str, float] = {
    "title": 3.0,
    "title_zh": 3.0,
    "products": 2.0,
    "products_zh": 2.0,
    "keywords": 1.5,
    "description": 1.0,
}
#: Keyword fields (exact values; lists where a notice can have several).
KEYWORD_FIELDS = ("id", "base_id", "kind", "doc_type", "member", "risk", "month", "language")
LIST_FIELDS = ("clusters", "hs_codes", "ics_codes")
DATE_FIELDS = ("distributed_on", "comment_deadline")
#: What a hit carries back besides snippets.
HIT_FIELDS = (
    "kind",
    "doc_type",
    "member",
    "title",
    "title_zh",
    "products",
    "products_zh",
    "distributed_on",
    "comment_deadline",
    "clusters",
    "risk",
    "hs_codes",
    "ics_codes",
    "url",
    "base_id",
    "language",
)
#: Facet name -> field.
FACETS: dict[str, str] = {
    "member": "member",
    "cluster": "clusters",
    "kind": "kind",
    "risk": "risk",
    "month": "month",
}
#: Buckets kept per facet (the month facet is returned in chronological order).
FACET_SIZES: dict[str, int] = {"member": 50, "cluster": 50, "kind": 3, "risk": 3, "month": 240}
#: Buckets asked from a backend per facet: more than any facet's number of values, so counts are exact.
FACET_FETCH = 500

_EPOCH = date(1970, 1, 1)
_HASH_BITS = 46
_MAX_DAYS = (1 << (63 - _HASH_BITS)) - 1


def sort_key(notice_id: str, distributed_on: date | None) -> int:
    """Newest-first order shared by the backends: distribution day, then a stable hash of the id.

    Notices distributed on one day tie on date; both backends break the tie the same way with this
    single number (tantivy sorts by one fast field only). Undated notices sort last.
    """
    days = 0 if distributed_on is None else min(max((distributed_on - _EPOCH).days + 1, 1), _MAX_DAYS)
    digest = int.from_bytes(hashlib.sha1(notice_id.encode("utf-8")).digest()[:8], "big")
    return (days << _HASH_BITS) | (digest >> (64 - _HASH_BITS))


def build_document(notice: Notice, labels: Labels | None) -> dict[str, Any]:
    """The index document of ``notice`` (JSON-ready: dates as ISO strings, absent values as None)."""
    keywords = "; ".join([*notice.objectives, *notice.keywords])
    return {
        "id": notice.id,
        "base_id": notice.base_id,
        "kind": notice.kind.value,
        "doc_type": notice.doc_type.value,
        "member": notice.member,
        "language": notice.language,
        "title": analysis.prepare(notice.title),
        "title_zh": _text(notice.title_zh),
        "description": _text(notice.description),
        "products": _text(notice.products),
        "products_zh": _text(notice.products_zh),
        "keywords": _text(keywords),
        "hs_codes": list(notice.hs_codes),
        "ics_codes": list(notice.ics_codes),
        "clusters": [c.cluster_id for c in labels.clusters] if labels else [],
        "risk": labels.risk.value if labels else None,
        "distributed_on": notice.distributed_on.isoformat() if notice.distributed_on else None,
        "comment_deadline": notice.comment_deadline.isoformat() if notice.comment_deadline else None,
        "month": notice.distributed_on.strftime("%Y-%m") if notice.distributed_on else None,
        "url": notice.url or None,
        "sort_key": sort_key(notice.id, notice.distributed_on),
    }


def _text(value: str | None) -> str | None:
    # absent and empty are the same to every backend: None
    return analysis.prepare(value) if value else None


def prefixes(code: str) -> list[str]:
    """Every leading substring of a code (``8507``: ``8``, ``85``, ``850``, ``8507``), for prefix search."""
    return [code[:i] for i in range(1, len(code) + 1)]
