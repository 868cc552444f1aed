"""The SQLite store: the system of record (DESIGN.md invariant 1).

WAL mode, one writer process plus any number of readers. Every write method commits its own
transaction; batch methods write a whole batch in one transaction.

>>> store = Store.open(":memory:")
>>> store.upsert_many([notice])   # doctest: +SKIP
[UpsertResult(id='G/TBT/N/EU/1050', status='new', version=1)]
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tbtwatch.errors import StoreError
from tbtwatch.migrations import MIGRATIONS
from tbtwatch.models import STORED, ClusterLabel, Labels, Notice, Risk

log = logging.getLogger(__name__)

Status = Literal["new", "changed", "unchanged"]
_STORED_EXCLUDE = {"title_zh", "products_zh"}
#: The ``error`` of a backlog entry that waits for the first attempt of its stage (not a failure yet).
PENDING = "pending"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """Outcome of storing one notice."""

    id: str
    status: Status
    version: int


@dataclass(frozen=True, slots=True)
class SourceRun:
    """One recorded run of a source."""

    id: int
    source: str
    started_at: str
    finished_at: str | None
    status: str
    items: int
    new: int
    changed: int
    unchanged: int
    quarantined: int
    errors: int
    message: str


class Store:
    """Access to the tbtwatch SQLite database."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> Store:
        """Open (creating and migrating unless ``readonly``) the store at ``path``."""
        spath = str(path)
        try:
            if spath != ":memory:" and not readonly:
                Path(spath).parent.mkdir(parents=True, exist_ok=True)
            if readonly:
                conn = sqlite3.connect(f"file:{spath}?mode=ro", uri=True, timeout=30, isolation_level=None)
            else:
                conn = sqlite3.connect(spath, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            if not readonly:
                conn.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable against process crashes in WAL mode, which is what invariant 3 needs.
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {spath}: {exc}") from exc
        store = cls(conn, spath)
        if not readonly:
            store.migrate()
        return store

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """Number of the last migration applied."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> list[int]:
        """Apply pending migrations in order; return the numbers applied."""
        applied: list[int] = []
        current = self.schema_version
        latest = max(n for n, _, _ in MIGRATIONS)
        if current > latest:
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this tbtwatch ({latest}); "
                "upgrade tbtwatch"
            )
        for number, description, sql in MIGRATIONS:
            if number <= current:
                continue
            log.info("applying store migration %d: %s", number, description)
            try:
                with self.transaction():
                    for statement in _statements(sql):
                        self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA user_version = {int(number)}")
            except sqlite3.Error as exc:
                raise StoreError(f"migration {number} ({description}) failed on {self.path}: {exc}") from exc
            applied.append(number)
        return applied

    def transaction(self) -> _Transaction:
        """Context manager for one write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``)."""
        return _Transaction(self.conn)

    def integrity_check(self) -> str:
        """Result of ``PRAGMA integrity_check`` (``ok`` when healthy)."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    # -- notices -------------------------------------------------------------------------------
    def upsert_many(self, notices: Sequence[Notice]) -> list[UpsertResult]:
        """Store notices: new ones are inserted, changed content becomes a new version, same content is a no-op.

        Duplicates inside one batch are resolved in order (the last one wins, as if stored one by one).
        """
        results: list[UpsertResult] = []
        if not notices:
            return results
        ids = list({n.id for n in notices})
        existing: dict[str, tuple[str, int]] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT id, content_hash, version FROM notices WHERE id IN ({marks})", chunk
            ):
                existing[row[0]] = (row[1], row[2])
        now = _now()
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        for n in notices:
            prev = existing.get(n.id)
            if prev is not None and prev[0] == n.content_hash:
                results.append(UpsertResult(n.id, "unchanged", prev[1]))
                continue
            data = n.model_dump_json(exclude=_STORED_EXCLUDE)
            fetched = n.fetched_at.isoformat(timespec="seconds")
            row = (
                n.base_id,
                n.kind.value,
                n.doc_type.value,
                n.member,
                n.distributed_on.isoformat() if n.distributed_on else None,
                n.comment_deadline.isoformat() if n.comment_deadline else None,
                n.source,
                int(n.synthetic_id),
                n.content_hash,
            )
            if prev is None:
                version = 1
                inserts.append((n.id, *row, version, now, now, data))
                results.append(UpsertResult(n.id, "new", version))
            else:
                version = prev[1] + 1
                updates.append((*row, version, now, data, n.id))
                results.append(UpsertResult(n.id, "changed", version))
            existing[n.id] = (n.content_hash, version)
            versions.append((n.id, version, n.content_hash, n.source, fetched, data))
        try:
            with self.transaction():
                # A notice new in this batch and changed later in it is inserted then updated, in order.
                self.conn.executemany(
                    "INSERT INTO notices (id, base_id, kind, doc_type, member, distributed_on, comment_deadline,"
                    " source, synthetic, content_hash, version, first_seen, updated_at, data)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    inserts,
                )
                self.conn.executemany(
                    "UPDATE notices SET base_id=?, kind=?, doc_type=?, member=?, distributed_on=?,"
                    " comment_deadline=?, source=?, synthetic=?, content_hash=?, version=?, updated_at=?, data=?"
                    " WHERE id=?",
                    updates,
                )
                self.conn.executemany(
                    "INSERT INTO notice_versions (id, version, content_hash, source, fetched_at, data)"
                    " VALUES (?,?,?,?,?,?)",
                    versions,
                )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write notices to {self.path}: {exc}") from exc
        return results

    def upsert(self, notice: Notice) -> UpsertResult:
        """Store one notice (see :meth:`upsert_many`)."""
        return self.upsert_many([notice])[0]

    def get(self, notice_id: str) -> Notice | None:
        """The current version of a notice, with its Chinese translation when one is known."""
        row = self.conn.execute("SELECT data FROM notices WHERE id = ?", (notice_id,)).fetchone()
        if row is None:
            return None
        return self._with_translations([Notice.model_validate_json(row[0], context=STORED)])[0]

    def get_many(self, ids: Sequence[str]) -> list[Notice]:
        """Notices for the ids that exist, in the order given."""
        found: dict[str, Notice] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT id, data FROM notices WHERE id IN ({marks})", chunk):
                found[row[0]] = Notice.model_validate_json(row[1], context=STORED)
        return self._with_translations([found[i] for i in ids if i in found])

    def iter_notices(self, *, batch: int = 1000, kind: str | None = None) -> Iterator[Notice]:
        """Every current notice, in id order, read in batches (for reindexing and training)."""
        last = ""
        while True:
            sql = "SELECT id, data FROM notices WHERE id > ?"
            args: list[Any] = [last]
            if kind:
                sql += " AND kind = ?"
                args.append(kind)
            rows = self.conn.execute(sql + " ORDER BY id LIMIT ?", [*args, batch]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield from self._with_translations(
                [Notice.model_validate_json(r[1], context=STORED) for r in rows]
            )

    def count(self, kind: str | None = None) -> int:
        """Number of notices (of one kind)."""
        if kind:
            return int(self.conn.execute("SELECT count(*) FROM notices WHERE kind=?", (kind,)).fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM notices").fetchone()[0])

    def versions(self, notice_id: str) -> list[dict[str, Any]]:
        """Version history of a notice: version, content hash, source, fetched_at."""
        rows = self.conn.execute(
            "SELECT version, content_hash, source, fetched_at FROM notice_versions WHERE id=? ORDER BY version",
            (notice_id,),
        )
        return [dict(r) for r in rows]

    def family(self, base_id: str) -> list[dict[str, Any]]:
        """The life of a measure: every stored document with this base id, in distribution order."""
        rows = self.conn.execute(
            "SELECT id, doc_type, distributed_on FROM notices WHERE base_id = ?"
            " ORDER BY distributed_on IS NULL, distributed_on, length(id), id",
            (base_id,),
        )
        return [dict(r) for r in rows]

    # -- translations (SAMR digest gives Chinese titles) ---------------------------------------
    def set_translation(
        self, notice_id: str, lang: str, *, title: str | None, products: str | None, source: str
    ) -> None:
        """Record a translated title/products for a notice (the notice may arrive later)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO translations (notice_id, lang, title, products, source, updated_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(notice_id, lang) DO UPDATE SET"
                " title=coalesce(excluded.title, title), products=coalesce(excluded.products, products),"
                " source=excluded.source, updated_at=excluded.updated_at",
                (notice_id, lang, title, products, source, _now()),
            )

    def get_translation(self, notice_id: str, lang: str) -> dict[str, Any] | None:
        """The recorded translation of a notice (title, products, source, updated_at), or None."""
        row = self.conn.execute(
            "SELECT title, products, source, updated_at FROM translations WHERE notice_id=? AND lang=?",
            (notice_id, lang),
        ).fetchone()
        return dict(row) if row else None

    def _with_translations(self, notices: list[Notice]) -> list[Notice]:
        if not notices:
            return notices
        zh: dict[str, tuple[str | None, str | None]] = {}
        for chunk in _chunks([n.id for n in notices], 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT notice_id, title, products FROM translations WHERE lang='zh' AND notice_id IN ({marks})",
                chunk,
            ):
                zh[row[0]] = (row[1], row[2])
        for n in notices:
            if n.id in zh:
                n.title_zh, n.products_zh = zh[n.id]
        return notices

    # -- labels ---------------------------------------------------------------------------------
    def save_labels(self, labels: Iterable[Labels]) -> None:
        """Replace the cluster labels and risk grade of each notice given."""
        now = _now()
        items = list(labels)
        with self.transaction():
            self.conn.executemany("DELETE FROM labels WHERE notice_id=?", [(lab.notice_id,) for lab in items])
            self.conn.executemany(
                "INSERT INTO labels (notice_id, cluster_id, score, reasons) VALUES (?,?,?,?)",
                [
                    (lab.notice_id, c.cluster_id, c.score, json.dumps(c.reasons, ensure_ascii=False))
                    for lab in items
                    for c in lab.clusters
                ],
            )
            self.conn.executemany(
                "INSERT INTO risk (notice_id, grade, reasons, model_version, labelled_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(notice_id) DO UPDATE SET grade=excluded.grade, reasons=excluded.reasons,"
                " model_version=excluded.model_version, labelled_at=excluded.labelled_at",
                [
                    (
                        lab.notice_id,
                        lab.risk.value,
                        json.dumps(lab.risk_reasons, ensure_ascii=False),
                        lab.model_version,
                        now,
                    )
                    for lab in items
                ],
            )

    def get_labels(self, notice_id: str) -> Labels | None:
        """Labels of one notice, best cluster first, or None when it was never classified."""
        return self.get_labels_many([notice_id]).get(notice_id)

    def get_labels_many(self, ids: Sequence[str]) -> dict[str, Labels]:
        """Labels for several notices, keyed by id (unclassified notices are absent)."""
        out: dict[str, Labels] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(
                f"SELECT notice_id, grade, reasons, model_version FROM risk WHERE notice_id IN ({marks})",
                chunk,
            ):
                out[row[0]] = Labels(
                    notice_id=row[0], risk=Risk(row[1]), risk_reasons=json.loads(row[2]), model_version=row[3]
                )
            for row in self.conn.execute(
                f"SELECT notice_id, cluster_id, score, reasons FROM labels WHERE notice_id IN ({marks})"
                " ORDER BY score DESC, cluster_id",
                chunk,
            ):
                lab = out.setdefault(row[0], Labels(notice_id=row[0]))
                lab.clusters.append(ClusterLabel(cluster_id=row[1], score=row[2], reasons=json.loads(row[3])))
        return out

    # -- quarantine -----------------------------------------------------------------------------
    def quarantine(self, source: str, reason: str, raw: Any, run_id: int | None = None) -> int:
        """Keep an item that failed validation, with its reason; return its quarantine id."""
        return self.quarantine_many(source, [(reason, raw)], run_id)[0]

    def quarantine_many(
        self, source: str, items: Sequence[tuple[str, Any]], run_id: int | None = None
    ) -> list[int]:
        """Quarantine several (reason, raw item) pairs in one transaction."""
        now = _now()
        ids: list[int] = []
        with self.transaction():
            for reason, raw in items:
                cur = self.conn.execute(
                    "INSERT INTO quarantine (source, run_id, reason, raw, created_at) VALUES (?,?,?,?,?)",
                    (source, run_id, reason, json.dumps(raw, default=str), now),
                )
                ids.append(int(cur.lastrowid or 0))
        return ids

    def quarantined(self, source: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Latest quarantine records (newest first)."""
        sql = "SELECT id, source, run_id, reason, raw, created_at FROM quarantine"
        args: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            args.append(source)
        rows = self.conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [{**dict(r), "raw": json.loads(r["raw"])} for r in rows]

    def quarantine_count(self, source: str | None = None) -> int:
        """Number of quarantine records (of one source)."""
        if source:
            return int(
                self.conn.execute("SELECT count(*) FROM quarantine WHERE source=?", (source,)).fetchone()[0]
            )
        return int(self.conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])

    # -- source runs and state ------------------------------------------------------------------
    def start_run(self, source: str) -> int:
        """Record the start of a source run; return its id."""
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO source_runs (source, started_at) VALUES (?, ?)", (source, _now())
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, *, status: str, message: str = "", **counts: int) -> None:
        """Record the end of a run with its counts (items, new, changed, unchanged, quarantined, errors)."""
        allowed = {"items", "new", "changed", "unchanged", "quarantined", "errors"}
        unknown = set(counts) - allowed
        if unknown:
            raise ValueError(f"unknown run counters: {sorted(unknown)}")
        sets = "".join(f", {k}=?" for k in counts)
        with self.transaction():
            self.conn.execute(
                f"UPDATE source_runs SET finished_at=?, status=?, message=?{sets} WHERE id=?",
                (_now(), status, message, *counts.values(), run_id),
            )

    def runs(self, source: str | None = None, limit: int = 20) -> list[SourceRun]:
        """Latest runs (newest first)."""
        sql = "SELECT * FROM source_runs"
        args: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            args.append(source)
        rows = self.conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit])
        return [SourceRun(**dict(r)) for r in rows]

    def get_state(self, source: str) -> dict[str, Any]:
        """Per-source crawl state (for example the last distribution date fetched)."""
        row = self.conn.execute("SELECT data FROM source_state WHERE source=?", (source,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def set_state(self, source: str, data: dict[str, Any]) -> None:
        """Replace a source's crawl state."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO source_state (source, data, updated_at) VALUES (?,?,?) ON CONFLICT(source)"
                " DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at",
                (source, json.dumps(data, ensure_ascii=False, default=str), _now()),
            )

    # -- ingest stage backlog ----------------------------------------------------------------------
    def add_backlog(self, stage: str, notice_ids: Iterable[str], error: str) -> None:
        """Remember notices a downstream stage failed on, to retry them on the next ingest."""
        now = _now()
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO stage_backlog (stage, notice_id, error, added_at) VALUES (?,?,?,?)",
                [(stage, i, error[:2000], now) for i in notice_ids],
            )

    def backlog(self, stage: str, limit: int = 5000) -> list[str]:
        """Notice ids waiting for a retry of ``stage``."""
        rows = self.conn.execute(
            "SELECT notice_id FROM stage_backlog WHERE stage=? ORDER BY added_at LIMIT ?", (stage, limit)
        )
        return [r[0] for r in rows]

    def clear_backlog(self, stage: str, notice_ids: Iterable[str]) -> None:
        """Forget backlog entries that a stage has now processed."""
        with self.transaction():
            self.conn.executemany(
                "DELETE FROM stage_backlog WHERE stage=? AND notice_id=?", [(stage, i) for i in notice_ids]
            )

    def advance_backlog(self, stage: str, notice_ids: Sequence[str], next_stage: str | None) -> None:
        """Hand notices a stage has processed on to the next stage's backlog (or drop them after the last).

        One transaction: a crash leaves each notice waiting for exactly one stage.
        """
        now = _now()
        with self.transaction():
            if next_stage is not None:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO stage_backlog (stage, notice_id, error, added_at) VALUES (?,?,?,?)",
                    [(next_stage, i, PENDING, now) for i in notice_ids],
                )
            self.conn.executemany(
                "DELETE FROM stage_backlog WHERE stage=? AND notice_id=?", [(stage, i) for i in notice_ids]
            )

    # -- statistics -----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Counts by kind, member and distribution month, plus quarantine and run totals."""
        c = self.conn
        return {
            "notices": self.count(),
            "by_kind": {
                r[0]: r[1]
                for r in c.execute("SELECT kind, count(*) FROM notices GROUP BY kind ORDER BY kind")
            },
            "by_member": {
                r[0]: r[1]
                for r in c.execute(
                    "SELECT coalesce(member, '-'), count(*) AS n FROM notices GROUP BY 1 ORDER BY n DESC, 1"
                )
            },
            "by_month": {
                r[0]: r[1]
                for r in c.execute(
                    "SELECT coalesce(substr(distributed_on, 1, 7), 'unknown'), count(*) FROM notices"
                    " GROUP BY 1 ORDER BY 1"
                )
            },
            "quarantined": self.quarantine_count(),
            "runs": int(c.execute("SELECT count(*) FROM source_runs").fetchone()[0]),
        }


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` / ``ROLLBACK`` on an autocommit connection; nests as a no-op."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def _chunks(seq: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
