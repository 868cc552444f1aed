"""HTML pages: search (with facets, paging and export), a notice, the dashboard, the API docs page."""

from __future__ import annotations

import calendar
import math
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from index.backend import Results
from index.errors import QuerySyntaxError
from index.query import MAX_RESULT_WINDOW
from tbtwatch import members
from tbtwatch.web import charts, export, stats
from tbtwatch.web.deps import Ctx, WebContext
from tbtwatch.web.errors import NotFound
from tbtwatch.web.i18n import resolve_lang, translator
from tbtwatch.web.render import render
from tbtwatch.web.searchform import SearchForm

router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    """The search page is the front page."""
    return RedirectResponse("/search", status_code=307)


def _facets(form: SearchForm, results: Results, ctx: WebContext, lang: str) -> list[tuple[str, list[Any]]]:
    """Facet buckets as (label, count, URL that adds the value as a filter)."""
    t = translator("en" if lang == "en" else "zh")
    out: list[tuple[str, list[Any]]] = []
    for name, buckets in results.facets.items():
        rows = []
        for b in buckets:
            if name == "member":
                label = (
                    f"{members.chinese_name(b.key) if lang == 'zh' else members.english_name(b.key)} {b.key}"
                )
                url = form.url("/search", member=[b.key], page="")
            elif name == "cluster":
                label = ctx.cluster_name(b.key, lang)
                url = form.url("/search", cluster=[b.key], page="")
            elif name == "kind":
                label = t("kind_" + b.key)
                url = form.url("/search", kind=[b.key], page="")
            elif name == "risk":
                label = t("risk_" + b.key)
                url = form.url("/search", risk=[b.key], page="")
            else:  # month: the month's first and last day
                year, month = (int(p) for p in b.key.split("-"))
                last = calendar.monthrange(year, month)[1]
                label = b.key
                url = form.url(
                    "/search",
                    **{"from": f"{b.key}-01", "to": date(year, month, last).isoformat(), "page": ""},
                )
            rows.append((label, b.count, url))
        if name == "month":
            rows.reverse()  # newest month first
        out.append((name, rows))
    return out


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The analysts' search page; a bad query re-shows the form with the reason (400)."""
    lang = resolve_lang(request)
    common: dict[str, Any] = {
        "cluster_ids": list(ctx.clusters),
        "export_limit": ctx.settings.web.export_limit,
    }
    try:
        form = SearchForm.from_params(request.query_params)
        query = form.query(ctx.today())
    except QuerySyntaxError as exc:
        form = SearchForm(q=request.query_params.get("q", "")[:2000])
        return render(request, "search.html", status=400, error=str(exc), results=None, form=form, **common)
    results = ctx.backend.search(query)
    pages = max(
        1, min(math.ceil(results.total / max(query.size, 1)), MAX_RESULT_WINDOW // max(query.size, 1))
    )
    return render(
        request,
        "search.html",
        form=form,
        results=results,
        pages=pages,
        facets=_facets(form, results, ctx, lang),
        **common,
    )


def _export(request: Request, ctx: WebContext) -> list[list[str]]:
    form = SearchForm.from_params(request.query_params)
    query = form.query(ctx.today(), page=1, size=0, facets=False, highlight=False)
    ids = ctx.backend.ids(query, limit=ctx.settings.web.export_limit)
    lang = resolve_lang(request)
    with ctx.store() as store:
        notices = store.get_many(ids)
        labels = store.get_labels_many(ids)
    return export.rows(notices, labels, lambda cid: ctx.cluster_name(cid, lang))


@router.get("/search/export.csv")
def export_csv(request: Request, ctx: Ctx) -> Response:
    """The whole result set (up to ``web.export_limit`` rows) as CSV."""
    body = export.to_csv(_export(request, ctx))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="tbtwatch-notices.csv"'},
    )


@router.get("/search/export.xlsx")
def export_xlsx(request: Request, ctx: Ctx) -> Response:
    """The whole result set (up to ``web.export_limit`` rows) as an Excel workbook."""
    body = export.to_xlsx(_export(request, ctx))
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="tbtwatch-notices.xlsx"'},
    )


def safe_url(url: str | None) -> bool:
    """Only http(s) links are rendered as links (never ``javascript:``)."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


@router.get("/notices/{notice_id:path}", response_class=HTMLResponse)
def notice_page(notice_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """Every field of a notice, its labels with reasons, the life of its measure and the deadline."""
    with ctx.store() as store:
        notice = store.get(notice_id)
        if notice is None:
            raise NotFound(f"notice {notice_id[:200]!r} is not in the store")
        labels = store.get_labels(notice_id)
        family = store.family(notice.base_id)
        versions = store.versions(notice_id)
    today = ctx.today()
    return render(
        request,
        "notice.html",
        n=notice,
        labels=labels,
        family=family,
        versions=versions,
        open=notice.is_open_for_comment(today),
        safe_url=safe_url,
    )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, ctx: Ctx) -> HTMLResponse:
    """Notices per month by kind, top members, counts per cluster, open-for-comment list (SVG charts)."""
    lang = resolve_lang(request)
    t = translator(lang)
    with ctx.store() as store:
        figures = stats.compute(store, ctx.today())
    member_label = members.chinese_name if lang == "zh" else members.english_name
    return render(
        request,
        "dashboard.html",
        stats=figures,
        month_chart=charts.stacked_months(
            figures.months,
            [(t("kind_" + k), counts) for k, counts in figures.per_month.items()],
            title=t("per_month"),
        ),
        member_chart=charts.hbars(
            [(f"{member_label(m)} {m}", n) for m, n in figures.top_members],
            title=t("top_members"),
            label_width=170,
            width=460,
        ),
        cluster_chart=charts.hbars(
            [(ctx.cluster_name(c, lang), n) for c, n in figures.per_cluster],
            title=t("per_cluster"),
            label_width=260,
            width=540,
        ),
    )


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    """The API described from the OpenAPI document, rendered here (no CDN, no scripts)."""
    spec = request.app.openapi()
    operations = [
        (path, method, op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in ("get", "post", "put", "delete", "patch")
    ]
    return render(request, "docs.html", info=spec.get("info", {}), operations=operations)
