"""What the demo shows: counts per source, totals, the index, sample searches, the maildir, where to look.

:func:`build_report` gathers a JSON-ready dict from the store, the search index and the maildir after the
pipeline; :func:`print_report` prints the same for a person, Chinese first.
"""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich import box
from rich.console import Console
from rich.table import Table

from tbtwatch.demo.pipeline import PipelineResult
from tbtwatch.settings import Settings
from tbtwatch.store import Store

#: Searches the report runs, one in each language of the data.
SAMPLE_SEARCHES = ("玩具", "battery")
#: The notice the report points at (a toy-safety measure with its addendum, corrigendum and Chinese title);
#: the first 玩具 hit when it is absent.
SAMPLE_NOTICE = "G/TBT/N/EU/1150"
#: Paths of the web app's search and notice pages.
SEARCH_PATH = "/search?q={query}"
NOTICE_PATH = "/notices/{id}"

_HEALTH = {"ok": "正常 ok", "errors": "有错误 errors", "failed": "失败 failed"}


def source_health(store: Store, source: str) -> dict[str, Any]:
    """Health of a source from its last recorded run: ``ok`` when that run ended without errors."""
    runs = store.runs(source, limit=1)
    if not runs:
        return {"health": "never_run", "last_run": None}
    last = runs[0]
    healthy = last.status == "ok" and last.errors == 0
    return {"health": "ok" if healthy else "failing", "last_run": last.finished_at or last.started_at}


def maildir_files(maildir: Path, before: set[str] | None = None) -> list[dict[str, Any]]:
    """Every message file of the maildir with its recipient and subject; ``new`` marks files not in
    ``before`` (the names present before the digest phase)."""
    out: list[dict[str, Any]] = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
            if not path.is_file():
                continue
            with path.open("rb") as fh:
                msg = email.message_from_binary_file(fh, policy=email.policy.default)
            out.append(
                {
                    "file": str(path),
                    "to": str(msg.get("To", "")),
                    "subject": str(msg.get("Subject", "")),
                    "new": before is not None and path.name not in before,
                }
            )
    return out


def maildir_names(maildir: Path) -> set[str]:
    """Names of the message files in the maildir now."""
    return {p.name for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir()}


def _index(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    from index.backend import open_backend
    from index.query import Query

    searches: dict[str, Any] = {}
    with open_backend(settings) as backend:
        documents = backend.count()
        for text in SAMPLE_SEARCHES:
            results = backend.search(Query(text=text, size=5, facets=False, highlight=False))
            searches[text] = {"total": results.total, "top": results.ids}
    size = sum(p.stat().st_size for p in settings.index_dir.rglob("*") if p.is_file())
    info = {
        "backend": settings.index.backend,
        "documents": documents,
        "bytes": size if settings.index.backend == "embedded" else None,
        "path": str(settings.index_dir) if settings.index.backend == "embedded" else settings.index.es_url,
    }
    return info, searches


def web_links(base: str, store: Store, searches: dict[str, Any]) -> dict[str, str]:
    """URLs of the web app to open: search page, a sample notice, health."""
    notice = SAMPLE_NOTICE if store.get(SAMPLE_NOTICE) is not None else None
    if notice is None:
        top = searches.get(SAMPLE_SEARCHES[0], {}).get("top") or []
        notice = top[0] if top else None
    links = {
        "url": base,
        "search": base + SEARCH_PATH.format(query=quote(SAMPLE_SEARCHES[0])),
        "healthz": base + "/healthz",
    }
    if notice:
        links["notice"] = base + NOTICE_PATH.format(id=quote(notice, safe="/:"))
    return links


def build_report(
    settings: Settings,
    result: PipelineResult,
    *,
    maildir_before: set[str],
    web_url: str | None,
    seconds: float,
) -> dict[str, Any]:
    """The demo's report as a JSON-ready dict."""
    index, searches = _index(settings)
    with Store.open(settings.store_path, readonly=True) as store:
        stats = store.stats()
        sources = [
            {**r.as_dict(), "messages": r.messages[:10], **source_health(store, r.source)}
            for r in result.sources
        ]
        web = web_links(web_url, store, searches) if web_url else None
    files = maildir_files(settings.maildir, maildir_before)
    by_kind = stats["by_kind"]
    delivery = result.digests.get("delivery") or {}
    return {
        "ok": all(s["status"] == "ok" and s["errors"] == 0 for s in sources),
        "seconds": round(seconds, 2),
        "phases": result.phases,
        "home": str(settings.home),
        "logs": str(settings.home / "logs"),
        "mirror": result.mirror_url,
        "now": result.now.isoformat(),
        "sources": sources,
        "totals": {
            "notices": stats["notices"],
            "tbt": by_kind.get("tbt", 0),
            "sps": by_kind.get("sps", 0),
            "news": by_kind.get("news", 0),
            "quarantined": stats["quarantined"],
            "runs": stats["runs"],
        },
        "index": index,
        "searches": searches,
        "recipients": result.recipients,
        "digests": {
            "built": result.digests.get("digests", {}),
            "messages": result.digests.get("messages", 0),
            "sent": delivery.get("sent", 0),
            "failed": len(delivery.get("failed") or []),
        },
        "maildir": {
            "path": str(settings.maildir),
            "files": files,
            "new": sum(1 for f in files if f["new"]),
        },
        "web": web,
    }


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.0f} KB"


def print_report(report: dict[str, Any], console: Console) -> None:
    """The report for a person, Chinese first with the English beside it."""

    def line(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    state = "完成 done" if report["ok"] else "完成，但有来源出错 done, with source errors"
    line(f"tbtwatch 离线演示 offline demo — {state}，用时 {report['seconds']:.1f} s")
    line(f"本地镜像 local mirror: {report['mirror']}    演示时钟 demo clock: {report['now']}")
    line(f"数据目录 home: {report['home']}    抓取日志 crawl logs: {report['logs']}")

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("来源 source", no_wrap=True)
    for head in ("条目\nitems", "新增\nnew", "变更\nchanged", "隔离\nquarantined", "错误\nerrors"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("健康\nhealth", no_wrap=True)
    for s in report["sources"]:
        health = "正常 ok" if s["health"] == "ok" else _HEALTH.get(s["status"], s["status"])
        table.add_row(
            s["source"],
            str(s["items"]),
            str(s["new"]),
            str(s["changed"]),
            str(s["quarantined"]),
            str(s["errors"]),
            health,
        )
    console.print(table)
    for s in report["sources"]:
        for message in s["messages"][:3]:
            line(f"  {s['source']}: {message}")

    t = report["totals"]
    line(
        f"通报 notifications: TBT {t['tbt']} · SPS {t['sps']}    新闻 news: {t['news']}    "
        f"合计 total: {t['notices']}    隔离 quarantined: {t['quarantined']} (tbtwatch quarantine)"
    )
    ix = report["index"]
    line(
        f"检索索引 search index ({ix['backend']}): {ix['documents']} 篇 documents, {_size(ix['bytes'])}, "
        f"{ix['path']}"
    )
    found = "    ".join(f"「{q}」{r['total']} 条 hits" for q, r in report["searches"].items())
    line(f"示例搜索 sample searches: {found}    (tbtwatch search 玩具)")

    r = report["recipients"]
    line(
        f"收件人 recipients: 新建 created {r['created']} · 更新 updated {r['updated']} · "
        f"未变 unchanged {r['unchanged']}    (tbtwatch recipients list)"
    )
    d, m = report["digests"], report["maildir"]
    line(
        f"摘要邮件 digests: 本次发出 sent this run {d['sent']}; 邮箱 maildir {m['path']} ({len(m['files'])} 封 messages)"
    )
    for f in m["files"]:
        mark = "[新 new] " if f["new"] else ""
        line(f"  {mark}{f['file']}")
        line(f"      致 to {f['to']} · {f['subject']}")

    web = report.get("web")
    if web:
        line(f"网页 web app: {web['url']}")
        line(f"  搜索 search: {web['search']}")
        if "notice" in web:
            line(f"  通报 notice: {web['notice']}")
        line("按 Ctrl-C 停止 / press Ctrl-C to stop")
    else:
        line("网页 web app: 运行 run `tbtwatch demo` (不加 without --no-web) 或 or `tbtwatch web`")
