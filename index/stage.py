"""The ingest stage that keeps the search index in step with the store.

Registered in :data:`tbtwatch.ingest.STAGE_FACTORIES` after the classifier, so the labels it reads for
a batch (``store.get_labels_many``) are the ones just saved. A failure (index locked, cluster down)
raises; the ingest path then keeps the batch in its backlog and retries it on the next run.
"""

from __future__ import annotations

import logging

from index.backend import SearchBackend, open_backend
from tbtwatch.models import Notice
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)


class IndexStage:
    """Upserts new and changed notices, with their labels, into the configured search backend."""

    name = "index"

    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    def process(self, notices: list[Notice], store: Store) -> None:
        """Index a batch; notices are re-read from the store so Chinese translations come along."""
        ids = [n.id for n in notices]
        current = store.get_many(ids) or notices
        labels = store.get_labels_many(ids)
        written = self.backend.bulk_upsert(current, labels)
        log.info(
            "indexed %d notices (%d labelled) into the %s index", written, len(labels), self.backend.name
        )


def make_stage(settings: Settings) -> IndexStage:
    """The index stage for the configured backend (``index.backend``)."""
    return IndexStage(open_backend(settings))
