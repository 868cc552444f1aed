"""``tbtwatch sources status``: every source's last run, next run and health, in one table or JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from crawlers.sources import SOURCES_FILE, load_sources
from tbtwatch.service.health import alarms, assess_sources
from tbtwatch.service.schedule import next_fire, source_trigger, stored_next_runs
from tbtwatch.settings import Settings
from tbtwatch.store import Store


def sources_status(settings: Settings, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per configured source (disabled ones too), in file order."""
    moment = now or datetime.now(UTC)
    sources = load_sources(settings.config_dir / SOURCES_FILE, check_options=False)
    stored = stored_next_runs(settings)
    rows = []
    with Store.open(settings.store_path) as store:
        assessments = {
            a.source: a
            for a in assess_sources(
                store,
                sources.values(),
                now=moment,
                failures_before_alarm=settings.scheduler.failures_before_alarm,
            )
        }
        known = alarms(store)
    for name, src in sources.items():
        a = assessments[name]
        job = f"crawl:{name}"
        if not src.enabled:
            next_run, origin = None, "disabled"
        elif stored is not None and job in stored:
            next_run, origin = stored[job], "job store"
        else:
            next_run, origin = next_fire(source_trigger(src.schedule), moment), "schedule"
        last = a.last_run
        alarm = known.get(name)
        health = a.as_dict()
        health["alarm"] = (
            {"raised_at": alarm.raised_at, "reason": alarm.reason}
            if alarm is not None and alarm.state == "alarm"
            else None
        )
        if alarm is not None and alarm.state == "ok" and alarm.cleared_at:
            health["recovered_at"] = alarm.cleared_at
        row: dict[str, Any] = {}
        fallback = src.options.get("fallback_source") if src.spider == "eping_api" else None
        if fallback and settings.secrets.eping_api_key is None:
            # crawlers.runner.resolve_source: without a key its runs are recorded under the fallback
            row["crawled_as"] = fallback
        rows.append(
            {
                **src.listing(),
                "last_run": {k: v for k, v in asdict(last).items() if k != "id"} if last else None,
                "next_run": next_run.isoformat(timespec="seconds") if next_run else None,
                "next_run_from": origin,
                "health": health,
                **row,
            }
        )
    return rows


def health_label(row: dict[str, Any], tz: ZoneInfo | None = None) -> str:
    """One-cell summary: ok / failing N / silent since ... / alarm raised ... (times in ``tz``)."""
    h = row["health"]

    def at(stamp: str) -> str:
        return datetime.fromisoformat(stamp).astimezone(tz or UTC).strftime("%Y-%m-%d %H:%M")

    parts = []
    if h["state"] == "failing":
        parts.append(f"失败 failing {h['failures_in_a_row']}")
    elif h["state"] == "silent":
        parts.append(f"无新条目 silent since {at(h['silent_since'])}")
    elif h["state"] == "never run":
        parts.append("未运行 never run")
    elif h["state"] == "disabled":
        parts.append("已停用 disabled")
    else:
        parts.append("正常 ok")
    if row.get("crawled_as"):
        parts.append(f"无 API 密钥，改抓 no API key: crawled as {row['crawled_as']}")
    if h.get("alarm"):
        parts.append(f"已告警 alarm raised {at(h['alarm']['raised_at'])}")
    return "; ".join(parts)
