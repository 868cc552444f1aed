"""``tbtwatch serve`` and the ``tbtwatch sources`` group (``list``, ``status``); registered in
:mod:`tbtwatch.cli`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from crawlers.cli import sources_cmd
from tbtwatch.cli import console, emit_json, err_console, run_guarded, settings

sources_app = typer.Typer(
    help="Configured sources: list them, see their runs and health.", no_args_is_help=True
)
sources_app.command("list")(sources_cmd)


def serve_cmd(
    no_web: Annotated[
        bool, typer.Option("--no-web", help="run the scheduler only, without the web app")
    ] = False,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="crawl every enabled source once, check health, run the digests due now, and exit "
            "(status 1 when a crawl failed)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="with --once: print the report as JSON")] = False,
) -> None:
    """Run the service: scheduled crawls, digests, reminders, source health, retraining, and the web app."""
    from tbtwatch.service.server import exit_now, run_once, serve

    def body() -> Any:
        s = settings()
        logging.getLogger().setLevel(s.general.log_level)
        if once:
            return run_once(s)

        def ready(report: Any) -> None:
            where = f"web {report.web_url}; " if report.web_url else ""
            err_console.print(
                f"tbtwatch serve: {where}jobs {sum(len(v) for k, v in report.jobs.items() if k != 'removed')}"
                f" (added {len(report.jobs['added'])}, removed {len(report.jobs['removed'])});"
                " SIGTERM or Ctrl-C stops",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

        return serve(s, web=not no_web, on_ready=ready)

    result = run_guarded(body)
    if once:
        data = result.as_dict()
        if as_json:
            emit_json(data)
        else:
            for name, status in data["crawls"].items():
                state = data["health"].get(name, {}).get("state", "disabled")
                console.print(f"{name:<18} {status:<8} {state}", highlight=False)
            console.print(f"digests: {data['digests'].get('digests') or 'none'}", highlight=False)
        if "failed" in data["crawls"].values():
            raise typer.Exit(1)
        return
    err_console.print("tbtwatch serve: stopped", highlight=False)
    exit_now(result)


@sources_app.command("status")
def status_cmd(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Every source: last run (time, outcome), items, errors, next run, health."""
    from tbtwatch.service.status import health_label, sources_status

    s_holder: dict[str, Any] = {}

    def body() -> list[dict[str, Any]]:
        s = settings()
        s_holder["tz"] = ZoneInfo(s.general.timezone)
        return sources_status(s)

    rows = run_guarded(body)
    if as_json:
        emit_json(rows)
        return
    tz = s_holder["tz"]
    console.print(
        "数据源 source | 上次运行 last run | 结果 outcome | 条目 items (+新 new) | 错误 errors | 下次运行 next run "
        "| 健康 health",
        highlight=False,
        soft_wrap=True,
    )
    for r in rows:
        last = r["last_run"]
        cells = [
            f"{r['source']:<15}",
            _local(last["started_at"], tz) if last else "-",
            last["status"] if last else "未运行 never",
            f"{last['items']} (+{last['new']})" if last else "-",
            str(last["errors"]) if last else "-",
            _local(r["next_run"], tz) if r["next_run"] else "-",
            health_label(r, tz),
        ]
        console.print(" | ".join(cells), highlight=False, markup=False, soft_wrap=True)


def _local(stamp: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")
