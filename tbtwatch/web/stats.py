"""Figures for the dashboard and ``/api/stats``, read from the store (the system of record)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tbtwatch import members
from tbtwatch.store import Store


@dataclass(slots=True)
class OpenNotice:
    """A notice still open for comment."""

    id: str
    kind: str
    member: str | None
    title: str
    title_zh: str | None
    comment_deadline: str
    days_left: int


@dataclass(slots=True)
class Stats:
    """Counts per month and kind, per member, per cluster, and the open-for-comment list."""

    total: int
    by_kind: dict[str, int]
    months: list[str]
    per_month: dict[str, list[int]]
    top_members: list[tuple[str, int]]
    per_cluster: list[tuple[str, int]]
    open_for_comment: list[OpenNotice] = field(default_factory=list)

    def as_dict(self, cluster_names: dict[str, str]) -> dict[str, Any]:
        """JSON-ready form, with member and cluster names."""
        return {
            "total": self.total,
            "by_kind": self.by_kind,
            "per_month": {
                m: {k: self.per_month[k][i] for k in self.per_month} for i, m in enumerate(self.months)
            },
            "top_members": [
                {
                    "member": m,
                    "name_zh": members.chinese_name(m),
                    "name_en": members.english_name(m),
                    "count": n,
                }
                for m, n in self.top_members
            ],
            "per_cluster": [
                {"cluster": c, "name_zh": cluster_names.get(c, c), "count": n} for c, n in self.per_cluster
            ],
            "open_for_comment": [
                {
                    "id": o.id,
                    "kind": o.kind,
                    "member": o.member,
                    "title": o.title,
                    "title_zh": o.title_zh,
                    "comment_deadline": o.comment_deadline,
                    "days_left": o.days_left,
                }
                for o in self.open_for_comment
            ],
        }


def compute(store: Store, today: date, *, top: int = 15, open_limit: int = 100) -> Stats:
    """Every dashboard figure in a handful of grouped queries."""
    c = store.conn
    by_kind = {r[0]: int(r[1]) for r in c.execute("SELECT kind, count(*) FROM notices GROUP BY kind")}
    rows = c.execute(
        "SELECT substr(distributed_on, 1, 7) AS m, kind, count(*) FROM notices"
        " WHERE distributed_on IS NOT NULL GROUP BY m, kind ORDER BY m"
    ).fetchall()
    months = sorted({r[0] for r in rows})
    kinds = [k for k in ("tbt", "sps", "news") if k in by_kind] or ["tbt", "sps", "news"]
    per_month = {k: [0] * len(months) for k in kinds}
    at = {m: i for i, m in enumerate(months)}
    for m, kind, n in rows:
        if kind in per_month:
            per_month[kind][at[m]] = int(n)
    top_members = [
        (r[0], int(r[1]))
        for r in c.execute(
            "SELECT member, count(*) AS n FROM notices WHERE member IS NOT NULL"
            " GROUP BY member ORDER BY n DESC, member LIMIT ?",
            (top,),
        )
    ]
    per_cluster = [
        (r[0], int(r[1]))
        for r in c.execute(
            "SELECT cluster_id, count(DISTINCT notice_id) AS n FROM labels GROUP BY cluster_id"
            " ORDER BY n DESC, cluster_id"
        )
    ]
    open_rows = c.execute(
        "SELECT n.id, n.kind, n.member, n.comment_deadline, n.data, t.title FROM notices n"
        " LEFT JOIN translations t ON t.notice_id = n.id AND t.lang = 'zh'"
        " WHERE n.comment_deadline >= ? ORDER BY n.comment_deadline, n.id LIMIT ?",
        (today.isoformat(), open_limit),
    ).fetchall()
    open_list = [
        OpenNotice(
            id=r[0],
            kind=r[1],
            member=r[2],
            title=str(json.loads(r[4]).get("title") or ""),
            title_zh=r[5],
            comment_deadline=r[3],
            days_left=(date.fromisoformat(r[3]) - today).days,
        )
        for r in open_rows
    ]
    return Stats(
        total=sum(by_kind.values()),
        by_kind=by_kind,
        months=months,
        per_month=per_month,
        top_members=top_members,
        per_cluster=per_cluster,
        open_for_comment=open_list,
    )


def sources(store: Store) -> list[dict[str, Any]]:
    """Every source seen in the store: its last run, run and failure counts, and its crawl state."""
    c = store.conn
    out: dict[str, dict[str, Any]] = {}
    for r in c.execute(
        "SELECT source, count(*), sum(CASE WHEN status NOT IN ('ok', 'running', '') THEN 1 ELSE 0 END),"
        " max(id) FROM source_runs GROUP BY source ORDER BY source"
    ):
        out[r[0]] = {"source": r[0], "runs": int(r[1]), "failed_runs": int(r[2] or 0), "last_run": None}
        last = store.runs(r[0], limit=1)
        if last:
            run = last[0]
            out[r[0]]["last_run"] = {
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "status": run.status,
                "items": run.items,
                "new": run.new,
                "changed": run.changed,
                "quarantined": run.quarantined,
                "errors": run.errors,
                "message": run.message,
            }
    for r in c.execute("SELECT source, data, updated_at FROM source_state ORDER BY source"):
        entry = out.setdefault(r[0], {"source": r[0], "runs": 0, "failed_runs": 0, "last_run": None})
        entry["state"] = json.loads(r[1])
        entry["state_updated_at"] = r[2]
    return sorted(out.values(), key=lambda e: e["source"])
