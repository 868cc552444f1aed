"""``tbtwatch recipients ...`` and ``tbtwatch digest ...``.

tbtwatch recipients import recipients.yaml      create or update recipients (idempotent)
tbtwatch recipients add --id K --type exporter --name N --email a@b.cn --hs 9503
tbtwatch recipients list [--json]
tbtwatch recipients remove K
tbtwatch recipients unsubscribe TOKEN / revoke-token TOKEN
tbtwatch recipients resubscribe K ADDRESS        an unsubscribed address receives digests again
tbtwatch digest run [--frequency daily] [--now 2025-06-12T08:30] [--json] [--no-send]
tbtwatch digest send [--now ...]                send what the outbox holds
tbtwatch digest outbox [--status failed]        inspect the outbox
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from alerts.clusters import cluster_names
from alerts.errors import RecipientError
from alerts.recipients import (
    Frequency,
    Recipient,
    load_recipients_file,
    normalise_address,
    parse_recipients,
    unknown_clusters,
)
from alerts.repository import AlertsRepository
from tbtwatch.cli import console, emit_json, open_store, run_guarded, settings

recipients_app = typer.Typer(help="Warning points and exporters who receive alerts.", no_args_is_help=True)
digest_app = typer.Typer(help="Build, queue and send digests; inspect the outbox.", no_args_is_help=True)


class FrequencyOption(StrEnum):
    """``--frequency`` values."""

    immediate = "immediate"
    daily = "daily"
    weekly = "weekly"


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO date-time such as 2025-06-12T08:30") from exc


@recipients_app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="recipients YAML file (see alerts.recipients for the format)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
) -> None:
    """Create or update the recipients of a YAML file (by id; an unchanged recipient is left alone)."""

    def body() -> dict[str, int]:
        s = settings()
        known = set(cluster_names(s.config_dir))
        recipients = load_recipients_file(file, known_clusters=known)
        with open_store(s) as store:
            return AlertsRepository(store).import_recipients(recipients)

    counts = run_guarded(body)
    if as_json:
        emit_json(counts)
    else:
        console.print(
            "created {created}, updated {updated}, unchanged {unchanged}".format(**counts), highlight=False
        )


@recipients_app.command("add")
def add_cmd(
    key: Annotated[str, typer.Option("--id", help="stable id, e.g. exp-ningbo-abc")],
    name: Annotated[str, typer.Option(help="organisation or contact name")],
    email: Annotated[list[str], typer.Option("--email", help="address (repeat for several)")],
    type_: Annotated[str, typer.Option("--type", help="warning_point or exporter")] = "exporter",
    organisation: Annotated[str, typer.Option(help="company or organisation")] = "",
    cluster: Annotated[list[str] | None, typer.Option("--cluster", help="cluster id (repeat)")] = None,
    hs: Annotated[list[str] | None, typer.Option("--hs", help="HS prefix, 2-6 digits (repeat)")] = None,
    keyword: Annotated[list[str] | None, typer.Option("--keyword", help="keyword, zh or en (repeat)")] = None,
    member: Annotated[
        list[str] | None, typer.Option("--member", help="notifying member, e.g. EU (repeat)")
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="tbt, sps or news (repeat)")] = None,
    min_risk: Annotated[str | None, typer.Option("--min-risk", help="low, medium or high")] = None,
    language: Annotated[str, typer.Option(help="zh or en")] = "zh",
    frequency: Annotated[
        FrequencyOption, typer.Option(help="how often digests go out")
    ] = FrequencyOption.daily,
    quiet_hours: Annotated[str, typer.Option("--quiet-hours", help="e.g. 22:00-07:00 (Asia/Shanghai)")] = "",
) -> None:
    """Add one recipient with one subscription made of the criteria given."""

    def body() -> None:
        s = settings()
        criteria: dict[str, Any] = {
            "clusters": cluster or [],
            "hs_prefixes": hs or [],
            "keywords": keyword or [],
            "members": member or [],
            "kinds": kind or [],
        }
        if min_risk:
            criteria["min_risk"] = min_risk
        criteria = {k: v for k, v in criteria.items() if v}
        raw: dict[str, Any] = {
            "id": key,
            "type": type_,
            "name": name,
            "organisation": organisation,
            "addresses": email,
            "language": language,
            "frequency": frequency.value,
            "quiet_hours": quiet_hours,
        }
        if type_ == "warning_point" and cluster and set(criteria) == {"clusters"}:
            raw["clusters"] = cluster
        elif criteria:
            raw["subscriptions"] = [criteria]
        rec: Recipient = parse_recipients({"recipients": [raw]}, where="command line")[0]
        problems = unknown_clusters(rec, set(cluster_names(s.config_dir)))
        if problems:
            raise RecipientError("; ".join(problems))
        with open_store(s) as store:
            AlertsRepository(store).add_recipient(rec)
        console.print(f"added {rec.key} ({len(rec.addresses)} address(es))", highlight=False)

    run_guarded(body)


@recipients_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List recipients with their addresses and subscriptions."""

    def body() -> list[dict[str, Any]]:
        with open_store() as store:
            return [r.as_dict() for r in AlertsRepository(store).list_recipients()]

    rows = run_guarded(body)
    if as_json:
        emit_json(rows)
        return
    table = Table()
    for col in ("id", "type", "name", "frequency", "addresses", "subscriptions"):
        table.add_column(col)
    for r in rows:
        addrs = ", ".join(
            a["address"] + (" (unsubscribed)" if a["unsubscribed_at"] else "") for a in r["addresses"]
        )
        subs = "; ".join(
            " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in s.items())
            for s in r["subscriptions"]
        )
        table.add_row(r["id"], r["type"], r["name"], r["frequency"], addrs, subs)
    console.print(table)


@recipients_app.command("remove")
def remove_cmd(key: Annotated[str, typer.Argument(help="recipient id")]) -> None:
    """Remove a recipient (its pending messages are cancelled)."""

    def body() -> bool:
        with open_store() as store:
            return AlertsRepository(store).remove_recipient(key)

    if not run_guarded(body):
        console.print(f"no recipient {key!r}", highlight=False)
        raise typer.Exit(1)
    console.print(f"removed {key}", highlight=False)


@recipients_app.command("unsubscribe")
def unsubscribe_cmd(token: Annotated[str, typer.Argument(help="token from an unsubscribe link")]) -> None:
    """Unsubscribe the address an unsubscribe token names (what the one-click link does)."""
    from alerts.tokens import unsubscribe

    def body() -> str:
        s = settings()
        with open_store(s) as store:
            result = unsubscribe(store, s, token)
        return f"{result.address} ({result.recipient}) " + (
            "unsubscribed" if result.changed else "was already unsubscribed"
        )

    console.print(run_guarded(body), highlight=False)


@recipients_app.command("resubscribe")
def resubscribe_cmd(
    key: Annotated[str, typer.Argument(help="recipient id")],
    address: Annotated[str, typer.Argument(help="the address that unsubscribed")],
) -> None:
    """Let an unsubscribed address receive digests again (what its manage page does; e.g. after a request by
    phone). Only the operator runs this: an unsubscribe is the recipient's choice, so say why in your records."""

    def body() -> str:
        with open_store() as store:
            repo = AlertsRepository(store)
            rec = repo.get_recipient(key)
            if rec is None:
                raise RecipientError(f"no recipient {key!r}. Fix: see `tbtwatch recipients list`.")
            try:
                wanted = normalise_address(address)
            except ValueError as exc:
                raise RecipientError(str(exc)) from None
            found = next((a for a in rec.addresses if a.address == wanted), None)
            if found is None:
                known = ", ".join(a.address for a in rec.addresses) or "none"
                raise RecipientError(f"recipient {key!r} has no address {address!r} (it has: {known})")
            changed = repo.resubscribe_address(found.id)
        return f"{found.address} ({key}) " + ("subscribed again" if changed else "was not unsubscribed")

    console.print(run_guarded(body), highlight=False)


@recipients_app.command("revoke-token")
def revoke_cmd(
    token: Annotated[str, typer.Argument(help="token to revoke (a leaked unsubscribe link)")],
    reason: Annotated[str, typer.Option(help="why, kept with the revocation")] = "",
) -> None:
    """Revoke an unsubscribe token; the address gets a new one in later messages."""
    from alerts.tokens import revoke

    def body() -> None:
        s = settings()
        with open_store(s) as store:
            revoke(store, s, token, reason=reason)

    run_guarded(body)
    console.print("revoked", highlight=False)


@digest_app.command("run")
def run_cmd(
    frequency: Annotated[
        FrequencyOption | None, typer.Option(help="only this frequency (default: whatever is due now)")
    ] = None,
    now: Annotated[str | None, typer.Option(help="pretend it is this time (ISO; naive = local time)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    no_send: Annotated[bool, typer.Option("--no-send", help="build and queue only")] = False,
) -> None:
    """Build the digests that are due, queue them in the outbox, then send the outbox."""
    from alerts.service import run_digests

    moment = _parse_now(now)

    def body() -> dict[str, Any]:
        s = settings()
        with open_store(s) as store:
            freq = Frequency(frequency.value) if frequency else None
            return run_digests(s, store, frequency=freq, now=moment, send=not no_send).as_dict()

    report = run_guarded(body)
    if as_json:
        emit_json(report)
        return
    built = ", ".join(f"{k} {v}" for k, v in report["digests"].items()) or "none"
    console.print(f"digests: {built}; messages queued: {report['messages']}", highlight=False)
    if report["quiet"]:
        console.print(f"held back by quiet hours: {report['quiet']} recipient(s)", highlight=False)
    _print_delivery(report["delivery"])


@digest_app.command("send")
def send_cmd(
    now: Annotated[str | None, typer.Option(help="pretend it is this time (ISO; naive = local time)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Send the messages waiting in the outbox."""
    from alerts.service import send_pending

    moment = _parse_now(now)

    def body() -> dict[str, Any]:
        s = settings()
        with open_store(s) as store:
            return send_pending(s, store, now=moment).as_dict()

    report = run_guarded(body)
    if as_json:
        emit_json(report)
    else:
        _print_delivery(report)


def _print_delivery(d: dict[str, Any] | None) -> None:
    if d is None:
        return
    if d["skipped"]:
        console.print(f"not sent: {d['skipped']}", highlight=False)
        return
    console.print(
        f"sent {d['sent']}, retry later {d['retried']}, waiting {d['deferred']}, failed {len(d['failed'])}",
        highlight=False,
    )
    for channel, why in d["halted"].items():
        console.print(f"[yellow]{channel} unavailable:[/] {why}", highlight=False)
    for f in d["failed"]:
        console.print(f"[red]failed[/] {f['to']}: {f['error']}", highlight=False)


@digest_app.command("outbox")
def outbox_cmd(
    status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Counts by status and the latest outbox entries."""
    from alerts.webhooks import mask_url

    def body() -> dict[str, Any]:
        with open_store() as store:
            repo = AlertsRepository(store)
            rows = [
                {
                    "id": r.id,
                    "channel": r.channel,
                    "to": r.address if r.channel == "email" else mask_url(r.address),
                    "subject": r.subject,
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at,
                    "last_error": r.last_error,
                    "sent_at": r.sent_at,
                }
                for r in repo.outbox(status=status, limit=limit)
            ]
            return {"counts": repo.outbox_counts(), "entries": rows}

    data = run_guarded(body)
    if as_json:
        emit_json(data)
        return
    console.print(" ".join(f"{k}: {v}" for k, v in data["counts"].items()), highlight=False)
    table = Table()
    for col in ("id", "status", "attempts", "to", "subject", "last error"):
        table.add_column(col)
    for r in data["entries"]:
        table.add_row(str(r["id"]), r["status"], str(r["attempts"]), r["to"], r["subject"], r["last_error"])
    console.print(table)
