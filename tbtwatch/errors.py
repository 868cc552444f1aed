"""Exceptions of the tbtwatch core.

    TbtwatchError
    ├── ConfigError          settings file or environment is invalid (raised at start-up)
    ├── SymbolError          a WTO document symbol cannot be parsed
    ├── ValidationError      an item cannot become a Notice (goes to quarantine)
    ├── StoreError           the SQLite store cannot be opened, migrated or written
    └── ImportFileError      a file given to an importer is not usable (wrong format, missing columns)

Other packages (crawlers, classifier, index, alerts) derive their own base from ``TbtwatchError``.
"""

from __future__ import annotations


class TbtwatchError(Exception):
    """Base of every error tbtwatch raises on purpose."""


class ConfigError(TbtwatchError):
    """Invalid configuration: the message names the file, the key and the fix."""


class SymbolError(TbtwatchError, ValueError):
    """A WTO document symbol that cannot be parsed."""


class ValidationError(TbtwatchError, ValueError):
    """An item that cannot become a Notice; the reason is quarantined with the raw item."""


class StoreError(TbtwatchError):
    """The store cannot be opened, migrated or written."""


class ImportFileError(TbtwatchError):
    """A file given to an importer cannot be used at all (nothing is changed in the store)."""
