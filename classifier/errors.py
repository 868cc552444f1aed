"""Exceptions of the classifier package (the hierarchy is drawn in :mod:`classifier`)."""

from __future__ import annotations

from tbtwatch.errors import ConfigError, TbtwatchError


class ClassifierError(TbtwatchError):
    """Base of every error the classifier raises on purpose."""


class TaxonomyError(ClassifierError, ConfigError):
    """``clusters.yaml`` or ``risk.yaml`` is invalid; the message names the file, cluster id and fix."""


class ModelError(ClassifierError):
    """A model artifact cannot be trained, written or read."""


class GoldFileError(ClassifierError):
    """An evaluation file has the wrong format or unknown cluster ids."""
