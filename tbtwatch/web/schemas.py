"""Response shapes of the JSON API, for the OpenAPI description only (``/openapi.json``).

The handlers build plain dicts (validating every response would cost more than the search); the tests
check real answers against these schemas (schemathesis).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    """Every error of the API: ``{"detail": "..."}``."""

    detail: str


class Bucket(BaseModel):
    """One facet value and its count."""

    key: str
    count: int


class Hit(BaseModel):
    """One matching notice: snippets are HTML (escaped text, matches in ``<mark>``)."""

    id: str
    score: float | None
    snippets: dict[str, str]
    fields: dict[str, Any]


class SearchPage(BaseModel):
    """One page of search results."""

    query: str
    total: int
    page: int
    size: int
    hits: list[Hit]
    facets: dict[str, list[Bucket]]
    backend: str
    took_ms: float


_DESCRIPTIONS = {
    400: "Bad parameters or query text / 参数或查询有误",
    403: "Admin token missing or wrong / 需要管理令牌",
    404: "Not found / 未找到",
    413: "Request body too large / 请求内容过大",
    503: "Search index unavailable / 搜索索引不可用",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error statuses, each answering :class:`ErrorDetail`."""
    return {s: {"model": ErrorDetail, "description": _DESCRIPTIONS[s]} for s in statuses}
