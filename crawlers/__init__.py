"""tbtwatch crawlers: a standard Scrapy project that fetches WTO notifications and standards news.

Spiders (``crawlers/spiders/``, one module per source) only fetch and parse; the item pipelines
(``crawlers/pipelines.py``) validate, normalise and hand items to :mod:`tbtwatch.ingest`. Sources and their
schedules are declared in ``config/sources.yaml`` (:mod:`crawlers.sources`); ``tbtwatch crawl SOURCE`` runs
one source in a Scrapy subprocess (:mod:`crawlers.runner`).

Exceptions (all in :mod:`crawlers.errors`)::

    tbtwatch.errors.TbtwatchError
    └── CrawlerError            base of every error this package raises on purpose
        ├── ParseError          a page or payload cannot be parsed (raised by crawlers.parsers; the page is
        │                       quarantined and the crawl goes on)
        ├── SpiderArgumentError a spider argument (-a name=value) or source option is invalid
        ├── SourcesError        config/sources.yaml is invalid (also a tbtwatch ConfigError: stops start-up)
        └── CrawlRunError       a crawl subprocess failed to start, crashed or timed out
"""

from crawlers.errors import CrawlerError, CrawlRunError, ParseError, SourcesError, SpiderArgumentError

__all__ = ["CrawlRunError", "CrawlerError", "ParseError", "SourcesError", "SpiderArgumentError"]
