"""Exceptions of the crawlers package (the tree is drawn in :mod:`crawlers`)."""

from __future__ import annotations

from tbtwatch.errors import ConfigError, TbtwatchError


class CrawlerError(TbtwatchError):
    """Base of every error the crawlers package raises on purpose."""


class ParseError(CrawlerError, ValueError):
    """A page or payload cannot be parsed; raised by :mod:`crawlers.parsers`, never anything else."""


class SpiderArgumentError(CrawlerError, ValueError):
    """A spider argument (``-a name=value``) or a source option is invalid; the message names the fix."""


class SourcesError(CrawlerError, ConfigError):
    """``config/sources.yaml`` is invalid; the message names the file, the key and the fix."""


class CrawlRunError(CrawlerError):
    """A crawl subprocess could not start, crashed or ran past its timeout."""
