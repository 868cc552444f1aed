"""Search over notices: one query language, an embedded tantivy backend (default) and Elasticsearch.

The SQLite store is the system of record; an index is derived from it and ``tbtwatch reindex`` rebuilds
it. :func:`open_backend` gives the configured :class:`SearchBackend`; :class:`Query` describes a search
and :class:`Results` answers it.

Exceptions::

    tbtwatch.errors.TbtwatchError
    └── SearchError                  base of this package
        ├── QuerySyntaxError         query text or options cannot be understood (also a ValueError)
        ├── IndexUnavailableError    the backend cannot be reached or opened (cluster down, bad index)
        ├── IndexLockedError         another process holds the embedded index's writer too long
        └── IndexWriteError          documents could not be written
"""

from __future__ import annotations

from index.backend import Bucket, Hit, Results, SearchBackend, open_backend
from index.errors import (
    IndexLockedError,
    IndexUnavailableError,
    IndexWriteError,
    QuerySyntaxError,
    SearchError,
)
from index.query import Query, parse_text

__all__ = [
    "Bucket",
    "Hit",
    "IndexLockedError",
    "IndexUnavailableError",
    "IndexWriteError",
    "Query",
    "QuerySyntaxError",
    "Results",
    "SearchBackend",
    "SearchError",
    "open_backend",
    "parse_text",
]
