"""Map notices and news items to Zhejiang export clusters, explain why, and grade the risk.

Modules: :mod:`~classifier.taxonomy` (``config/clusters.yaml`` and ``config/risk.yaml``, validated),
:mod:`~classifier.rules` (HS prefixes, ICS codes, English and Chinese keywords, negatives),
:mod:`~classifier.model` (scikit-learn one-vs-rest text model and its artifact),
:mod:`~classifier.weak` (weak supervision: training examples from HS codes and the taxonomy),
:mod:`~classifier.risk` (risk grade and its reasons), :mod:`~classifier.classify` (rules + model ->
:class:`tbtwatch.models.Labels`), :mod:`~classifier.evaluate` (gold files, P/R/F1, keyword baseline),
:mod:`~classifier.stage` (the ingest stage) and :mod:`~classifier.cli` (``tbtwatch classifier ...``).

Exceptions::

    TbtwatchError
    └── ClassifierError          base of everything raised on purpose here
        ├── TaxonomyError        clusters.yaml / risk.yaml invalid (also a ConfigError: exit code 2)
        ├── ModelError           a model artifact cannot be trained, written or read
        └── GoldFileError        an evaluation file is malformed or names unknown clusters

A model artifact whose taxonomy hash differs from the current ``clusters.yaml`` is not an error: it is
logged as a warning and classification falls back to the rules until ``tbtwatch classifier train``.
"""

from __future__ import annotations

from classifier.errors import ClassifierError, GoldFileError, ModelError, TaxonomyError
from classifier.taxonomy import ClusterName, cluster_name, cluster_names, load_taxonomy

__all__ = [
    "ClassifierError",
    "ClusterName",
    "GoldFileError",
    "ModelError",
    "TaxonomyError",
    "cluster_name",
    "cluster_names",
    "load_taxonomy",
]
