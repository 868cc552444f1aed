"""``tbtwatch search`` and ``tbtwatch reindex`` (registered in :mod:`tbtwatch.cli`).

The bodies import the backends lazily: ``tbtwatch --help`` stays fast and the Elasticsearch client is
loaded only when it is used.
"""

from __future__ import annotations

import html
import logging
import re
import time
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from index.backend import Results

_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)
_FACET_TITLES = {
    "member": "成员 member",
    "cluster": "集群 cluster",
    "kind": "类型 kind",
    "risk": "风险 risk",
    "month": "月份 month",
}


def _quiet_client_logs() -> None:
    """Without ``--verbose`` the Elasticsearch client's retry warnings stay out of the command's output."""
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or [] for v in raw.split(",") if v.strip()]


def _date(value: str | None, option: str) -> date | None:
    from index.errors import QuerySyntaxError

    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QuerySyntaxError(f"{option} {value!r} is not a date. Fix: write it as YYYY-MM-DD.") from None


def search_cmd(
    query: Annotated[str, typer.Argument(help='search text: words, "phrases", 中文, AND/OR/NOT, -word')] = "",
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="tbt, sps or news (repeat or comma-separate)")
    ] = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="notifying member code, e.g. EU, USA")
    ] = None,
    cluster: Annotated[list[str] | None, typer.Option("--cluster", help="cluster id, e.g. toys")] = None,
    hs: Annotated[list[str] | None, typer.Option("--hs", help="HS code prefix, e.g. 9503 or 8507.60")] = None,
    ics: Annotated[list[str] | None, typer.Option("--ics", help="ICS code prefix, e.g. 97.200")] = None,
    risk: Annotated[list[str] | None, typer.Option("--risk", help="high, medium or low")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="distributed on or after (YYYY-MM-DD)")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="distributed on or before (YYYY-MM-DD)")] = None,
    open_: Annotated[bool, typer.Option("--open", help="only notices still open for comment today")] = False,
    sort: Annotated[str, typer.Option("--sort", help="relevance or date (newest first)")] = "relevance",
    limit: Annotated[int, typer.Option("--limit", help="hits per page (at most 100)")] = 20,
    page: Annotated[int, typer.Option("--page", help="page number")] = 1,
    backend: Annotated[
        str | None, typer.Option("--backend", help="embedded or elasticsearch (default: settings)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Search notices in English and Chinese, with filters and facets."""
    from tbtwatch import cli as core

    def body() -> tuple[Results, dict[str, str]]:
        from index.backend import open_backend
        from index.clusters import cluster_names
        from index.query import Query

        _quiet_client_logs()
        s = core.settings()
        today = datetime.now(ZoneInfo(s.general.timezone)).date()
        q = Query(
            text=query,
            kinds=_split(kind),
            members=_split(member),
            clusters=_split(cluster),
            hs_prefixes=_split(hs),
            ics_prefixes=_split(ics),
            risks=_split(risk),
            distributed_from=_date(date_from, "--from"),
            distributed_to=_date(date_to, "--to"),
            open_on=today if open_ else None,
            sort=sort,
            size=limit,
            page=page,
        )
        with open_backend(s, backend) as b:  # type: ignore[arg-type]
            return b.search(q), cluster_names(s)

    results, names = core.run_guarded(body)
    if as_json:
        core.emit_json({"query": query, **results.as_dict()})
        return
    _print_results(results, names, core.console)


def _rich(snippet: str) -> str:
    """An HTML snippet as rich markup: ``<mark>`` becomes bold yellow, the rest is plain text."""
    from rich.markup import escape

    out, pos = [], 0
    for m in _MARK.finditer(snippet):
        out.append(escape(html.unescape(snippet[pos : m.start()])))
        out.append(f"[bold yellow]{escape(html.unescape(m.group(1)))}[/]")
        pos = m.end()
    out.append(escape(html.unescape(snippet[pos:])))
    return "".join(out)


def _print_results(results: Results, names: dict[str, str], console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from tbtwatch import members

    console.print(
        f"[bold]{results.total}[/] 条结果 results · page {results.page}"
        f" · {results.took_ms:.0f} ms · {results.backend}",
        highlight=False,
    )
    if not results.hits:
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("编号 id", no_wrap=True)
    table.add_column("成员 · 分发 / 截止", no_wrap=True)
    table.add_column("标题 title", ratio=1)
    for h in results.hits:
        f = h.fields
        title = _rich(h.snippets.get("title") or html.escape(str(f.get("title") or "")))
        if h.snippets.get("title_zh"):
            title = _rich(h.snippets["title_zh"]) + "\n" + title
        clusters = [names.get(c, c) for c in f.get("clusters") or []]
        if clusters:
            title += "\n[dim]集群 " + escape("、".join(clusters)) + "[/]"
        member = f.get("member") or ""
        who = f"{members.chinese_name(member)} {member}" if member else str(f.get("kind") or "")
        risk = {"high": "[red]高风险[/]", "medium": "[yellow]中风险[/]", "low": "低风险"}.get(
            f.get("risk") or "", ""
        )
        table.add_row(
            (h.id if not h.id.startswith("news:") else h.id[:13] + "…") + (f"\n{risk}" if risk else ""),
            f"{who}\n{f.get('distributed_on') or '-'}\n{f.get('comment_deadline') or '-'}",
            title,
        )
    console.print(table)
    for name, buckets in results.facets.items():
        if not buckets:
            continue
        shown = buckets[-12:] if name == "month" else buckets[:10]
        label = (lambda k: names.get(k, k)) if name == "cluster" else (lambda k: k)
        parts = " · ".join(f"{label(b.key)} {b.count}" for b in shown)
        console.print(f"[bold]{_FACET_TITLES[name]}[/]: {parts}", highlight=False)


def reindex_cmd(
    backend: Annotated[
        str | None, typer.Option("--backend", help="embedded or elasticsearch (default: settings)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
) -> None:
    """Rebuild the search index from the store; searches switch to the new index when it is complete."""
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tbtwatch import cli as core

    def body() -> dict[str, Any]:
        from index.backend import open_backend

        _quiet_client_logs()
        s = core.settings()
        with core.open_store(s) as store, open_backend(s, backend) as b:  # type: ignore[arg-type]
            total = store.count()
            show = not as_json and sys.stderr.isatty()
            started = time.perf_counter()
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=core.err_console,
                disable=not show,
            ) as progress:
                task = progress.add_task(f"reindex ({b.name})", total=total)
                n = b.reindex_from(store, progress=lambda k: progress.advance(task, k))
            return {"backend": b.name, "indexed": n, "seconds": round(time.perf_counter() - started, 2)}

    out = core.run_guarded(body)
    if as_json:
        core.emit_json(out)
    else:
        core.console.print(
            f"indexed {out['indexed']} notices into the {out['backend']} index in {out['seconds']} s"
        )
