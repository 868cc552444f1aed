"""The one ingest path: crawls, file imports and backfills all hand their items to :class:`Ingestor`.

For each batch: valid notices are stored (new / changed / unchanged), then every downstream stage
(classify → index → match alerts) runs on the new and changed ones; rejected items go to quarantine
with their reason. The store's stage backlog is the work queue between stages: a notice is written
there for the first stage together with its upsert, and moves to the next stage's backlog as each stage
takes it. A stage that fails never loses data: the notices it failed on stay in its backlog, go no further,
and are retried (then passed on to the later stages) at the start of the next ingest; a crashed run
leaves each notice waiting for the stage it had reached. Every notice reaches every stage once per
change (twice only for a batch a crash caught inside a stage; the stages are idempotent).
``tbtwatch reindex`` also rebuilds the index from the store.

>>> with Ingestor(store, source="eping_workbook") as ing:      # doctest: +SKIP
...     for item in parse_rows(...):
...         ing.add(item)
>>> ing.report.as_dict()                                       # doctest: +SKIP
{'read': 229, 'new': 229, 'changed': 0, 'unchanged': 0, 'quarantined': 0, 'errors': 0}
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tbtwatch.models import Notice
from tbtwatch.settings import Settings
from tbtwatch.store import PENDING, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item a parser could not turn into a Notice: it is quarantined with this reason."""

    reason: str
    raw: Any


Item = Notice | Rejected


class Stage(Protocol):
    """A downstream step run on every new or changed notice (classifier, index, alert matching)."""

    name: str

    def process(self, notices: list[Notice], store: Store) -> None:
        """Handle a batch of new or changed notices; raise to have them retried later."""


#: Stage factories, in the order they run: ``"module:function"`` taking Settings and returning a Stage
#: or None (None when the stage is switched off by configuration).
STAGE_FACTORIES: list[str] = [
    "classifier.stage:make_stage",
    "index.stage:make_stage",
    "alerts.stage:make_stage",
]


def default_stages(settings: Settings) -> list[Stage]:
    """Build the configured downstream stages."""
    stages: list[Stage] = []
    for path in STAGE_FACTORIES:
        module, _, func = path.partition(":")
        factory: Callable[[Settings], Stage | None] = getattr(importlib.import_module(module), func)
        stage = factory(settings)
        if stage is not None:
            stages.append(stage)
    return stages


@dataclass
class IngestReport:
    """Counts of one ingest run."""

    source: str
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)
    new_ids: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        """The counters, JSON-ready."""
        return {
            "read": self.read,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "errors": self.errors,
        }


class Ingestor:
    """Buffers items and writes them through the store and the stages in batches."""

    def __init__(
        self,
        store: Store,
        *,
        source: str,
        stages: Iterable[Stage] = (),
        batch_size: int = 1000,
        record_run: bool = True,
        keep_ids: bool = True,
    ) -> None:
        self.store = store
        self.source = source
        self.stages = list(stages)
        self.batch_size = batch_size
        self.keep_ids = keep_ids
        self.report = IngestReport(source)
        self.run_id = store.start_run(source) if record_run else None
        self._notices: list[Notice] = []
        self._rejected: list[tuple[str, Any]] = []
        self._refresh: set[str] = set()
        self._closed = False
        self._retry_backlog()

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
        else:
            self.close(status="failed", message=f"{type(exc).__name__}: {exc}")

    def add(self, item: Item) -> None:
        """Take one parsed item (a Notice, or a Rejected record for quarantine)."""
        self.report.read += 1
        if isinstance(item, Rejected):
            self._rejected.append((item.reason, item.raw))
        else:
            self._notices.append(item)
        if len(self._notices) + len(self._rejected) >= self.batch_size:
            self.flush()

    def add_all(self, items: Iterable[Item]) -> IngestReport:
        """Take every item of an iterable, then flush; returns the running report."""
        for item in items:
            self.add(item)
        self.flush()
        return self.report

    def error(self, message: str) -> None:
        """Count an error that is not tied to one item (an HTTP failure, say) in this run's report."""
        self.report.errors += 1
        self.report.messages.append(message)

    def refresh(self, notice_id: str) -> None:
        """Pass a stored notice through the stages again at the next flush, although its content is unchanged.

        For what the stages see but the content hash leaves out: a Chinese title from the SAMR digest that
        arrives after its notice must reach the classifier (Chinese keywords) and the index (``title_zh``).
        The alert stage records each (recipient, notice) pair once, so a notice seen again alerts no one twice.
        """
        self._refresh.add(notice_id)
        if len(self._refresh) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write buffered items: quarantine, store, then stages on what is new or changed (or refreshed)."""
        if self._rejected:
            self.store.quarantine_many(self.source, self._rejected, self.run_id)
            self.report.quarantined += len(self._rejected)
            self._rejected = []
        fresh = self._flush_notices()
        if self._refresh:
            ids, self._refresh = sorted(self._refresh - fresh), set()
            if ids and self.stages:
                self.store.add_backlog(self.stages[0].name, ids, PENDING)
                stored = self.store.get_many(ids)
                self.store.clear_backlog(self.stages[0].name, set(ids) - {n.id for n in stored})
                if stored:
                    self._run_stages(stored)

    def _flush_notices(self) -> set[str]:
        """Store the buffered notices and run the stages on the new and changed ones; their ids."""
        if not self._notices:
            return set()
        batch, self._notices = self._notices, []
        fresh: dict[str, Notice] = {}
        with self.store.transaction():
            results = self.store.upsert_many(batch)
            if self.stages:
                # in the same transaction: a crash before the stages ran leaves them waiting for the first
                changed = [n.id for n, r in zip(batch, results, strict=True) if r.status != "unchanged"]
                self.store.add_backlog(self.stages[0].name, changed, PENDING)
        for notice, result in zip(batch, results, strict=True):
            if result.status == "unchanged":
                self.report.unchanged += 1
                continue
            if result.status == "new":
                self.report.new += 1
                if self.keep_ids:
                    self.report.new_ids.append(notice.id)
            else:
                self.report.changed += 1
                if self.keep_ids:
                    self.report.changed_ids.append(notice.id)
            fresh[notice.id] = notice  # the last version of an id in the batch is the stored one
        if fresh:
            self._run_stages(list(fresh.values()))
        return set(fresh)

    def close(self, *, status: str | None = None, message: str = "") -> IngestReport:
        """Flush and record the run; safe to call twice."""
        if self._closed:
            return self.report
        self._closed = True
        try:
            self.flush()
        finally:
            if self.run_id is not None:
                r = self.report
                final = status or ("ok" if r.errors == 0 else "errors")
                self.store.finish_run(
                    self.run_id,
                    status=final,
                    message=message or "; ".join(r.messages[:5]),
                    items=r.read,
                    new=r.new,
                    changed=r.changed,
                    unchanged=r.unchanged,
                    quarantined=r.quarantined,
                    errors=r.errors,
                )
        return self.report

    def _run_stages(self, notices: list[Notice], start: int = 0) -> None:
        """Run ``notices`` through the stages from ``start`` on (they wait in that stage's backlog).

        A notice moves to the next stage's backlog once a stage has processed it, and goes no further when
        a stage fails on it (a later stage needs what an earlier one adds, such as labels): the backlog
        retry of the failed stage passes it on. So every notice reaches every stage once per change, and a
        crash anywhere leaves it waiting for the stage it had reached.
        """
        ids = [n.id for n in notices]
        for position in range(start, len(self.stages)):
            stage = self.stages[position]
            try:
                stage.process(notices, self.store)
            except Exception as exc:  # a failing stage must not lose the batch: keep it for a retry
                log.exception("ingest stage %s failed on %d notices", stage.name, len(notices))
                self.store.add_backlog(stage.name, ids, f"{type(exc).__name__}: {exc}")
                self.error(f"stage {stage.name}: {type(exc).__name__}: {exc}")
                return
            self.store.advance_backlog(stage.name, ids, self._next_name(position))

    def _next_name(self, position: int) -> str | None:
        return self.stages[position + 1].name if position + 1 < len(self.stages) else None

    def _retry_backlog(self) -> None:
        """Retry each stage's backlog, in stage order, then the later stages on what it now takes."""
        for position, stage in enumerate(self.stages):
            tried: set[str] = set()
            while True:
                waiting = self.store.backlog(stage.name, limit=len(tried) + self.batch_size)
                ids = [i for i in waiting if i not in tried][: self.batch_size]
                if not ids:
                    break
                tried.update(ids)
                notices = self.store.get_many(ids)
                try:
                    stage.process(notices, self.store)
                except Exception as exc:  # still failing: keep the backlog, report, carry on with new items
                    log.warning("backlog retry of stage %s failed: %s", stage.name, exc)
                    self.error(f"backlog {stage.name}: {type(exc).__name__}: {exc}")
                    break
                found = [n.id for n in notices]
                self.store.advance_backlog(stage.name, found, self._next_name(position))
                if len(found) < len(ids):  # ids no longer in the store (none should be): nothing to pass on
                    self.store.clear_backlog(stage.name, set(ids) - set(found))
                log.info("stage %s caught up on %d notices from its backlog", stage.name, len(found))
                if notices:
                    self._run_stages(notices, position + 1)


def ingest(
    items: Iterable[Item], store: Store, *, source: str, stages: Iterable[Stage] = (), batch_size: int = 1000
) -> IngestReport:
    """Ingest every item and close the run (the function form of :class:`Ingestor`)."""
    with Ingestor(store, source=source, stages=stages, batch_size=batch_size) as ing:
        ing.add_all(items)
    return ing.report
