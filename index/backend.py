"""The :class:`SearchBackend` interface, search results, and the shared parts of every backend.

A backend indexes :func:`index.documents.build_document` dicts and answers :class:`index.query.Query`.
The store is the system of record; :meth:`SearchBackend.reindex_from` rebuilds an index from it.

>>> backend = open_backend(settings)                          # doctest: +SKIP
>>> backend.bulk_upsert(notices, store.get_labels_many(ids))  # doctest: +SKIP
>>> backend.search(Query(text="玩具", members=["EU"])).total   # doctest: +SKIP
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from index import highlight
from index.documents import FACET_SIZES, HIT_FIELDS, build_document
from index.query import Plan, Query
from tbtwatch.errors import ConfigError
from tbtwatch.models import Labels, Notice
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)

BackendName = Literal["embedded", "elasticsearch"]
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One facet value and the number of matching notices that have it."""

    key: str
    count: int


@dataclass(slots=True)
class Hit:
    """One matching notice: id, score (None when sorted by date), highlighted snippets and stored fields.

    Snippets are HTML: text escaped, matches wrapped in ``<mark>``…``</mark>``; keys ``title``,
    ``description`` and, when the notice has them, ``title_zh`` and ``products_zh``.
    """

    id: str
    score: float | None
    snippets: dict[str, str]
    fields: dict[str, Any]


@dataclass(slots=True)
class Results:
    """A page of hits, the exact total and facets (member, cluster, kind, risk, month)."""

    total: int
    page: int
    size: int
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, list[Bucket]] = field(default_factory=dict)
    backend: str = ""
    took_ms: float = 0.0

    @property
    def ids(self) -> list[str]:
        """Ids of the hits in order."""
        return [h.id for h in self.hits]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class SearchBackend(abc.ABC):
    """Search index of notices. Implementations: embedded tantivy and Elasticsearch."""

    name: str = ""

    @abc.abstractmethod
    def upsert_documents(self, docs: Sequence[dict[str, Any]]) -> int:
        """Add or replace index documents (by id); return how many were written."""

    @abc.abstractmethod
    def delete(self, ids: Iterable[str]) -> int:
        """Remove notices from the index; return how many ids were asked for."""

    @abc.abstractmethod
    def search(self, query: Query) -> Results:
        """One page of results with facets and snippets."""

    @abc.abstractmethod
    def count(self, query: Query | None = None) -> int:
        """Number of indexed notices (matching ``query`` when given)."""

    @abc.abstractmethod
    def ids(self, query: Query, limit: int | None = None) -> list[str]:
        """Ids of every match (up to ``limit``) in the query's order: for exports and checks."""

    @abc.abstractmethod
    def rebuild(self, docs: Iterator[dict[str, Any]]) -> int:
        """Build a fresh index from ``docs`` and make it current at once; return the number indexed."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release files and connections."""

    def __enter__(self) -> SearchBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- shared --------------------------------------------------------------------------------
    def bulk_upsert(self, notices: Sequence[Notice], labels: Mapping[str, Labels] | None = None) -> int:
        """Index notices with their labels (from ``store.get_labels_many``); unlabelled ones have none."""
        labels = labels or {}
        return self.upsert_documents([build_document(n, labels.get(n.id)) for n in notices])

    def reindex_from(self, store: Store, *, progress: Progress | None = None, batch_size: int = 1000) -> int:
        """Rebuild the whole index from the store (the system of record); readers switch over at the end."""
        return self.rebuild(store_documents(store, progress=progress, batch_size=batch_size))


def store_documents(
    store: Store, *, progress: Progress | None = None, batch_size: int = 1000
) -> Iterator[dict[str, Any]]:
    """Index documents of every stored notice with its labels, read in batches."""
    batch: list[Notice] = []

    def emit() -> Iterator[dict[str, Any]]:
        labels = store.get_labels_many([n.id for n in batch])
        for n in batch:
            yield build_document(n, labels.get(n.id))
        if progress:
            progress(len(batch))

    for notice in store.iter_notices(batch=batch_size):
        batch.append(notice)
        if len(batch) >= batch_size:
            yield from emit()
            batch = []
    if batch:
        yield from emit()


def finish_facets(raw: Mapping[str, Mapping[str, int]]) -> dict[str, list[Bucket]]:
    """Facet buckets in the shared order: count descending then key (month: chronological), truncated."""
    out: dict[str, list[Bucket]] = {}
    for name, size in FACET_SIZES.items():
        counts = raw.get(name, {})
        if name == "month":
            keys = sorted(counts, key=lambda k: (-counts[k], k))[:size]
            out[name] = [Bucket(k, counts[k]) for k in sorted(keys)]
        else:
            out[name] = [
                Bucket(k, c) for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
            ]
    return out


def make_hit(
    doc_id: str, score: float | None, source: Mapping[str, Any], query: Query, plan: Plan | None
) -> Hit:
    """A hit from a stored document: snippets marking the query's positive leaves, and the hit fields."""
    snippets = highlight.snippets(source, plan) if query.highlight else {}
    return Hit(doc_id, score, snippets, {k: source.get(k) for k in HIT_FIELDS})


def open_backend(settings: Settings, backend: BackendName | None = None) -> SearchBackend:
    """The configured backend (``index.backend``), or the one named."""
    name = backend or settings.index.backend
    if name == "embedded":
        from index.embedded import EmbeddedBackend

        return EmbeddedBackend(settings.index_dir)
    if name == "elasticsearch":
        from index.elastic import ElasticsearchBackend

        return ElasticsearchBackend.from_settings(settings)
    raise ConfigError(f"index.backend: unknown backend {name!r}. Fix: use embedded or elasticsearch.")
