"""Cluster names for digests and cluster ids for validating subscriptions.

One small function reads ``clusters.yaml`` (``clusters[].id / name_zh / name_en``); it stands in for the
classifier's taxonomy loader and can be swapped for it without touching the callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from tbtwatch.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ClusterName:
    """A cluster's id with its Chinese and English names."""

    id: str
    name_zh: str
    name_en: str

    def name(self, language: str) -> str:
        """The name in ``language`` (``zh`` or ``en``)."""
        return self.name_zh if language == "zh" else self.name_en


def cluster_names(config_dir: Path) -> dict[str, ClusterName]:
    """Clusters of ``config_dir/clusters.yaml`` keyed by id, in file order."""
    path = (config_dir / "clusters.yaml").resolve()
    return _load(path, path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=8)
def _load(path: Path, _mtime: int) -> dict[str, ClusterName]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path}: cannot read the cluster list ({exc}). Fix: restore config/clusters.yaml."
        ) from exc
    rows = data.get("clusters") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: no 'clusters' list. Fix: restore config/clusters.yaml.")
    out: dict[str, ClusterName] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise ConfigError(f"{path}: clusters[{i}] has no id. Fix: give every cluster an id.")
        cid = row["id"]
        out[cid] = ClusterName(cid, str(row.get("name_zh") or cid), str(row.get("name_en") or cid))
    return out
