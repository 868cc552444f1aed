"""What every request handler needs: the settings, the search backend, a store connection, names.

One :class:`WebContext` per app (``app.state.ctx``). The search backend is opened once and shared
(tantivy searchers are safe to use from several threads); SQLite connections are per request, because a
connection belongs to the thread that opened it and FastAPI runs sync handlers in a thread pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from alerts.clusters import ClusterName, cluster_names
from index.backend import SearchBackend, open_backend
from tbtwatch.errors import ConfigError
from tbtwatch.settings import Settings
from tbtwatch.store import Store


class WebContext:
    """Shared, long-lived parts of the web app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.general.timezone)
        self._backend: SearchBackend | None = None

    @property
    def backend(self) -> SearchBackend:
        """The configured search backend, opened on first use."""
        if self._backend is None:
            self._backend = open_backend(self.settings)
        return self._backend

    @contextmanager
    def store(self) -> Iterator[Store]:
        """A store connection for one request (created and migrated on first use of a home)."""
        store = Store.open(self.settings.store_path)
        try:
            yield store
        finally:
            store.close()

    @cached_property
    def clusters(self) -> dict[str, ClusterName]:
        """Cluster id -> Chinese and English names (empty when the taxonomy cannot be read)."""
        try:
            return cluster_names(self.settings.config_dir)
        except ConfigError:
            return {}

    def cluster_name(self, cluster_id: str, lang: str) -> str:
        """Display name of a cluster in ``lang`` (the id when unknown)."""
        found = self.clusters.get(cluster_id)
        return found.name(lang) if found else cluster_id

    def today(self) -> date:
        """Today in the service's time zone (comment deadlines are days there)."""
        return datetime.now(self.zone).date()

    def close(self) -> None:
        """Release the search backend."""
        if self._backend is not None:
            self._backend.close()
            self._backend = None


async def get_ctx(request: Request) -> WebContext:
    """The app's context (a FastAPI dependency; async so that it costs no trip to the thread pool)."""
    ctx: WebContext = request.app.state.ctx
    return ctx


#: Handler parameter type that injects the context.
Ctx = Annotated[WebContext, Depends(get_ctx)]
