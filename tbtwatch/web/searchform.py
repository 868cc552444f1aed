"""The search form: URL parameters -> :class:`index.query.Query`, and back to URLs for paging and export.

Parameters: ``q`` text; ``kind``, ``risk`` (repeatable); ``member``, ``cluster``, ``hs`` (repeatable or
comma-separated); ``from`` / ``to`` distribution dates (YYYY-MM-DD); ``open=1`` open for comment today;
``sort`` relevance or date; ``page``; ``size``; ``facets`` (``0``/``false``: leave the facet counts out, which
makes a search cheaper). Bad values raise :class:`QuerySyntaxError` (a 400).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from index.errors import QuerySyntaxError
from index.query import MAX_PAGE_SIZE, Query

PAGE_SIZE = 20


def _many(params: QueryParams, name: str) -> list[str]:
    return [v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip()]


def _date(value: str | None, name: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QuerySyntaxError(f"{name} {value[:40]!r} is not a date: write it as YYYY-MM-DD") from None


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    digits = value.strip()
    # isdigit() alone lets through "²" and other digits int() refuses
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 6:
        raise QuerySyntaxError(f"{name} must be a positive whole number")
    return int(digits)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(value: str | None, name: str, default: bool) -> bool:
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        raise QuerySyntaxError(f"{name} must be 1 or 0 (true or false)")
    return word in _TRUE


@dataclass(slots=True)
class SearchForm:
    """The values of the search form as typed (re-displayed in the page) and the query they make."""

    q: str = ""
    kinds: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    hs: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    date_from: str = ""
    date_to: str = ""
    open_only: bool = False
    sort: str = "relevance"
    page: int = 1
    size: int = PAGE_SIZE
    facets: bool = True

    @classmethod
    def from_params(cls, params: QueryParams) -> SearchForm:
        """Read the form from URL parameters (numbers and switches are checked; the query is not yet)."""
        return cls(
            q=params.get("q", "")[:2000],
            kinds=_many(params, "kind"),
            members=_many(params, "member"),
            clusters=_many(params, "cluster"),
            hs=_many(params, "hs"),
            risks=_many(params, "risk"),
            date_from=params.get("from", "").strip()[:20],
            date_to=params.get("to", "").strip()[:20],
            open_only=params.get("open", "") in ("1", "on", "true"),
            sort=params.get("sort", "relevance"),
            page=_int(params.get("page"), "page", 1),
            size=min(_int(params.get("size"), "size", PAGE_SIZE), MAX_PAGE_SIZE),
            facets=_bool(params.get("facets"), "facets", True),
        )

    @classmethod
    def from_api_params(cls, params: QueryParams) -> SearchForm:
        """Like :meth:`from_params`, but a page below 1 or a size above the maximum is an error, not clamped."""
        form = cls.from_params(params)
        if _int(params.get("page"), "page", 1) < 1:
            raise QuerySyntaxError("page must be 1 or more")
        if _int(params.get("size"), "size", PAGE_SIZE) > MAX_PAGE_SIZE:
            raise QuerySyntaxError(f"size must be at most {MAX_PAGE_SIZE}")
        return form

    def query(self, today: date, **overrides: object) -> Query:
        """The validated query; raises :class:`QuerySyntaxError` with a message for the user."""
        if self.sort not in ("relevance", "date"):
            raise QuerySyntaxError("sort must be relevance or date")
        values: dict[str, object] = {
            "text": self.q,
            "kinds": self.kinds,
            "members": self.members,
            "clusters": self.clusters,
            "hs_prefixes": self.hs,
            "risks": self.risks,
            "distributed_from": _date(self.date_from, "from"),
            "distributed_to": _date(self.date_to, "to"),
            "open_on": today if self.open_only else None,
            "sort": self.sort,
            "page": max(self.page, 1),
            "size": self.size,
            "facets": self.facets,
        }
        values.update(overrides)
        return Query(**values)

    def params(self, **changes: object) -> list[tuple[str, str]]:
        """URL parameters of this form (with some changed), empty values left out."""
        data: dict[str, object] = {
            "q": self.q,
            "kind": self.kinds,
            "member": self.members,
            "cluster": self.clusters,
            "hs": self.hs,
            "risk": self.risks,
            "from": self.date_from,
            "to": self.date_to,
            "open": "1" if self.open_only else "",
            "sort": self.sort if self.sort != "relevance" else "",
            "page": str(self.page) if self.page > 1 else "",
            "size": str(self.size) if self.size != PAGE_SIZE else "",
            "facets": "" if self.facets else "0",
        }
        data.update(changes)
        out: list[tuple[str, str]] = []
        for key, value in data.items():
            if isinstance(value, list):
                out.extend((key, str(v)) for v in value)
            elif value not in ("", None):
                out.append((key, str(value)))
        return out

    def url(self, path: str, **changes: object) -> str:
        """``path`` with this form's parameters."""
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path
