"""The classifier's ingest stage: classify every new or changed notice and save its labels."""

from __future__ import annotations

import logging
import threading

from classifier.classify import Classifier
from classifier.model import METADATA
from tbtwatch.models import Notice
from tbtwatch.settings import Settings
from tbtwatch.store import Store

log = logging.getLogger(__name__)


class ClassifierStage:
    """Ingest stage ``classifier``: labels and risk for each notice, written with ``store.save_labels``.

    The classifier is built on first use and rebuilt when ``clusters.yaml``, ``risk.yaml`` or the model
    metadata change, so an edited taxonomy or a retrained model takes effect on the next batch.
    """

    name = "classifier"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._classifier: Classifier | None = None
        self._stamp: tuple[float, ...] | None = None
        self._lock = threading.Lock()

    def _current_stamp(self) -> tuple[float, ...]:
        paths = (
            self.settings.config_dir / "clusters.yaml",
            self.settings.config_dir / "risk.yaml",
            self.settings.models_dir / METADATA,
        )
        return tuple(p.stat().st_mtime if p.exists() else 0.0 for p in paths)

    @property
    def classifier(self) -> Classifier:
        """The current classifier (rebuilt when its configuration or model changed on disk)."""
        with self._lock:
            stamp = self._current_stamp()
            if self._classifier is None or stamp != self._stamp:
                self._classifier = Classifier.from_settings(self.settings)
                self._stamp = stamp
                log.info("classifier ready (%s)", self._classifier.version)
            return self._classifier

    def process(self, notices: list[Notice], store: Store) -> None:
        """Classify the batch and store its labels in one transaction."""
        if not notices:
            return
        store.save_labels(self.classifier.classify(notices))


def make_stage(settings: Settings) -> ClassifierStage:
    """Factory named in :data:`tbtwatch.ingest.STAGE_FACTORIES`."""
    return ClassifierStage(settings)
