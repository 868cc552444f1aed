"""Item pipelines, one job each, in this order:

1. :class:`ValidatePipeline` refuses items with missing or malformed fields (``InvalidItem``, quarantined).
2. :class:`NormalisePipeline` turns items into notices (or rejects) and translations.
3. :class:`JsonLinesPipeline` writes the normalised notices to ``TBTWATCH_OUTPUT`` (``--output``), if set.
4. :class:`IngestPipeline` opens the store, records the source run and hands everything to
   :class:`tbtwatch.ingest.Ingestor`; dropped items are quarantined with their reason.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError
from scrapy import Spider, signals
from scrapy.exceptions import DropItem

from crawlers.items import (
    EpingRecord,
    FetchFailure,
    NewsItem,
    Normalised,
    PageProblem,
    Translation,
    TranslationRecord,
    as_raw,
)
from crawlers.middlewares import offsite_filtered
from crawlers.orphan import crawl_abandoned, crawl_orphaned
from crawlers.parsers.common import canonical_url, is_http_url
from tbtwatch import members, normalise, symbols
from tbtwatch.eping import build_notices
from tbtwatch.errors import SymbolError, ValidationError
from tbtwatch.ingest import Ingestor, Rejected, default_stages
from tbtwatch.models import Kind, Notice, news_id
from tbtwatch.settings import load_settings
from tbtwatch.store import Store

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response

log = logging.getLogger(__name__)
MAX_BODY = 200_000
#: Status of a run stopped before its end without failing (as crawlers.runner records a shutdown).
STOPPED = "stopped"
ORPHAN_NOTE = "stopped: the service that started this crawl is gone"


class InvalidItem(DropItem):
    """An item that failed validation; the ingest pipeline quarantines it with this message as the reason."""


def _source(crawler: Crawler) -> str:
    spider = crawler.spider
    return str(getattr(spider, "source_name", None) or getattr(spider, "name", "unknown"))


# -- 1. validate ------------------------------------------------------------------------------------
class ValidatePipeline:
    """Refuse items with missing or malformed fields, naming every problem."""

    def process_item(self, item: Any) -> Any:
        """Return the item, or raise InvalidItem with the reasons."""
        problems: list[str] = []
        if isinstance(item, NewsItem):
            problems = validate_news(item)
        elif isinstance(item, EpingRecord):
            problems = validate_eping(item)
        elif isinstance(item, Translation):
            problems = validate_translation(item)
        if problems:
            raise InvalidItem("; ".join(problems))
        return item


def validate_news(item: NewsItem) -> list[str]:
    """Problems of a news item: URL, title, publication date, language."""
    problems = []
    if not is_http_url(item.url):
        problems.append(f"url {item.url[:100]!r} is not an absolute http(s) URL")
    if not normalise.clean_text(item.title):
        problems.append("title is empty")
    if not item.published:
        problems.append("no publication date")
    else:
        try:
            if normalise.parse_date(item.published, "publication date") is None:
                problems.append(f"publication date {item.published[:40]!r} is not a date")
        except ValidationError as exc:
            problems.append(str(exc))
    if item.language is not None and not (len(item.language) == 2 and item.language.isalpha()):
        problems.append(f"language {item.language!r} is not a two-letter code")
    return problems


def validate_eping(item: EpingRecord) -> list[str]:
    """Problems of an ePing record that build_notices would not explain as well."""
    record = item.record
    if not isinstance(record, dict) or not record:
        return ["the ePing record is empty"]
    if not normalise.clean_text(record.get("title")) and not normalise.clean_text(record.get("symbol")):
        return ["the ePing record has neither a title nor a document symbol"]
    return []


def validate_translation(item: Translation) -> list[str]:
    """Problems of a translation row: a parseable symbol and some Chinese text."""
    problems = []
    try:
        symbols.split_symbols(item.symbol)
    except SymbolError as exc:
        problems.append(f"symbol: {exc}")
    if not (item.title or "").strip() and not (item.products or "").strip():
        problems.append("neither a title nor products")
    if not (len(item.lang) == 2 and item.lang.isalpha()):
        problems.append(f"language {item.lang!r} is not a two-letter code")
    return problems


# -- 2. normalise -----------------------------------------------------------------------------------
class NormalisePipeline:
    """Turn raw items into notices or rejects (and translations) for the ingest path."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        """Build for a crawler."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """A :class:`Normalised` for data items; problems and failures pass through."""
        source = _source(self.crawler)
        now = datetime.now(UTC)
        if isinstance(item, EpingRecord):
            return Normalised(items=build_notices(item.record, source=source, fetched_at=now))
        if isinstance(item, NewsItem):
            return Normalised(items=[news_notice(item, source, now)])
        if isinstance(item, Translation):
            return Normalised(translations=translation_records(item, source))
        return item


def news_notice(item: NewsItem, source: str, fetched_at: datetime) -> Notice | Rejected:
    """The news notice of an item: id from the canonical URL, base_id the same, optional member."""
    url = canonical_url(item.url)
    nid = news_id(url)
    title = normalise.clean_text(item.title)
    body = normalise.clean_text(item.body)[:MAX_BODY]
    member = members.resolve(item.member) if item.member else None
    try:
        return Notice(
            id=nid,
            base_id=nid,
            kind=Kind.NEWS,
            member=member,
            title=title[:4000],
            description=body,
            language=item.language or normalise.guess_language(f"{title} {body}"),
            distributed_on=normalise.parse_date(item.published, "publication date"),
            url=url,
            documents=[d for d in item.documents if is_http_url(d)],
            keywords=list(dict.fromkeys(t for t in (normalise.clean_text(t) for t in item.tags) if t)),
            regions_affected=item.region,
            source=source,
            fetched_at=fetched_at,
        )
    except ValidationError as exc:
        return Rejected(str(exc), as_raw(item))
    except PydanticValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'notice'}: {e['msg']}" for e in exc.errors())
        return Rejected(f"invalid news item: {reasons}", as_raw(item))


def translation_records(item: Translation, source: str) -> list[TranslationRecord]:
    """One record per symbol of the row (a joint notification gets the title on each of its symbols)."""
    return [
        TranslationRecord(
            notice_id=str(sym),
            lang=item.lang,
            title=normalise.clean_text(item.title) or None,
            products=normalise.clean_text(item.products) or None,
            source=source,
            url=item.url,
        )
        for sym in symbols.split_symbols(item.symbol)
    ]


# -- 3. JSON lines ----------------------------------------------------------------------------------
class JsonLinesPipeline:
    """Write each normalised notice (and translation) as one JSON line to ``TBTWATCH_OUTPUT``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.file: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> JsonLinesPipeline:
        """Build for a crawler; an empty ``TBTWATCH_OUTPUT`` still builds it, switched off."""
        return cls(crawler.settings.get("TBTWATCH_OUTPUT") or "")

    def open_spider(self) -> None:
        """Open the output file."""
        if self.path:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close_spider

    def close_spider(self) -> None:
        """Close the output file."""
        if self.file is not None:
            self.file.close()
            self.file = None

    def process_item(self, item: Any) -> Any:
        """Write the item's notices and translations; pass it on unchanged."""
        if self.file is not None and isinstance(item, Normalised):
            for entry in item.items:
                if isinstance(entry, Notice):
                    self.file.write(entry.model_dump_json() + "\n")
            for tr in item.translations:
                line = {
                    "translation": {
                        "notice_id": tr.notice_id,
                        "lang": tr.lang,
                        "title": tr.title,
                        "products": tr.products,
                        "source": tr.source,
                        "url": tr.url,
                    }
                }
                self.file.write(json.dumps(line, ensure_ascii=False) + "\n")
        return item


# -- 4. ingest --------------------------------------------------------------------------------------
class IngestPipeline:
    """Open the store, record the source run, hand items to the Ingestor, quarantine what was dropped,
    count failures as errors, give the spider its saved state and keep the new one after a clean run.

    The run summary is written as JSON to ``TBTWATCH_SUMMARY_FILE`` when that setting is given (the runner
    reads it back).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.summary_file = crawler.settings.get("TBTWATCH_SUMMARY_FILE") or ""
        self.batch_size = crawler.settings.getint("TBTWATCH_INGEST_BATCH", 500)
        self.store: Store | None = None
        self.ingestor: Ingestor | None = None
        self.translations = {"new": 0, "changed": 0, "unchanged": 0}
        self.orphaned = False
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.spider_error, signal=signals.spider_error)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.offsite_filtered, signal=offsite_filtered)
        crawler.signals.connect(self.orphan, signal=crawl_orphaned)
        crawler.signals.connect(self.abandoned, signal=crawl_abandoned)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IngestPipeline:
        """Build for a crawler."""
        return cls(crawler)

    def open_spider(self) -> None:
        """Open the store, start the run and hand the spider its saved state."""
        settings = load_settings()
        source = _source(self.crawler)
        self.store = Store.open(settings.store_path)
        self.ingestor = Ingestor(
            self.store, source=source, stages=default_stages(settings), batch_size=self.batch_size
        )
        spider = self.crawler.spider
        if spider is not None and hasattr(spider, "crawl_state"):
            spider.crawl_state = self.store.get_state(source)
        log.info("run %s of source %s started (store %s)", self.ingestor.run_id, source, self.store.path)

    def process_item(self, item: Any) -> Any:
        """Ingest notices, quarantine rejects and page problems, record failures and translations."""
        ing = self.ingestor
        if ing is None or self.store is None:
            raise DropItem("the ingest pipeline is not open")
        if isinstance(item, Normalised):
            for entry in item.items:
                ing.add(entry)
            for tr in item.translations:
                self._translate(tr)
        elif isinstance(item, PageProblem):
            ing.add(Rejected(item.reason, as_raw(item)))
            ing.error(f"{item.url}: {item.reason}")
        elif isinstance(item, FetchFailure):
            ing.error(f"{item.url}: {item.reason}")
        else:
            ing.add(Rejected(f"unexpected item type {type(item).__name__}", as_raw(item)))
        return item

    def _translate(self, tr: TranslationRecord) -> None:
        assert self.store is not None and self.ingestor is not None
        before = self.store.get_translation(tr.notice_id, tr.lang)
        if before is None:
            status = "new"
        elif (before["title"], before["products"]) == (
            tr.title or before["title"],
            tr.products or before["products"],
        ):
            status = "unchanged"
        else:
            status = "changed"
        if status != "unchanged":
            self.store.set_translation(
                tr.notice_id, tr.lang, title=tr.title, products=tr.products, source=tr.source
            )
            # a notice stored before its Chinese title: classify and index it again with the title
            self.ingestor.refresh(tr.notice_id)
        self.translations[status] += 1
        # translations are counted with the run's items so that its record shows what the crawl did
        report = self.ingestor.report
        report.read += 1
        setattr(report, status, getattr(report, status) + 1)

    def item_dropped(
        self, item: Any, response: Response | None, exception: BaseException, spider: Spider
    ) -> None:
        """Quarantine an item a pipeline refused."""
        if self.ingestor is not None and isinstance(exception, DropItem):
            self.ingestor.add(Rejected(str(exception), as_raw(item)))

    def spider_error(self, failure: Any, response: Response, spider: Spider) -> None:
        """An exception in a spider callback: an error of the run (the crawl goes on)."""
        if self.ingestor is not None:
            self.ingestor.error(f"{response.url}: spider error {failure.type.__name__}: {failure.value}")

    def offsite_filtered(self, request: Any, origin: str | None, reason: str) -> None:
        """A request to another domain (usually a redirect) was not followed: an error of the run."""
        if self.ingestor is not None:
            where = f"{origin} redirected to {request.url}" if origin else request.url
            self.ingestor.error(f"{where}: not followed: {reason}")

    def orphan(self) -> None:
        """The service that started this crawl is gone (crawlers.orphan): the run will end ``stopped``."""
        self.orphaned = True

    def abandoned(self, grace: float) -> None:
        """The orphaned crawl is about to be stopped without closing the spider: record the run now."""
        self._finish("shutdown", detail=f"requests still in flight {grace:.0f} s later were abandoned")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Finish the run: flush, record counts and status, keep the new state after a clean run."""
        self._finish(reason, spider)

    def _finish(self, reason: str, spider: Spider | None = None, detail: str = "") -> None:
        ing, store = self.ingestor, self.store
        if ing is None or store is None:
            return
        self.ingestor = self.store = None  # closed once, whether by spider_closed or abandoned
        try:
            if reason == "finished":
                report = ing.close()
            elif self.orphaned:
                # neither a success nor a failure of the source, like a crawl stopped at a service shutdown
                note = f"{ORPHAN_NOTE} (crawl ended early: {reason}{'; ' + detail if detail else ''})"
                report = ing.close(status=STOPPED, message="; ".join([note, *ing.report.messages[:4]]))
            else:
                ing.error(f"crawl ended early: {reason}")
                report = ing.close(status="failed")
            if (
                reason == "finished"
                and report.errors == 0
                and spider is not None
                and hasattr(spider, "state_after_success")
            ):
                state = spider.state_after_success()
                if state is not None:
                    store.set_state(ing.source, state)
            self._write_summary(ing, reason)
        finally:
            store.close()

    def _write_summary(self, ingestor: Ingestor, reason: str) -> None:
        r = ingestor.report
        if reason == "finished":
            status = "ok" if r.errors == 0 else "errors"
        else:
            status = STOPPED if self.orphaned else "failed"
        data = {
            "source": r.source,
            "items": r.read,
            "new": r.new,
            "changed": r.changed,
            "unchanged": r.unchanged,
            "quarantined": r.quarantined,
            "errors": r.errors,
            "status": status,
            "reason": reason,
            "run_id": ingestor.run_id,
            "messages": r.messages[:50],
            "translations": dict(self.translations),
        }
        log.info("run summary: %s", {k: v for k, v in data.items() if k != "messages"})
        if self.summary_file:
            Path(self.summary_file).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
