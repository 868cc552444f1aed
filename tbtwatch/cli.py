"""The ``tbtwatch`` command line.

Every command reads settings from the home directory (``--home`` or ``$TBTWATCH_HOME``); ``--json``
prints machine-readable output. Errors raised on purpose (:class:`TbtwatchError`) print one clear
message and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tbtwatch import members
from tbtwatch.diskcheck import is_storage_error, storage_hint
from tbtwatch.errors import ConfigError, TbtwatchError
from tbtwatch.ingest import Ingestor, default_stages
from tbtwatch.settings import Settings, load_settings
from tbtwatch.store import Store

app = typer.Typer(
    name="tbtwatch",
    help="TBT/SPS notification monitoring and early warning for Zhejiang exporters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


class State:
    """Options shared by every command."""

    home: Path | None = None


_state = State()


@app.callback()
def _main(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="home directory (default: $TBTWATCH_HOME or the user data dir)"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress to stderr")] = False,
) -> None:
    _state.home = home
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def settings() -> Settings:
    """Settings for this invocation (validated; a bad file stops the command)."""
    return load_settings(_state.home)


@contextmanager
def open_store(s: Settings | None = None) -> Iterator[Store]:
    """The store of the current home directory."""
    s = s or settings()
    store = Store.open(s.store_path)
    try:
        yield store
    finally:
        store.close()


def emit_json(data: Any) -> None:
    """Print JSON (UTF-8, Chinese as is) on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def run_guarded(fn: Callable[[], T]) -> T:
    """Run a command body; turn our own errors into a message and exit code 1 (2 for configuration)."""
    try:
        return fn()
    except ConfigError as exc:
        err_console.print(
            f"[bold red]configuration error:[/] {exc}", markup=True, highlight=False, soft_wrap=True
        )
        raise typer.Exit(2) from exc
    except TbtwatchError as exc:
        hint = _storage_hint(exc)
        err_console.print(f"[bold red]error:[/] {exc}{hint}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    except (sqlite3.Error, OSError) as exc:
        # a write the home directory refused (disk full, read-only): a message, not a traceback
        if not is_storage_error(exc):
            raise
        err_console.print(
            f"[bold red]error:[/] cannot write to the home directory: {type(exc).__name__}: {exc}"
            f"{_storage_hint(exc) or '. Fix: check that the home directory is writable and has free space.'}"
            " Nothing already stored is lost; run the command again once it is fixed.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from exc


def _storage_hint(exc: BaseException) -> str:
    """`` — <why and the fix>`` when a full or read-only home explains ``exc``, else ""."""
    if not is_storage_error(exc):
        return ""
    hint = storage_hint(load_settings_quietly())
    return f" — {hint}" if hint else ""


def load_settings_quietly() -> Path:
    """The home directory of this invocation, without failing (for error messages)."""
    try:
        return settings().home
    except TbtwatchError:
        return _state.home or Path.cwd()


@app.command()
def init() -> None:
    """Create the home directory and the store; print where they are."""

    def body() -> None:
        s = settings()
        s.home.mkdir(parents=True, exist_ok=True)
        with open_store(s) as store:
            version = store.schema_version
        console.print(f"home:  {s.home}\nstore: {s.store_path} (schema {version})", highlight=False)
        if s.source is None:
            console.print(
                f"settings: defaults (create {s.home / 'tbtwatch.toml'} to change them)", highlight=False
            )

    run_guarded(body)


@app.command("import-eping")
def import_eping(
    file: Annotated[Path, typer.Argument(help="ePing .xlsx: search export or bulk Notification_EN.xlsx")],
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
    source: Annotated[str, typer.Option(help="source name recorded with the run")] = "eping_workbook",
) -> None:
    """Import an ePing Excel workbook through the ingest path."""
    from tbtwatch.eping_workbook import open_workbook

    def body() -> dict[str, int]:
        s = settings()
        with open_workbook(file) as wb, open_store(s) as store:
            show = not as_json and sys.stderr.isatty()
            with (
                Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=err_console,
                    disable=not show,
                ) as progress,
                Ingestor(store, source=source, stages=default_stages(s), keep_ids=False) as ing,
            ):
                task = progress.add_task(file.name, total=max(wb.total_rows - wb.header_row, 0))
                for item in wb.items(source=source, on_row=lambda _n: progress.advance(task)):
                    ing.add(item)
            return ing.report.as_dict()

    counts = run_guarded(body)
    if as_json:
        emit_json(counts)
    else:
        console.print(
            "read {read}, new {new}, changed {changed}, unchanged {unchanged}, "
            "quarantined {quarantined}, errors {errors}".format(**counts),
            highlight=False,
        )


@app.command()
def show(
    notice_id: Annotated[str, typer.Argument(help="document symbol (any spacing/case) or news:<sha1>")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show one notice, its labels and the later documents of its measure."""
    from tbtwatch import symbols

    def body() -> dict[str, Any]:
        with open_store() as store:
            key = notice_id.strip()
            if not key.startswith(("news:", "nosymbol:")):
                with suppress(TbtwatchError):
                    key = symbols.normalise(key)
            notice = store.get(key)
            if notice is None:
                raise TbtwatchError(f"no notice {notice_id!r} in {store.path}")
            labels = store.get_labels(key)
            return {
                "notice": notice.model_dump(mode="json"),
                "labels": labels.model_dump(mode="json") if labels else None,
                "family": store.family(notice.base_id),
                "versions": store.versions(key),
            }

    data = run_guarded(body)
    if as_json:
        emit_json(data)
        return
    _print_notice(data)


def _print_notice(data: dict[str, Any]) -> None:
    n = data["notice"]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    member = f"{members.chinese_name(n['member'])} {members.english_name(n['member'])} ({n['member']})"
    rows = [
        ("编号 id", n["id"]),
        ("类型 kind", f"{n['kind'].upper()} · {n['doc_type']}"),
        ("通报成员 member", member if n["member"] else "-"),
        ("中文标题 title (zh)", n.get("title_zh") or "-"),
        ("标题 title", n["title"]),
        ("产品 products", n["products"] or "-"),
        ("HS", ", ".join(n["hs_codes"]) or "-"),
        ("ICS", ", ".join(n["ics_codes"]) or "-"),
        ("分发日期 distributed", n["distributed_on"] or "-"),
        ("评议截止 comments until", _deadline(n["comment_deadline"])),
        ("链接 url", n["url"] or "-"),
        ("文件 documents", "\n".join(n["documents"]) or "-"),
    ]
    for k, v in rows:
        table.add_row(k, str(v))
    console.print(table)
    if n["description"]:
        console.print(f"\n[bold]描述 description[/]\n{n['description']}", highlight=False)
    labels = data.get("labels")
    if labels:
        console.print(
            f"\n[bold]风险 risk[/]: {labels['risk']} ({'; '.join(labels['risk_reasons'])})", highlight=False
        )
        for c in labels["clusters"]:
            console.print(
                f"  {c['cluster_id']}  {c['score']:.2f}  {', '.join(c['reasons'])}", highlight=False
            )
    family = data["family"]
    if len(family) > 1:
        console.print("\n[bold]措施历程 life of the measure[/]")
        for f in family:
            mark = "→" if f["id"] == n["id"] else " "
            console.print(
                f" {mark} {f['distributed_on'] or '----------'}  {f['id']}  ({f['doc_type']})",
                highlight=False,
            )


def _deadline(value: str | None) -> str:
    if not value:
        return "-"
    days = (date.fromisoformat(value) - date.today()).days
    return f"{value} ({f'剩余 {days} 天' if days >= 0 else '已截止 closed'})"


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Counts by kind, notifying member and distribution month."""

    def body() -> dict[str, Any]:
        with open_store() as store:
            return store.stats()

    data = run_guarded(body)
    if as_json:
        emit_json(data)
        return
    console.print(f"notices: {data['notices']}   quarantined: {data['quarantined']}   runs: {data['runs']}")
    for title, key, limit in (
        ("kind", "by_kind", 10),
        ("member", "by_member", 15),
        ("month", "by_month", 24),
    ):
        table = Table(title=title)
        table.add_column(title)
        table.add_column("count", justify="right")
        for k, v in list(data[key].items())[:limit]:
            label = f"{members.chinese_name(k)} {k}" if key == "by_member" and k != "-" else k
            table.add_row(label, str(v))
        console.print(table)


@app.command()
def quarantine(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List quarantined items with their reasons."""

    def body() -> list[dict[str, Any]]:
        with open_store() as store:
            return store.quarantined(source, limit)

    rows = run_guarded(body)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        console.print(
            f"#{r['id']} {r['created_at']} [{r['source']}] {r['reason']}", highlight=False, markup=False
        )


# -- crawlers: `tbtwatch crawl` (Scrapy is imported only when a crawl runs; `sources` is with the service) ----
from crawlers.cli import crawl_cmd  # noqa: E402

app.command("crawl")(crawl_cmd)


# -- package command groups -------------------------------------------------------------------
from classifier.cli import app as classifier_app  # noqa: E402  (after the helpers it uses)

app.add_typer(classifier_app, name="classifier")

# -- search and reindex (index package; its backends load lazily) ---------------------------------
from index.cli import reindex_cmd, search_cmd  # noqa: E402  (registered after the core commands)

app.command("search")(search_cmd)
app.command("reindex")(reindex_cmd)


# -- commands of the packages (imported here, after the helpers they use are defined) -------------------
from alerts.cli import digest_app, recipients_app  # noqa: E402

app.add_typer(recipients_app, name="recipients")
app.add_typer(digest_app, name="digest")


def main() -> None:
    """Console-script entry point."""
    app()


# -- web app: `tbtwatch web` --------------------------------------------------------------------------------
@app.command("web")
def web_cmd(
    host: Annotated[str | None, typer.Option(help="bind address (default: web.host)")] = None,
    port: Annotated[int | None, typer.Option(help="bind port (default: web.port)")] = None,
) -> None:
    """Serve the web app (search, notices, dashboard, subscriptions, JSON API)."""
    from tbtwatch.web.server import WebServer

    def body() -> None:
        server = WebServer(settings(), host=host, port=port)
        console.print(f"tbtwatch web: {server.url}  (Ctrl-C stops)", markup=False, soft_wrap=True)
        server.serve_forever()

    run_guarded(body)


# -- offline demo: `tbtwatch demo` ---------------------------------------------------------------------------
from tbtwatch.demo.cli import demo_cmd  # noqa: E402  (after the helpers it uses)

app.command("demo")(demo_cmd)


# -- service: `tbtwatch serve` and `tbtwatch sources list|status` ---------------------------------------------
from tbtwatch.service.cli import serve_cmd, sources_app  # noqa: E402

app.command("serve")(serve_cmd)
app.add_typer(sources_app, name="sources")
