"""Cluster names for display, read from ``clusters.yaml`` in the config folder.

A stop-gap until the classifier's taxonomy loader is the one place that reads the taxonomy: callers
use :func:`cluster_names` only, so the swap is a one-line change here.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import yaml

from tbtwatch.settings import Settings

log = logging.getLogger(__name__)


def cluster_names(settings: Settings) -> dict[str, str]:
    """Cluster id -> Chinese name (English name, or the id, when a name is missing)."""
    return dict(_load(settings.config_dir / "clusters.yaml"))


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[tuple[str, str], ...]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read cluster names from %s: %s", path, exc)
        return ()
    out = []
    for c in data.get("clusters") or [] if isinstance(data, dict) else []:
        if isinstance(c, dict) and c.get("id"):
            out.append((str(c["id"]), str(c.get("name_zh") or c.get("name_en") or c["id"])))
    return tuple(out)
