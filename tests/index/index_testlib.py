"""Helpers of the index tests (a module of its own: several packages have a conftest.py, so importing
from ``conftest`` picks whichever was imported first)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any


def make_es_backend(url: str, alias: str | None = None) -> Any:
    """An Elasticsearch backend on ``url`` with a fresh alias (so tests never share indices)."""
    from elasticsearch import Elasticsearch

    from index.elastic import ElasticsearchBackend

    client = Elasticsearch(url, request_timeout=30, max_retries=2, retry_on_timeout=True)
    return ElasticsearchBackend(client, alias=alias or f"tbtwatch-test-{uuid.uuid4().hex[:8]}", url=url)


def drop_es_backend(backend: Any) -> None:
    """Remove a test alias's indices and template (real clusters are shared)."""
    from elasticsearch import ApiError

    for name in backend.alias_indices():
        with contextlib.suppress(ApiError):
            backend.client.indices.delete(index=name)
    with contextlib.suppress(ApiError):
        backend.client.indices.delete_index_template(name=f"{backend.alias}-notices")
    backend.close()
