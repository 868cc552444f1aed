"""Exceptions of the index package (the hierarchy is drawn in :mod:`index`)."""

from __future__ import annotations

from tbtwatch.errors import TbtwatchError


class SearchError(TbtwatchError):
    """Base of every error the index package raises on purpose."""


class QuerySyntaxError(SearchError, ValueError):
    """Query text or query options that cannot be understood; the message says where and how to fix it."""


class IndexUnavailableError(SearchError):
    """The backend cannot be reached or opened (cluster unreachable, credentials refused, bad index)."""


class IndexLockedError(SearchError):
    """Another process holds the embedded index's writer for longer than we are willing to wait."""


class IndexWriteError(SearchError):
    """Documents could not be written to the index (the message names how many and the first reasons)."""
