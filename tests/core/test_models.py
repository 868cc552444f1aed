"""The Notice model: validation and the content hash."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from tbtwatch.models import Notice


def make(**kw: object) -> Notice:
    fields: dict[str, object] = {
        "id": "G/SPS/N/THA/155/Rev.2/Add.1",
        "base_id": "G/SPS/N/THA/155",
        "kind": "sps",
        "doc_type": "addendum",
        "member": "THA",
        "title": "MRLs for pesticides",
    }
    fields.update(kw)
    return Notice.model_validate(fields)


def test_content_hash_ignores_fetch_metadata() -> None:
    a = make()
    b = make(source="other", fetched_at="2031-01-01T00:00:00Z", title_zh="农药残留限量")
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64
    assert make(title="MRLs for pesticides (revised)").content_hash != a.content_hash


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "g/sps/n/tha/155/rev.2/add.1"}, "not normalised"),
        ({"kind": "tbt"}, "SPS symbol but kind is tbt"),
        ({"base_id": "G/SPS/N/THA/156"}, "does not match"),
        ({"title": ""}, "at least 1 character"),
        ({"hs_codes": ["95x3"]}, "2 to 10 digits"),
        ({"ics_codes": ["97-200"]}, "97.200.50"),
        ({"member": "thailand"}, "pattern"),
        ({"kind": "news"}, "must start with 'news:'"),
        ({"distributed_on": date(2025, 6, 2), "comment_deadline": date(2025, 6, 1)}, "before distribution"),
        ({"unknown_field": 1}, "Extra inputs"),
    ],
)
def test_invalid_notices_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(**changes)


def test_open_for_comment() -> None:
    n = make(distributed_on=date(2025, 6, 1), comment_deadline=date(2025, 8, 1))
    assert n.is_open_for_comment(date(2025, 8, 1)) and not n.is_open_for_comment(date(2025, 8, 2))
