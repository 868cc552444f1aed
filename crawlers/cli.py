"""``tbtwatch crawl`` and ``tbtwatch sources`` (registered in :mod:`tbtwatch.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tbtwatch.cli import console, emit_json, open_store, run_guarded, settings


def crawl_cmd(
    source: Annotated[
        str, typer.Argument(help="source name in config/sources.yaml (see `tbtwatch sources list`)")
    ],
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="crawl a mirror at this scheme and host instead of the live site"),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="skip items older than this date (YYYY-MM-DD)")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="also write the normalised items to this file as JSON lines"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    spider_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg", "-a", help="spider option NAME=VALUE, e.g. -a years=2013 (see the spider docstring)"
        ),
    ] = None,
    scrapy_set: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="override a Scrapy setting, NAME=VALUE (development and tests)"),
    ] = None,
) -> None:
    """Crawl one source through the ingest path and print what it found."""
    from crawlers.runner import run_crawl

    overrides = _pairs(scrapy_set, "--set")
    args = _pairs(spider_arg, "--arg")
    summary = run_guarded(
        lambda: run_crawl(
            source,
            settings(),
            base_url=base_url,
            since=since,
            output=output,
            scrapy_settings=overrides,
            spider_args=args,
        )
    )
    data = summary.as_dict()
    if as_json:
        emit_json(data)
    else:
        if summary.fallback_from:
            console.print(f"no ePing API key: crawled {summary.source} instead of {summary.fallback_from}")
        console.print(
            "{source}: items {items}, new {new}, changed {changed}, quarantined {quarantined}, "
            "errors {errors} ({status})".format(**data),
            highlight=False,
        )
        for message in summary.messages[:10]:
            console.print(f"  error: {message}", highlight=False)
    if summary.status == "failed":
        raise typer.Exit(1)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in values or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=option)
        out[key.strip()] = value
    return out


def sources_cmd(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List the configured sources with their schedule, expected cadence and last run."""
    from crawlers.sources import SOURCES_FILE, load_sources

    def body() -> list[dict[str, Any]]:
        s = settings()
        sources = load_sources(s.config_dir / SOURCES_FILE)
        rows = []
        with open_store(s) as store:
            for name, src in sources.items():
                runs = store.runs(name, limit=1)
                last = runs[0] if runs else None
                rows.append(
                    {
                        **src.listing(),
                        "last_run": last.started_at if last else None,
                        "last_status": last.status if last else None,
                        "last_new": last.new if last else None,
                    }
                )
        return rows

    rows = run_guarded(body)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        last = f"{r['last_run']} {r['last_status']} (+{r['last_new']})" if r["last_run"] else "never run"
        flag = "" if r["enabled"] else " [disabled]"
        console.print(
            f"{r['source']:<15} {r['schedule']:<40} expect {r['expected_cadence']:<4} {last}{flag}",
            highlight=False,
        )
