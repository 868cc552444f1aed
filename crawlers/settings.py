"""Scrapy settings of the tbtwatch crawlers.

Limits and politeness come from the ``[crawl]`` section of tbtwatch's settings (``tbtwatch.toml`` or
``TBTWATCH_CRAWL__*`` variables), so that operators change them in one place. Every setting below that
differs from Scrapy's default says why. Tests and benchmarks lower the delays with ``-s`` overrides on the
command line; the defaults here are the production ones.
"""

from __future__ import annotations

from tbtwatch import __version__
from tbtwatch.settings import load_settings

_tbtwatch = load_settings()
_crawl = _tbtwatch.crawl

# The project's name in logs and stats.
BOT_NAME = "tbtwatch"
# One module per source lives here.
SPIDER_MODULES = ["crawlers.spiders"]
# Where `scrapy genspider` puts a new source.
NEWSPIDER_MODULE = "crawlers.spiders"

# Say who we are and how to reach us; never pretend to be a browser.
USER_AGENT = f"tbtwatch/{__version__} (+{_crawl.contact_url})"
# Respect each site's crawling rules.
ROBOTSTXT_OBEY = True

# One request at a time per site: these are small public-sector servers, and our volume is tiny.
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# A crawl touches one or a few hosts; more parallelism would only queue.
CONCURRENT_REQUESTS = 4
# Floor between two requests to any site (government sites get GOVERNMENT_MIN_DELAY below).
DOWNLOAD_DELAY = 1.0
# Adapt the delay to the server's latency, above the floors.
AUTOTHROTTLE_ENABLED = True
# A new site starts slowly until its latency is known.
AUTOTHROTTLE_START_DELAY = max(5.0, _crawl.min_delay_seconds)
# Our AutoThrottle adds the government floor; Scrapy's is switched off in EXTENSIONS.
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawlers.extensions.PoliteAutoThrottle": 0,
    # A crawl whose service died stops itself (crawlers/orphan.py).
    "crawlers.orphan.OrphanWatch": 0,
    # No remote console on a service host.
    "scrapy.extensions.telnet.TelnetConsole": None,
}
# Nor Scrapy's code-execution HTTP server (it also writes job files to the user's profile).
REMOTE_CONTROL_ENABLED = False
# Sites that get the longer floor (suffix match on the host).
GOVERNMENT_DOMAINS = [
    "gov.cn",
    "wto.org",
    "sacinfo.org.cn",
    "bricspic.org",
    "europa.eu",
    "asean.org",
    "gso.org.sa",
]
# The longer floor, from tbtwatch settings (crawl.min_delay_seconds, 2 s by default).
GOVERNMENT_MIN_DELAY = _crawl.min_delay_seconds

# Retries with exponential backoff on 5xx, 408, 429, timeouts and lost connections.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    # the same offsite filter, which also reports a redirect to another domain as an error of the run
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawlers.middlewares.ReportingOffsiteMiddleware": 50,
}
# One more attempt than Scrapy's 2: public sites have short outages, and the backoff spreads the attempts.
RETRY_TIMES = 3
# First backoff in seconds, doubled on each further attempt.
RETRY_BACKOFF_BASE = 2.0
# Longest backoff in seconds.
RETRY_BACKOFF_MAX = 60.0

# Give up on a request after this long (tbtwatch setting crawl.download_timeout_seconds).
DOWNLOAD_TIMEOUT = _crawl.download_timeout_seconds
# Drop responses larger than this (crawl.max_response_bytes); the ePing workbook lifts it for itself.
DOWNLOAD_MAXSIZE = _crawl.max_response_bytes
# Warn at half the limit, to notice a page growing towards it.
DOWNLOAD_WARNSIZE = _crawl.max_response_bytes // 2
# No sessions are needed; cookies would only make requests look like tracked visits.
COOKIES_ENABLED = False

# Development only: replay pages from disk instead of asking the sites again (crawl.http_cache).
HTTPCACHE_ENABLED = _crawl.http_cache
# Keep the cache in the tbtwatch home, not in the project folder.
HTTPCACHE_DIR = str(_tbtwatch.home / "httpcache")
# A day is fresh enough for development.
HTTPCACHE_EXPIRATION_SECS = 24 * 3600

# End a crawl cleanly a minute before the runner would kill it, so the run is recorded.
CLOSESPIDER_TIMEOUT = max(60, _crawl.run_timeout_seconds - 60)

# validate -> normalise -> (JSON lines) -> tbtwatch.ingest, one job each (see crawlers/pipelines.py).
ITEM_PIPELINES = {
    "crawlers.pipelines.ValidatePipeline": 100,
    "crawlers.pipelines.NormalisePipeline": 200,
    "crawlers.pipelines.JsonLinesPipeline": 300,
    "crawlers.pipelines.IngestPipeline": 400,
}
# Where the run summary (JSON) goes; set by the runner per crawl.
TBTWATCH_SUMMARY_FILE = ""
# Where the normalised items go as JSON lines (`tbtwatch crawl --output`); empty: nowhere.
TBTWATCH_OUTPUT = ""
# Notices written to the store per transaction.
TBTWATCH_INGEST_BATCH = 500

# Scrapy's DEBUG logs every request and item; INFO is what an operator reads.
LOG_LEVEL = "INFO"
# Chinese text as it is in any feed export.
FEED_EXPORT_ENCODING = "utf-8"
