"""The embedded backend: a tantivy index in ``<home>/index``.

Layout: ``<home>/index/CURRENT`` names the live index folder (``notices-s<schema>-<time>``). A rebuild
writes a new folder and then replaces ``CURRENT`` atomically, so searches never see a half-built index;
the folder it replaces is removed by the rebuild after (a reader that read ``CURRENT`` just before the
switch still opens it).
tantivy allows one writer per folder (a lock file, across processes) and any number of readers; a
writer waits up to ``lock_timeout`` seconds for the lock, then raises :class:`IndexLockedError`. While a
rebuild runs it holds the old folder's writer too, so an ingest that runs meanwhile fails, keeps its
notices in the stage backlog and writes them into the new index on its next run.

Per field: every text field is indexed twice, ``<field>`` (English analysis, stored) and
``<field>_cjk`` (one token per Han character); keyword fields are raw terms, the ones faceted are
fast fields; HS and ICS codes are indexed with all their prefixes (``hs_prefix``, ``ics_prefix``) so a
prefix filter is a term lookup; ``sort_key`` orders newest first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import tantivy

from index import analysis
from index.backend import Results, SearchBackend, finish_facets, make_hit
from index.documents import DATE_FIELDS, FACET_FETCH, FACETS, LIST_FIELDS, TEXT_FIELDS, prefixes
from index.errors import IndexLockedError, IndexUnavailableError, IndexWriteError
from index.query import And, CjkMatch, EnMatch, Not, Or, Plan, Query, SymbolRef

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: tantivy's own writer lock still guards the data
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: Bump when the schema or the analysis changes: an index of another version must be rebuilt.
SCHEMA_VERSION = 1
CURRENT = "CURRENT"
_NAME = re.compile(r"^notices-s(\d+)-(\d+)$")
_RAW = ("id", "base_id", "kind", "doc_type", "member", "risk", "month")
_FAST = {"kind", "member", "risk", "month", "clusters"}
# one encoder for every document: json.dumps() with options builds a new one per call
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def build_schema() -> tantivy.Schema:
    """The tantivy schema of the notices index."""
    sb = tantivy.SchemaBuilder()
    sb.add_bytes_field("_source", stored=True, indexed=False)  # the index document as JSON, like ES's _source
    for name in (*_RAW, *LIST_FIELDS):
        sb.add_text_field(name, tokenizer_name="raw", fast=name in _FAST)
    sb.add_text_field("hs_prefix", tokenizer_name="raw")
    sb.add_text_field("ics_prefix", tokenizer_name="raw")
    for name in TEXT_FIELDS:
        sb.add_text_field(name, tokenizer_name=analysis.EN_ANALYZER)
        sb.add_text_field(f"{name}_cjk", tokenizer_name=analysis.CJK_ANALYZER)
    for name in DATE_FIELDS:
        sb.add_date_field(name, indexed=True, fast=True)
    sb.add_integer_field("sort_key", fast=True)
    return sb.build()


def _register(idx: tantivy.Index) -> tantivy.Index:
    idx.register_tokenizer(analysis.EN_ANALYZER, analysis.english_analyzer())
    idx.register_tokenizer(analysis.CJK_ANALYZER, analysis.cjk_analyzer())
    return idx


def _count(result: tantivy.SearchResult) -> int:
    # SearchResult.count exists at runtime (search(..., count=True)) but is missing from tantivy's stubs
    return int(getattr(result, "count", 0) or 0)


def _day(iso: str) -> datetime:
    d = date.fromisoformat(iso)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


class EmbeddedBackend(SearchBackend):
    """Search backend on a local tantivy index (the default)."""

    name = "embedded"

    def __init__(
        self,
        path: str | Path,
        *,
        lock_timeout: float = 30.0,
        write_heap_bytes: int = 64_000_000,
        rebuild_heap_bytes: int = 256_000_000,
        rebuild_threads: int = 0,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.write_heap_bytes = write_heap_bytes
        self.rebuild_heap_bytes = rebuild_heap_bytes
        self.rebuild_threads = rebuild_threads or min(4, os.cpu_count() or 1)
        self.schema = build_schema()
        self._open: tuple[str, tantivy.Index] | None = None
        # (inode, mtime, size) of CURRENT when last read, and the name it held: a stat per search
        # instead of reading the file (a rebuild replaces the file, so its inode changes)
        self._pointer: tuple[tuple[int, int, int], str] | None = None

    # -- folders ---------------------------------------------------------------------------------
    def _current_name(self) -> str | None:
        pointer = self.path / CURRENT
        try:
            st = os.stat(pointer)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            if self._pointer is not None and self._pointer[0] == stamp:
                return self._pointer[1]
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexUnavailableError(f"cannot read {pointer}: {exc}") from exc
        if not _NAME.match(name):
            raise IndexUnavailableError(
                f"{self.path / CURRENT} names {name!r}, not an index folder. Fix: run `tbtwatch reindex`."
            )
        self._pointer = (stamp, name)
        return name

    def _current_name_or_none(self) -> str | None:
        try:
            return self._current_name()
        except IndexUnavailableError:
            return None

    def _index(self, name: str) -> tantivy.Index:
        """The opened index of folder ``name`` (kept open while it stays current)."""
        if self._open is not None and self._open[0] == name:
            return self._open[1]
        m = _NAME.match(name)
        if m is None or int(m.group(1)) != SCHEMA_VERSION:
            raise IndexUnavailableError(
                f"the index in {self.path / name} was built by another version of tbtwatch. "
                "Fix: run `tbtwatch reindex`."
            )
        folder = self.path / name
        try:
            idx = _register(tantivy.Index.open(str(folder)))
        except ValueError as exc:
            raise IndexUnavailableError(
                f"cannot open the index in {folder}: {exc}. Fix: run `tbtwatch reindex`."
            ) from exc
        self._open = (name, idx)
        return idx

    def _current(self) -> tantivy.Index | None:
        name = self._current_name()
        if name is None:
            return None
        try:
            return self._index(name)
        except IndexUnavailableError:
            # a rebuild may have switched CURRENT and removed this folder between the read and the open
            latest = self._current_name()
            if latest is None or latest == name:
                raise
            return self._index(latest)

    @contextlib.contextmanager
    def _folder_lock(self) -> Iterator[None]:
        """Serialise creating folders and switching ``CURRENT`` between processes."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a+b") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _new_folder(self) -> tuple[str, tantivy.Index]:
        name = f"notices-s{SCHEMA_VERSION}-{time.time_ns()}"
        folder = self.path / name
        folder.mkdir(parents=True)
        return name, _register(tantivy.Index(self.schema, path=str(folder), reuse=False))

    def _make_current(self, name: str) -> None:
        tmp = self.path / f"{CURRENT}.{os.getpid()}.tmp"
        tmp.write_text(name + "\n", encoding="utf-8")
        os.replace(tmp, self.path / CURRENT)

    @contextlib.contextmanager
    def _writer(self, *, heap: int, threads: int = 1) -> Iterator[tuple[tantivy.Index, tantivy.IndexWriter]]:
        """The writer of the current index (created when there is none), waiting for the lock."""
        deadline = time.monotonic() + self.lock_timeout
        while True:
            with self._folder_lock():
                name = self._current_name()
                if name is None:
                    name, idx = self._new_folder()
                    self._make_current(name)
                    self._open = (name, idx)
            idx = self._index(name)
            try:
                writer = idx.writer(heap_size=heap, num_threads=threads)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise IndexUnavailableError(
                        f"cannot write the index in {self.path / name}: {exc}"
                    ) from exc
                if time.monotonic() > deadline:
                    raise IndexLockedError(
                        f"the index in {self.path / name} is being written by another process (waited "
                        f"{self.lock_timeout:.0f} s). Fix: retry when the running ingest or reindex ends."
                    ) from exc
                time.sleep(0.2)
                continue
            if self._current_name() != name:  # swapped by a rebuild while we waited: write the new one
                del writer
                continue
            break
        try:
            yield idx, writer
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer

    # -- writing ---------------------------------------------------------------------------------
    def _document(self, doc: Mapping[str, Any]) -> tantivy.Document:
        data: dict[str, Any] = {"_source": _JSON.encode(doc).encode()}
        for name in _RAW:
            if doc.get(name):
                data[name] = str(doc[name])
        for name in LIST_FIELDS:
            data[name] = list(doc.get(name) or [])
        data["hs_prefix"] = sorted({p for c in data["hs_codes"] for p in prefixes(c)})
        data["ics_prefix"] = sorted({p for c in data["ics_codes"] for p in prefixes(c)})
        for name in TEXT_FIELDS:
            text = doc.get(name)
            if not text:
                continue
            # Each analysis only where it can produce terms: a rebuild spends most of its time in them.
            if analysis.has_non_han_word(text):
                data[name] = analysis.english_view(text)
            if analysis.has_han(text):
                data[f"{name}_cjk"] = analysis.cjk_view(text)
        for name in DATE_FIELDS:
            if doc.get(name):
                data[name] = _day(doc[name])
        data["sort_key"] = int(doc["sort_key"])
        return tantivy.Document.from_dict(data, self.schema)

    def upsert_documents(self, docs: Sequence[dict[str, Any]]) -> int:
        """Add or replace documents in one commit."""
        if not docs:
            return 0
        try:
            with self._writer(heap=self.write_heap_bytes) as (idx, writer):
                for doc in docs:
                    writer.delete_documents_by_term("id", doc["id"])
                    writer.add_document(self._document(doc))
                writer.commit()
                writer.wait_merging_threads()
        except (ValueError, OSError) as exc:
            raise IndexWriteError(f"cannot write {len(docs)} documents to {self.path}: {exc}") from exc
        idx.reload()
        return len(docs)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id in one commit."""
        wanted = list(dict.fromkeys(ids))
        if not wanted or self._current_name() is None:
            return 0
        with self._writer(heap=self.write_heap_bytes) as (idx, writer):
            for i in wanted:
                writer.delete_documents_by_term("id", i)
            writer.commit()
            writer.wait_merging_threads()
        idx.reload()
        return len(wanted)

    def rebuild(self, docs: Iterator[dict[str, Any]]) -> int:
        """Index ``docs`` into a new folder, then switch ``CURRENT`` to it and remove the old folders."""
        fence: contextlib.ExitStack = contextlib.ExitStack()
        with fence:
            if self._current_name() is not None:
                with contextlib.suppress(IndexUnavailableError):  # an unreadable old index needs no fence
                    fence.enter_context(self._writer(heap=15_000_000))
            with self._folder_lock():
                name, idx = self._new_folder()
            n = 0
            writer = idx.writer(heap_size=self.rebuild_heap_bytes, num_threads=self.rebuild_threads)
            try:
                for doc in docs:
                    writer.add_document(self._document(doc))
                    n += 1
                writer.commit()
            except BaseException:
                with contextlib.suppress(ValueError):
                    writer.rollback()
                del writer, idx  # let tantivy release the folder before it goes
                shutil.rmtree(self.path / name, ignore_errors=True)
                raise
            writer.wait_merging_threads()
            with self._folder_lock():
                previous = self._current_name_or_none()
                self._make_current(name)
            idx.reload()
            self._open = (name, idx)
        self._remove_old(keep=name, previous=previous)
        log.info("rebuilt the embedded index %s with %d documents", name, n)
        return n

    def _remove_old(self, keep: str, previous: str | None = None) -> None:
        # The folder current until now stays until the next rebuild: a reader that read CURRENT just
        # before the switch can still open it.
        for entry in self.path.iterdir():
            if entry.is_dir() and _NAME.match(entry.name) and entry.name not in (keep, previous):
                # readers elsewhere may still have files open: on POSIX they keep reading the unlinked files
                shutil.rmtree(entry, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------------
    def _compile_leaf(self, leaf: Plan) -> tantivy.Query:
        s = self.schema
        if isinstance(leaf, EnMatch):
            words = [t for _p, t in leaf.terms]
            per_field = []
            for name, boost in TEXT_FIELDS.items():
                if len(words) == 1:
                    q = tantivy.Query.term_query(s, name, words[0])
                else:
                    q = tantivy.Query.phrase_query(s, name, list(leaf.terms))
                per_field.append(tantivy.Query.boost_query(q, boost))
            return tantivy.Query.disjunction_max_query(per_field)
        if isinstance(leaf, CjkMatch):
            chars = list(leaf.text)
            per_field = []
            for name, boost in TEXT_FIELDS.items():
                field = f"{name}_cjk"
                if len(chars) == 1:
                    q = tantivy.Query.term_query(s, field, chars[0])
                else:
                    q = tantivy.Query.phrase_query(s, field, chars)  # type: ignore[arg-type]
                per_field.append(tantivy.Query.boost_query(q, boost))
            return tantivy.Query.disjunction_max_query(per_field)
        if isinstance(leaf, SymbolRef):
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, tantivy.Query.term_query(s, "id", leaf.id)),
                    (tantivy.Occur.Should, tantivy.Query.term_query(s, "base_id", leaf.id)),
                ]
            )
        raise TypeError(f"not a leaf: {leaf!r}")

    def _compile(self, p: Plan) -> tantivy.Query:
        if isinstance(p, Not):
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, tantivy.Query.all_query()),
                    (tantivy.Occur.MustNot, self._compile(p.item)),
                ]
            )
        if isinstance(p, And):
            clauses = [
                (tantivy.Occur.MustNot, self._compile(i.item))
                if isinstance(i, Not)
                else (tantivy.Occur.Must, self._compile(i))
                for i in p.items
            ]
            if all(occ == tantivy.Occur.MustNot for occ, _q in clauses):
                clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
            return tantivy.Query.boolean_query(clauses)
        if isinstance(p, Or):
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, self._compile(i)) for i in p.items])
        return self._compile_leaf(p)

    def _filters(self, q: Query) -> list[tantivy.Query]:
        s = self.schema
        out: list[tantivy.Query] = []
        for field, values in (
            ("kind", [k.value for k in q.kinds]),
            ("member", list(q.members)),
            ("clusters", list(q.clusters)),
            ("risk", [r.value for r in q.risks]),
            ("hs_prefix", list(q.hs_prefixes)),
            ("ics_prefix", list(q.ics_prefixes)),
        ):
            if values:
                out.append(tantivy.Query.term_set_query(s, field, values))
        for field, lo, hi in (
            ("distributed_on", q.distributed_from, q.distributed_to),
            ("comment_deadline", q.deadline_from, q.deadline_to),
            ("comment_deadline", q.open_on, None),
        ):
            if lo is None and hi is None:
                continue
            # tantivy's dates span 1677-2262: a bound outside is no bound, or a range nothing is in
            start = max(_day(lo.isoformat()), tantivy.MIN_DATETIME) if lo else tantivy.MIN_DATETIME
            end = min(_day(hi.isoformat()), tantivy.MAX_DATETIME) if hi else tantivy.MAX_DATETIME
            if (lo and _day(lo.isoformat()) > tantivy.MAX_DATETIME) or (
                hi and _day(hi.isoformat()) < tantivy.MIN_DATETIME
            ):
                out.append(tantivy.Query.empty_query())
                continue
            out.append(tantivy.Query.range_query(s, field, tantivy.FieldType.Date, start, end))
        return out

    def tantivy_query(self, q: Query, plan: Plan | None = None) -> tantivy.Query:
        """The tantivy query for ``q`` (filters score nothing, so relevance comes from the text alone)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if q.has_text:
            p = plan if plan is not None else q.plan()
            if p is None:
                return tantivy.Query.empty_query()
            clauses.append((tantivy.Occur.Must, self._compile(p)))
        for f in self._filters(q):
            clauses.append((tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0)))
        if not clauses:
            return tantivy.Query.all_query()
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    def _search(
        self, searcher: tantivy.Searcher, tq: tantivy.Query, q: Query, limit: int, offset: int
    ) -> Any:
        if q.effective_sort == "date":
            return searcher.search(
                tq, limit, count=True, order_by_field="sort_key", offset=offset, order=tantivy.Order.Desc
            )
        return searcher.search(tq, limit, count=True, offset=offset)

    def search(self, query: Query) -> Results:
        """One page of results, with facets and snippets."""
        started = time.perf_counter()
        results = Results(total=0, page=query.page, size=query.size, backend=self.name)
        idx = self._current()
        if idx is None:
            results.facets = finish_facets({}) if query.facets else {}
            return results
        plan = query.plan() if query.has_text else None
        tq = self.tantivy_query(query, plan)
        searcher = idx.searcher()
        found = self._search(searcher, tq, query, max(query.size, 1), query.offset)
        results.total = _count(found)
        by_date = query.effective_sort == "date"
        for score, addr in found.hits[: query.size]:
            source = self._source(searcher.doc(addr))
            results.hits.append(
                make_hit(source["id"], None if by_date else float(score), source, query, plan)
            )
        if query.facets:
            results.facets = finish_facets(self._facets(searcher, tq) if results.total else {})
        results.took_ms = (time.perf_counter() - started) * 1000
        return results

    def _facets(self, searcher: tantivy.Searcher, tq: tantivy.Query) -> dict[str, dict[str, int]]:
        aggs = {
            name: {"terms": {"field": field, "size": FACET_FETCH, "segment_size": FACET_FETCH}}
            for name, field in FACETS.items()
        }
        raw = searcher.aggregate(tq, aggs)
        return {name: {str(b["key"]): int(b["doc_count"]) for b in raw[name]["buckets"]} for name in FACETS}

    @staticmethod
    def _source(doc: tantivy.Document) -> dict[str, Any]:
        raw = doc.get_first("_source")
        if not isinstance(raw, (str, bytes)):
            raise IndexUnavailableError(
                "document without a stored _source: rebuild the index with `tbtwatch reindex`"
            )
        source = orjson.loads(raw)
        if not isinstance(source, dict):
            raise IndexUnavailableError("a stored _source is not an object: rebuild the index")
        return source

    def count(self, query: Query | None = None) -> int:
        """Number of documents (matching ``query``)."""
        idx = self._current()
        if idx is None:
            return 0
        searcher = idx.searcher()
        if query is None:
            return int(searcher.num_docs)
        return _count(searcher.search(self.tantivy_query(query), 1, count=True))

    def ids(self, query: Query, limit: int | None = None) -> list[str]:
        """Ids of every match, in the query's order."""
        idx = self._current()
        if idx is None:
            return []
        searcher = idx.searcher()
        tq = self.tantivy_query(query)
        total = _count(searcher.search(tq, 1, count=True))
        want = total if limit is None else min(total, limit)
        if want == 0:
            return []
        found = self._search(searcher, tq, query, want, 0)
        return [str(self._source(searcher.doc(addr))["id"]) for _s, addr in found.hits]

    def close(self) -> None:
        """Forget the opened index (tantivy releases its files when the objects go)."""
        self._open = None
        self._pointer = None
