"""The JSON API under ``/api`` (described at ``/openapi.json`` and ``/docs``), ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import yaml
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from alerts.errors import RecipientError
from alerts.recipients import parse_recipients
from alerts.repository import AlertsRepository
from index.backend import Results
from index.query import MAX_PAGE_SIZE
from tbtwatch import members
from tbtwatch.web import schemas, security, stats
from tbtwatch.web.deps import Ctx, WebContext
from tbtwatch.web.errors import Forbidden, NotFound
from tbtwatch.web.metrics import Registry, gauge
from tbtwatch.web.searchform import SearchForm

router = APIRouter()

Many = Annotated[list[str] | None, Query()]


class _Json(JSONResponse):
    """Compact UTF-8 JSON (Chinese as is), encoded by orjson (dataclasses such as hits included)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return _Json(data, status_code=status)


def _param(name: str, schema: dict[str, Any], description: str, *, many: bool = False) -> dict[str, Any]:
    """An OpenAPI query parameter (a repeatable one is an array of strings)."""
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


#: The search parameters as documented. The handler reads them itself (:class:`SearchForm`): FastAPI's
#: per-request parameter machinery cost more CPU than the search it fronted.
SEARCH_PARAMETERS = [
    _param(
        "q", {"type": "string", "default": ""}, 'text: words, "phrases", 中文, AND/OR/NOT, -word, symbols'
    ),
    _param("kind", {"type": "string"}, "tbt, sps or news", many=True),
    _param("member", {"type": "string"}, "WTO member code such as EU, USA", many=True),
    _param("cluster", {"type": "string"}, "cluster id", many=True),
    _param("hs", {"type": "string"}, "HS code prefix (digits)", many=True),
    _param("risk", {"type": "string"}, "high, medium or low", many=True),
    _param("from", {"type": "string", "format": "date"}, "distributed on or after (YYYY-MM-DD)"),
    _param("to", {"type": "string", "format": "date"}, "distributed on or before (YYYY-MM-DD)"),
    _param("open", {"type": "string"}, "1: open for comment today"),
    _param("sort", {"type": "string", "enum": ["relevance", "date"], "default": "relevance"}, "order"),
    _param("page", {"type": "integer", "minimum": 1, "default": 1}, "page number"),
    _param(
        "size", {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_SIZE, "default": 20}, "hits per page"
    ),
    _param("facets", {"type": "boolean", "default": True}, "false: leave the facet counts out (cheaper)"),
]


@router.get(
    "/api/search",
    tags=["search"],
    summary="Search notices with filters, facets and snippets",
    openapi_extra={"parameters": SEARCH_PARAMETERS},
    responses={200: {"model": schemas.SearchPage}, **schemas.errors(400, 503)},
)
async def api_search(request: Request) -> JSONResponse:
    """One page of hits (snippets are HTML: escaped text with ``<mark>``), the exact total and facets.

    Repeatable filters (``kind``, ``member``, ``cluster``, ``hs``, ``risk``) also accept comma-separated values.
    Bad parameters are a 400 with ``{"detail": ...}``. ``facets=false`` answers ``"facets": {}``.
    """
    ctx: WebContext = request.app.state.ctx
    form = SearchForm.from_api_params(request.query_params)
    query = form.query(ctx.today())
    if ctx.settings.index.backend == "embedded":
        # on the event loop: an embedded search is a millisecond or two of CPU, less than a thread hop costs
        results = ctx.backend.search(query)
    else:  # Elasticsearch: waiting on the network must not hold up the other requests
        results = await run_in_threadpool(lambda: ctx.backend.search(query))
    return _json({"query": form.q, **results_dict(results)})


def results_dict(results: Results) -> dict[str, Any]:
    """``Results.as_dict()`` without the deep copy of ``dataclasses.asdict`` (orjson encodes hits and buckets)."""
    return {
        "total": results.total,
        "page": results.page,
        "size": results.size,
        "hits": results.hits,
        "facets": results.facets,
        "backend": results.backend,
        "took_ms": results.took_ms,
    }


@router.get(
    "/api/notices/{notice_id:path}",
    tags=["notices"],
    summary="One notice with labels and its measure's life",
    responses=schemas.errors(404),
)
def api_notice(notice_id: str, ctx: Ctx) -> JSONResponse:
    """Every field, cluster labels and risk with reasons, the other documents of the measure, days left."""
    with ctx.store() as store:
        notice = store.get(notice_id)
        if notice is None:
            raise NotFound(f"notice {notice_id[:200]!r} is not in the store")
        labels = store.get_labels(notice_id)
        family = store.family(notice.base_id)
    today = ctx.today()
    return _json(
        {
            "notice": notice.model_dump(mode="json"),
            "member_zh": members.chinese_name(notice.member),
            "labels": labels.model_dump(mode="json") if labels else None,
            "family": family,
            "open_for_comment": notice.is_open_for_comment(today),
            "days_left": (notice.comment_deadline - today).days if notice.comment_deadline else None,
        }
    )


@router.get("/api/stats", tags=["stats"], summary="Counts per month and kind, member, cluster; open list")
def api_stats(ctx: Ctx) -> JSONResponse:
    """The dashboard's figures."""
    with ctx.store() as store:
        figures = stats.compute(store, ctx.today())
    names = {cid: c.name_zh for cid, c in ctx.clusters.items()}
    return _json(figures.as_dict(names))


@router.get("/api/sources", tags=["sources"], summary="Sources: last run, counts, crawl state")
def api_sources(ctx: Ctx) -> JSONResponse:
    """Every source recorded in the store."""
    with ctx.store() as store:
        return _json({"sources": stats.sources(store)})


# -- admin (bearer token only: no cookies, so no CSRF) ----------------------------------------------------
async def require_bearer(request: Request, ctx: Ctx) -> None:
    """403 unless ``Authorization: Bearer <TBTWATCH_ADMIN_TOKEN>``."""
    if security.admin_token(ctx.settings) is None:
        raise Forbidden("admin API is switched off: set TBTWATCH_ADMIN_TOKEN")
    if not security.token_matches(ctx.settings, security.bearer(request.headers.get("authorization"))):
        raise Forbidden("admin token required: Authorization: Bearer <TBTWATCH_ADMIN_TOKEN>")


@router.get(
    "/api/admin/recipients",
    tags=["admin"],
    summary="List recipients (admin)",
    dependencies=[Depends(require_bearer)],
    responses=schemas.errors(403),
)
def api_recipients(ctx: Ctx) -> JSONResponse:
    """Every recipient with addresses and subscriptions."""
    with ctx.store() as store:
        return _json({"recipients": [r.as_dict() for r in AlertsRepository(store).list_recipients()]})


@router.post(
    "/api/admin/recipients",
    tags=["admin"],
    summary="Create or update recipients (admin)",
    dependencies=[Depends(require_bearer)],
    responses=schemas.errors(400, 403, 413),
)
def api_import_recipients(
    ctx: Ctx,
    document: Annotated[
        dict[str, Any], Body(description="the recipients-file document: {version, recipients: [...]}")
    ],
) -> JSONResponse:
    """Import recipients in the recipients-file format; answers the created/updated/unchanged counts."""
    try:
        recipients = parse_recipients(document, known_clusters=set(ctx.clusters) or None, where="body")
    except (RecipientError, yaml.YAMLError) as exc:
        return _json({"detail": str(exc)}, 400)
    with ctx.store() as store:
        return _json(AlertsRepository(store).import_recipients(recipients))


@router.delete(
    "/api/admin/recipients/{key}",
    tags=["admin"],
    summary="Remove a recipient (admin)",
    dependencies=[Depends(require_bearer)],
    responses=schemas.errors(403, 404),
)
def api_remove_recipient(key: str, ctx: Ctx) -> JSONResponse:
    """Remove a recipient with its subscriptions; 404 when unknown."""
    with ctx.store() as store:
        if not AlertsRepository(store).remove_recipient(key):
            raise NotFound(f"no recipient {key[:100]!r}")
    return _json({"removed": key})


# -- health and metrics -----------------------------------------------------------------------------------
@router.get("/healthz", tags=["health"], summary="Liveness")
async def healthz() -> dict[str, str]:
    """``{"status": "ok"}`` while the app answers."""
    return {"status": "ok"}


@router.get("/metrics", tags=["health"], summary="Prometheus metrics", response_class=PlainTextResponse)
def metrics(request: Request, ctx: Ctx) -> PlainTextResponse:
    """Request counts and latency, notices, outbox, index documents, source runs (text format 0.0.4)."""
    registry: Registry = request.app.state.metrics
    lines = registry.lines()
    with ctx.store() as store:
        by_kind = {
            r[0]: int(r[1]) for r in store.conn.execute("SELECT kind, count(*) FROM notices GROUP BY kind")
        }
        outbox = AlertsRepository(store).outbox_counts()
        runs = {
            (r[0], r[1]): int(r[2])
            for r in store.conn.execute("SELECT source, status, count(*) FROM source_runs GROUP BY 1, 2")
        }
        recipients = int(store.conn.execute("SELECT count(*) FROM recipients").fetchone()[0])
    lines += gauge("tbtwatch_notices_total", "Notices in the store.", [({}, sum(by_kind.values()))])
    lines += gauge(
        "tbtwatch_notices", "Notices in the store by kind.", [({"kind": k}, v) for k, v in by_kind.items()]
    )
    lines += gauge(
        "tbtwatch_outbox_messages",
        "Outbox messages by status.",
        [({"status": s}, outbox.get(s, 0)) for s in sorted({"pending", "sent", "failed", *outbox})],
    )
    lines += gauge(
        "tbtwatch_outbox_pending", "Messages waiting to be sent.", [({}, outbox.get("pending", 0))]
    )
    lines += gauge("tbtwatch_recipients", "Recipients.", [({}, recipients)])
    lines += gauge(
        "tbtwatch_source_runs",
        "Recorded source runs by status.",
        [({"source": s, "status": st}, n) for (s, st), n in runs.items()],
    )
    lines += gauge("tbtwatch_index_documents", "Documents in the search index.", [({}, ctx.backend.count())])
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8")
