"""The core model: a Notice (a WTO TBT/SPS notification or a standards news item) and its labels.

A Notice is what every source produces and what the store, classifier, index and alerts consume.
``content_hash`` covers the content fields only, so re-crawling the same document is a no-op while a
changed title, date or code list makes a new version (DESIGN.md invariant 2).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from tbtwatch import symbols


class Kind(StrEnum):
    """What the item is: a TBT or SPS notification, or a news item."""

    TBT = "tbt"
    SPS = "sps"
    NEWS = "news"


class DocType(StrEnum):
    """The notification's document type (news items are ``regular``)."""

    REGULAR = "regular"
    ADDENDUM = "addendum"
    REVISION = "revision"
    CORRIGENDUM = "corrigendum"
    SUPPLEMENT = "supplement"
    EMERGENCY = "emergency"


class Risk(StrEnum):
    """Risk grade of a notice for Zhejiang exporters."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Fields that are not content: they change on every fetch or are derived, so they stay out of the hash.
NON_CONTENT_FIELDS = frozenset({"fetched_at", "content_hash", "source", "title_zh", "products_zh"})


def news_id(canonical_url: str) -> str:
    """Stable id of a news item: ``news:<sha1 of the canonical URL>``."""
    return "news:" + hashlib.sha1(canonical_url.strip().encode("utf-8")).hexdigest()


def synthetic_id(kind: str, member: str | None, distributed_on: date | None, title: str) -> str:
    """Stable id for a notification row that has no document symbol (marked ``synthetic_id=True``)."""
    key = "\x1f".join(
        [kind, member or "", distributed_on.isoformat() if distributed_on else "", title.strip()]
    )
    return f"nosymbol:{kind}:" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]


#: Validation context of notices read back from the store: their stored ``content_hash`` is trusted.
STORED: dict[str, bool] = {"stored": True}


class Notice(BaseModel):
    """One WTO notification document or one news item, normalised."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    base_id: str = Field(min_length=1, max_length=200)
    kind: Kind
    doc_type: DocType = DocType.REGULAR
    member: str | None = Field(default=None, pattern=r"^[A-Z]{2,4}$")
    title: str = Field(min_length=1, max_length=4000)
    description: str = Field(default="", max_length=200_000)
    products: str = Field(default="", max_length=50_000)
    hs_codes: list[str] = Field(default_factory=list)
    ics_codes: list[str] = Field(default_factory=list)
    objectives: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    regions_affected: str = ""
    notification_type: str = ""
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    distributed_on: date | None = None
    comment_deadline: date | None = None
    adoption_on: date | None = None
    entry_into_force_on: date | None = None
    url: str = ""
    documents: list[str] = Field(default_factory=list)
    joint_ids: list[str] = Field(default_factory=list)
    synthetic_id: bool = False
    title_zh: str | None = None
    products_zh: str | None = None
    source: str = Field(default="unknown", min_length=1)
    fetched_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    content_hash: str = ""

    @field_validator("hs_codes")
    @classmethod
    def _check_hs(cls, v: list[str]) -> list[str]:
        for code in v:
            if not (code.isdigit() and 2 <= len(code) <= 10):
                raise ValueError(f"HS code {code!r} must be 2 to 10 digits")
        return list(dict.fromkeys(v))

    @field_validator("ics_codes")
    @classmethod
    def _check_ics(cls, v: list[str]) -> list[str]:
        for code in v:
            parts = code.split(".")
            if not (1 <= len(parts) <= 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 2):
                raise ValueError(f"ICS code {code!r} must look like 97, 97.200 or 97.200.50")
        return list(dict.fromkeys(v))

    @field_validator("fetched_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Notice:
        if self.kind is Kind.NEWS:
            if not self.id.startswith("news:"):
                raise ValueError(f"news id {self.id!r} must start with 'news:'")
        elif not self.synthetic_id:
            sym = symbols.parse(self.id)
            if str(sym) != self.id:
                raise ValueError(f"id {self.id!r} is not normalised (expected {sym})")
            if sym.kind != self.kind.value:
                raise ValueError(
                    f"id {self.id!r} is a {sym.kind.upper()} symbol but kind is {self.kind.value}"
                )
            if self.base_id != sym.base_id:
                raise ValueError(f"base_id {self.base_id!r} does not match id (expected {sym.base_id})")
        if self.comment_deadline and self.distributed_on and self.comment_deadline < self.distributed_on:
            raise ValueError(
                f"comment deadline {self.comment_deadline} is before distribution {self.distributed_on}"
            )
        # Read back from the store (context STORED), the hash written with the row is kept: recomputing it
        # is most of the cost of reading a notice (reindex, digests, the web app).
        if not (self.content_hash and isinstance(info.context, dict) and info.context.get("stored")):
            self.content_hash = self.compute_hash()
        return self

    def content(self) -> dict[str, Any]:
        """The fields that define the document's content, JSON-ready."""
        return self.model_dump(mode="json", exclude=set(NON_CONTENT_FIELDS))

    def compute_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`content`."""
        blob = json.dumps(self.content(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def is_open_for_comment(self, on: date) -> bool:
        """True when the comment deadline is on or after ``on``."""
        return self.comment_deadline is not None and self.comment_deadline >= on


class ClusterLabel(BaseModel):
    """One cluster a notice belongs to, with score and the evidence (``hs:9503``, ``kw:玩具``, ``model:0.83``)."""

    cluster_id: str
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)


class Labels(BaseModel):
    """Classifier output for one notice."""

    notice_id: str
    clusters: list[ClusterLabel] = Field(default_factory=list)
    risk: Risk = Risk.LOW
    risk_reasons: list[str] = Field(default_factory=list)
    model_version: str = "rules"
