"""What the classifier reads: a :class:`Doc` built from a Notice, a gold-file row or a news text."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from classifier.text import codes_in_text
from tbtwatch.models import Notice


@dataclass(slots=True)
class Doc:
    """The fields the classifier uses (a Notice has more; news items have only title and text)."""

    id: str
    title: str
    description: str = ""
    products: str = ""
    hs_codes: list[str] = field(default_factory=list)
    ics_codes: list[str] = field(default_factory=list)
    member: str | None = None
    kind: str = "tbt"
    doc_type: str = "regular"
    notification_type: str = ""
    language: str = "en"
    distributed_on: date | None = None
    comment_deadline: date | None = None
    title_zh: str = ""
    products_zh: str = ""
    #: look for "(HS code(s): 8703)" in the products text when the code lists are empty
    codes_from_text: bool = True

    @classmethod
    def from_notice(cls, n: Notice) -> Doc:
        """The classifier's view of a stored notice."""
        return cls(
            id=n.id,
            title=n.title,
            description=n.description,
            products=n.products,
            hs_codes=list(n.hs_codes),
            ics_codes=list(n.ics_codes),
            member=n.member,
            kind=n.kind.value,
            doc_type=n.doc_type.value,
            notification_type=n.notification_type,
            language=n.language,
            distributed_on=n.distributed_on,
            comment_deadline=n.comment_deadline,
            title_zh=n.title_zh or "",
            products_zh=n.products_zh or "",
        )

    def text_only(self) -> Doc:
        """A copy without HS and ICS codes (``Classifier.text_only`` also drops the pasted code titles)."""
        return replace(self, hs_codes=[], ics_codes=[], codes_from_text=False)

    def codes(self) -> tuple[list[str], list[str]]:
        """HS and ICS codes: the lists, or those written into the products text when the lists are empty."""
        hs, ics = self.hs_codes, self.ics_codes
        if self.codes_from_text and not (hs and ics):
            text_hs, text_ics = codes_in_text(self.products)
            hs = hs or text_hs
            ics = ics or text_ics
        return hs, ics

    def model_text(self) -> str:
        """All text fields in one string, for the model."""
        parts = (self.title, self.title_zh, self.products, self.products_zh, self.description)
        return "\n".join(p for p in parts if p)

    def focus_text(self, limit: int = 400) -> str:
        """Title, products and the start of the description: the part character n-grams look at."""
        parts = (self.title, self.title_zh, self.products, self.products_zh, self.description[:limit])
        return "\n".join(p for p in parts if p)
