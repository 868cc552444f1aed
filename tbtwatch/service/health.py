"""Source health: failures in a row and silence longer than the source's expected cadence.

A run counts as failed when it ended ``failed`` (crashed, killed at its timeout) or ended with errors
without reading a single item (the site was down or answered only errors); a run ``stopped`` by a service
shutdown counts neither way. A source is *failing* after
``scheduler.failures_before_alarm`` failed runs in a row, and *silent* when no run has found anything new or
changed for longer than its ``expected_cadence`` (counted from its first run when it never has).

Either raises ONE operator alarm (persisted in ``source_health``); later checks of the same episode send
nothing more. When the source is healthy again the alarm is cleared and a "recovered" note is sent.

>>> a = assess(source, runs, now=datetime.now(UTC), failures_before_alarm=3)   # doctest: +SKIP
>>> a.problem                                                                  # doctest: +SKIP
'3 次运行连续失败 3 failed runs in a row: connection refused'
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from crawlers.sources import Source
from tbtwatch.service.operator import OperatorMessage, queue
from tbtwatch.settings import Settings
from tbtwatch.store import SourceRun, Store

log = logging.getLogger(__name__)

State = Literal["ok", "failing", "silent", "never run", "disabled"]
#: status of a run stopped by a service shutdown (see crawlers.runner)
STOPPED = "stopped"


def is_failure(run: SourceRun) -> bool:
    """True when ``run`` counts as a failed run."""
    return run.status == "failed" or (run.status == "errors" and run.items == 0)


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the recorded runs say about one source now."""

    source: str
    state: State
    failures_in_a_row: int
    last_run: SourceRun | None
    last_new_at: str | None
    silent_since: str | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (without the run)."""
        return {
            "state": self.state,
            "failures_in_a_row": self.failures_in_a_row,
            "last_new_at": self.last_new_at,
            "silent_since": self.silent_since,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class Alarm:
    """The persisted alarm state of one source."""

    source: str
    state: Literal["ok", "alarm"]
    reason: str
    raised_at: str | None
    cleared_at: str | None
    alarms: int


def assess(
    source: Source,
    runs: Sequence[SourceRun],
    *,
    now: datetime,
    failures_before_alarm: int,
    last_new_at: str | None,
    first_run_at: str | None,
) -> Assessment:
    """Judge one source from its latest runs (newest first) and the times of its first and last yield."""
    finished = [r for r in runs if r.finished_at is not None]
    last = runs[0] if runs else None
    if not source.enabled:
        return Assessment(source.name, "disabled", 0, last, last_new_at, None, "")
    in_a_row = 0
    latest_failure: SourceRun | None = None
    for run in finished:
        if run.status == STOPPED:
            continue
        if not is_failure(run):
            break
        latest_failure = latest_failure or run
        in_a_row += 1
    problems: list[str] = []
    state: State = "ok" if runs else "never run"
    if in_a_row >= failures_before_alarm:
        state = "failing"
        detail = f": {latest_failure.message}" if latest_failure and latest_failure.message else ""
        problems.append(f"连续 {in_a_row} 次运行失败 {in_a_row} failed runs in a row{detail}")
    silent_since = None
    since = last_new_at or first_run_at
    if since is not None and now - _parse(since) > source.cadence:
        silent_since = since
        if state == "ok":
            state = "silent"
        what = "最后一次发现新条目" if last_new_at else "首次运行以来从未发现新条目"
        problems.append(
            f"超过 {source.expected_cadence} 没有新条目 nothing new for longer than {source.expected_cadence} "
            f"({what} {'last new item' if last_new_at else 'nothing new since the first run'} {since})"
        )
    return Assessment(source.name, state, in_a_row, last, last_new_at, silent_since, "; ".join(problems))


def assess_sources(
    store: Store, sources: Iterable[Source], *, now: datetime, failures_before_alarm: int
) -> list[Assessment]:
    """:func:`assess` every source from the store's runs."""
    out = []
    limit = failures_before_alarm + 10  # a few runs stopped by restarts do not hide a streak
    for source in sources:
        runs = store.runs(source.name, limit=limit)
        row = store.conn.execute(
            "SELECT min(started_at), max(CASE WHEN new + changed > 0 THEN started_at END) FROM source_runs"
            " WHERE source=?",
            (source.name,),
        ).fetchone()
        out.append(
            assess(
                source,
                runs,
                now=now,
                failures_before_alarm=failures_before_alarm,
                last_new_at=row[1],
                first_run_at=row[0],
            )
        )
    return out


def alarms(store: Store) -> dict[str, Alarm]:
    """The persisted alarm state of every source that has one."""
    rows = store.conn.execute(
        "SELECT source, state, reason, raised_at, cleared_at, alarms FROM source_health"
    ).fetchall()
    return {r[0]: Alarm(*r) for r in rows}


def check(
    settings: Settings, store: Store, sources: Iterable[Source], *, now: datetime | None = None
) -> list[tuple[Assessment, str]]:
    """Assess ``sources``, raise or clear alarms; return each assessment with what changed
    (``raised``, ``cleared`` or ``""``). Operator messages are queued in the outbox, not sent."""
    moment = now or datetime.now(UTC)
    stamp = moment.astimezone(UTC).isoformat(timespec="seconds")
    assessments = assess_sources(
        store, sources, now=moment, failures_before_alarm=settings.scheduler.failures_before_alarm
    )
    known = alarms(store)
    out = []
    for a in assessments:
        alarm = known.get(a.source)
        raised = alarm is not None and alarm.state == "alarm"
        change = ""
        if a.problem and not raised:
            _set_alarm(store, a.source, a.problem, stamp)
            queue(settings, store, _alarm_message(settings, a, stamp), moment)
            log.error("source %s: alarm raised: %s", a.source, a.problem)
            change = "raised"
        elif raised and alarm is not None and not a.problem:
            _clear_alarm(store, a.source, stamp)
            queue(settings, store, _recovered_message(a, alarm, stamp), moment)
            log.warning("source %s: recovered (alarm of %s cleared)", a.source, alarm.raised_at)
            change = "cleared"
        out.append((a, change))
    return out


def clear_removed(store: Store, names: Iterable[str]) -> None:
    """Forget the alarm state of every source but ``names`` (the enabled ones): a source removed or disabled
    is no longer watched, and starts afresh if it comes back."""
    keep = set(names)
    gone = [s for s in alarms(store) if s not in keep]
    if gone:
        with store.transaction():
            store.conn.executemany("DELETE FROM source_health WHERE source=?", [(s,) for s in gone])


def close_stale_runs(
    settings: Settings, store: Store, sources: Mapping[str, Source], *, now: datetime | None = None
) -> list[int]:
    """Close runs left ``running`` by a service that died (power loss, SIGKILL) as ``stopped``.

    Only runs older than their source's run timeout plus the stop grace and a margin: a crawl that outlived
    the service (it runs in its own session) ends by then and records its run itself.
    """
    moment = now or datetime.now(UTC)
    default = float(settings.crawl.run_timeout_seconds)
    closed = []
    rows = store.conn.execute("SELECT id, source, started_at FROM source_runs WHERE finished_at IS NULL")
    for run_id, source, started_at in rows.fetchall():
        src = sources.get(source)
        limit = src.timeout_seconds(default) if src else default
        if (moment - _parse(started_at)).total_seconds() > limit + settings.crawl.stop_grace_seconds + 300:
            store.finish_run(
                run_id, status=STOPPED, message="abandoned: the service stopped without closing it"
            )
            closed.append(int(run_id))
    if closed:
        log.warning("closed %d run(s) left open by an earlier service: %s", len(closed), closed)
    return closed


def _set_alarm(store: Store, source: str, reason: str, stamp: str) -> None:
    with store.transaction():
        store.conn.execute(
            "INSERT INTO source_health (source, state, reason, raised_at, cleared_at, alarms, updated_at)"
            " VALUES (?, 'alarm', ?, ?, NULL, 1, ?) ON CONFLICT(source) DO UPDATE SET state='alarm',"
            " reason=excluded.reason, raised_at=excluded.raised_at, cleared_at=NULL,"
            " alarms=source_health.alarms + 1, updated_at=excluded.updated_at",
            (source, reason[:2000], stamp, stamp),
        )


def _clear_alarm(store: Store, source: str, stamp: str) -> None:
    with store.transaction():
        store.conn.execute(
            "UPDATE source_health SET state='ok', cleared_at=?, updated_at=? WHERE source=?",
            (stamp, stamp, source),
        )


def _alarm_message(settings: Settings, a: Assessment, stamp: str) -> OperatorMessage:
    last = a.last_run
    lines = [
        f"数据源 {a.source} 出现问题，需要检查。",
        f"Source {a.source} needs attention.",
        "",
        f"问题 problem: {a.problem}",
        f"告警时间 raised at: {stamp}",
    ]
    if last is not None:
        lines += [
            f"最近一次运行 last run: {last.started_at} -> {last.finished_at or '运行中 running'}, "
            f"状态 status {last.status}, 条目 items {last.items}, 新 new {last.new}, 错误 errors {last.errors}",
        ]
        if last.message:
            lines.append(f"信息 message: {last.message}")
    lines += [
        "",
        "同一问题只发送这一封告警；数据源恢复正常后会另发一封恢复通知。",
        "This is the only alarm for this episode; a note follows when the source is healthy again.",
        f"查看 see: tbtwatch sources status   (失败次数阈值 failures before alarm: "
        f"{settings.scheduler.failures_before_alarm})",
    ]
    return OperatorMessage(
        key=f"alarm:{a.source}:{stamp}",
        subject=f"[tbtwatch] 数据源告警 source alarm: {a.source} — {_short(a)}",
        text="\n".join(lines) + "\n",
    )


def _recovered_message(a: Assessment, alarm: Alarm, stamp: str) -> OperatorMessage:
    last = a.last_run
    lines = [
        f"数据源 {a.source} 已恢复正常。",
        f"Source {a.source} has recovered.",
        "",
        f"告警时间 alarm raised at: {alarm.raised_at}",
        f"原因 reason was: {alarm.reason}",
        f"恢复时间 recovered at: {stamp}",
    ]
    if last is not None:
        lines.append(
            f"最近一次运行 last run: {last.started_at}, 状态 status {last.status}, 条目 items {last.items}, "
            f"新 new {last.new}"
        )
    return OperatorMessage(
        key=f"recovered:{a.source}:{alarm.raised_at}",
        subject=f"[tbtwatch] 数据源已恢复 source recovered: {a.source}",
        text="\n".join(lines) + "\n",
    )


def _short(a: Assessment) -> str:
    if a.state == "failing":
        return f"连续 {a.failures_in_a_row} 次失败 {a.failures_in_a_row} failed runs in a row"
    return f"长时间无新条目 silent since {a.silent_since}"


def _parse(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
