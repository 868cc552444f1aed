"""Base spider: the arguments every spider takes, source options, saved state and error items.

Every spider takes ``-a base_url=URL`` (scheme and host of the site, default the live site; a local mirror
in tests and the demo), ``-a since=YYYY-MM-DD`` (skip older items), ``-a source=NAME`` (the entry of
``config/sources.yaml`` to read options from and record the run under; default the spider name) and one
``-a name=value`` per option of its ``Options`` model. Options come from ``sources.yaml`` first, then the
command line. Spiders only fetch and parse: they yield items, and failures become items too
(:class:`FetchFailure`, :class:`PageProblem`) so that the pipelines record them with the run.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.errors import SourcesError, SpiderArgumentError
from crawlers.items import FetchFailure, PageProblem
from crawlers.parsers.common import excerpt
from crawlers.sources import check_base_url, load_sources
from tbtwatch import normalise
from tbtwatch.errors import ValidationError


class NoOptions(BaseModel):
    """A spider without options."""

    model_config = ConfigDict(extra="forbid")


class BaseSpider(scrapy.Spider):
    """Common arguments (base_url, since, source), options, saved state and failure items."""

    name: str
    #: scheme and host of the live site
    default_base_url: ClassVar[str] = ""
    #: the spider's options (validated from sources.yaml and -a arguments; unknown names are refused)
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(
        self,
        source: str | None = None,
        base_url: str | None = None,
        since: str | None = None,
        sources_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.source_name = source or self.name
        self.since: date | None = parse_since(since)
        self.mirror = base_url is not None
        #: state saved by the last successful run of this source; the ingest pipeline fills it at start
        self.crawl_state: dict[str, Any] = {}
        entry = self._source_entry(sources_file)
        self.options: Any = self._options(entry.options if entry else {}, kwargs)
        url = base_url or (entry.base_url if entry and entry.base_url else "") or self.default_base_url
        if url:
            try:
                check_base_url(url)
            except ValueError as exc:
                raise SpiderArgumentError(f"base_url: {exc}") from exc
        self.base_url = url.rstrip("/")
        self.allowed_domains = self.domains()

    # -- configuration --------------------------------------------------------------------------
    def _source_entry(self, sources_file: str | None) -> Any:
        try:
            sources = load_sources(sources_file, check_options=False)
        except SourcesError:
            if self.source_name != self.name:
                raise
            return None  # plain `scrapy crawl NAME` without a usable sources.yaml: built-in defaults
        entry = sources.get(self.source_name)
        if entry is None and self.source_name != self.name:
            raise SpiderArgumentError(
                f"source {self.source_name!r} is not in sources.yaml. "
                f"Fix: use one of {', '.join(sorted(sources))}."
            )
        if entry is not None and entry.spider != self.name:
            raise SpiderArgumentError(
                f"source {self.source_name!r} is crawled by spider {entry.spider!r}, not {self.name!r}."
            )
        return entry

    def _options(self, configured: dict[str, Any], args: dict[str, Any]) -> BaseModel:
        fields = self.Options.model_fields
        unknown = sorted(set(args) - set(fields))
        if unknown:
            raise SpiderArgumentError(
                f"spider {self.name} has no argument {', '.join(map(repr, unknown))}. "
                "Fix: use base_url, since, "
                f"source{', ' if fields else ''}{', '.join(sorted(fields))}."
            )
        merged = dict(configured)
        for key, value in args.items():
            merged[key] = _from_text(value, fields[key].annotation)
        try:
            return self.Options.model_validate(merged)
        except PydanticValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise SpiderArgumentError(f"spider {self.name}: invalid options ({problems})") from exc

    def domains(self) -> list[str]:
        """Hosts this spider may request (``allowed_domains``); redirects elsewhere are not followed."""
        host = urlsplit(self.base_url).hostname if self.base_url else None
        return [host] if host else []

    def url(self, path: str) -> str:
        """``path`` on the base URL."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- requests ---------------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        """Scrapy's entry point: the spider's :meth:`initial_requests`."""
        for request in self.initial_requests():
            yield request

    def initial_requests(self) -> Iterable[Any]:
        """The first requests (and items) of a crawl."""
        raise NotImplementedError

    def request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        """A request whose failure becomes a :class:`FetchFailure` item."""
        kwargs.setdefault("errback", self.on_error)
        return scrapy.Request(url, callback=callback, **kwargs)

    def on_error(self, failure: Failure) -> Iterator[FetchFailure]:
        """Turn a failed request (after retries) into an item, so the run records it as an error."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        reason = describe_failure(failure)
        if reason in {"DownloadCancelledError", "CancelledError"} and self.crawler.crawling:
            # the only cancellation of a running crawl is the size limit (Scrapy logs it, the error is bare)
            limit = (
                request.meta.get("download_maxsize") if request is not None else None
            ) or self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            reason = f"{reason}: response larger than download max size ({limit} bytes)"
        self.logger.warning("fetch failed: %s: %s", url, reason)
        yield FetchFailure(url=url, reason=reason)

    def problem(self, response: Response, reason: str) -> PageProblem:
        """A page that cannot be parsed, for quarantine."""
        self.logger.warning("cannot parse %s: %s", response.url, reason)
        return PageProblem(url=response.url, reason=reason, excerpt=excerpt(response.body))

    def content_type(self, response: Response) -> bytes | None:
        """The response's Content-Type header."""
        value = response.headers.get(b"Content-Type")
        return bytes(value) if value else None

    def is_recent(self, date_text: Any) -> bool:
        """False only for an item dated before ``since`` (items with unreadable dates are kept and the
        validate pipeline quarantines them)."""
        if self.since is None or not date_text:
            return True
        try:
            parsed = normalise.parse_date(date_text)
        except ValidationError:
            return True
        return parsed is None or parsed >= self.since

    def state_after_success(self) -> dict[str, Any] | None:
        """State to save when the run ends without errors (None: leave it as it was)."""
        return None


def parse_since(value: str | date | None) -> date | None:
    """``since`` as a date; the argument must be YYYY-MM-DD."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise SpiderArgumentError(
            f"since={value!r} is not a date. Fix: give YYYY-MM-DD, e.g. since=2025-06-01."
        ) from exc


def describe_failure(failure: Failure) -> str:
    """A short reason for a failed request: ``HTTP 404``, ``timeout``, ``Filtered offsite request ...``."""
    exc = failure.value
    if isinstance(exc, HttpError) and exc.response is not None:
        return f"HTTP {exc.response.status}"
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name


def _from_text(value: Any, annotation: Any) -> Any:
    """Command-line option text for list and object options: JSON, or a comma-separated list."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    wants_list = "list" in str(annotation).lower()
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise SpiderArgumentError(f"option value {text[:60]!r} is not valid JSON: {exc}") from exc
    if wants_list:
        return [p.strip() for p in text.split(",") if p.strip()]
    return text
