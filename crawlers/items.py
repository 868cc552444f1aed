"""What spiders yield. Items are raw: the pipelines validate and normalise them into :class:`Notice` objects.

=====================  =============================================  ==============================
item                   yielded by                                     becomes
=====================  =============================================  ==============================
:class:`EpingRecord`   eping_api, eping_workbook                      notices via tbtwatch.eping
:class:`NewsItem`      wto_news, yidaiyilu, bricspic, feeds           one ``kind="news"`` notice
:class:`Translation`   samr_daily                                     a Chinese title on a notice
:class:`PageProblem`   any spider, for a page it cannot parse         a quarantine record
:class:`FetchFailure`  any spider's errback (404, timeout, ...)       an error in the run record
:class:`Normalised`    the normalise pipeline (not spiders)           stored through tbtwatch.ingest
=====================  =============================================  ==============================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tbtwatch.ingest import Item


@dataclass
class EpingRecord:
    """One ePing notification (API item or workbook row) in the canonical keys of :mod:`tbtwatch.eping`."""

    record: dict[str, Any]
    url: str


@dataclass
class NewsItem:
    """One news article or feed entry as found on the page; ``published`` is the raw date text."""

    url: str
    title: str
    published: str | None
    body: str = ""
    language: str | None = None
    member: str | None = None
    region: str = ""
    tags: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)


@dataclass
class Translation:
    """A Chinese title and product words for the notification(s) ``symbol`` names (SAMR 每日通报)."""

    symbol: str
    title: str | None
    products: str | None
    url: str
    lang: str = "zh"
    published: str | None = None


@dataclass
class PageProblem:
    """A page that could not be parsed at all: quarantined with the reason and an excerpt."""

    url: str
    reason: str
    excerpt: str = ""


@dataclass
class FetchFailure:
    """A request that failed for good (after retries): counted as an error of the run."""

    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class TranslationRecord:
    """A validated translation for one notice id."""

    notice_id: str
    lang: str
    title: str | None
    products: str | None
    source: str
    url: str


@dataclass
class Normalised:
    """Output of the normalise pipeline: notices or rejects for the ingest path, and translations."""

    items: list[Item] = field(default_factory=list)
    translations: list[TranslationRecord] = field(default_factory=list)


RawItem = EpingRecord | NewsItem | Translation | PageProblem | FetchFailure


def as_raw(item: object) -> Any:
    """The item as JSON-ready data, for quarantine records."""
    if isinstance(item, (EpingRecord, NewsItem, Translation, PageProblem, FetchFailure)):
        return {"item": type(item).__name__, **asdict(item)}
    return item
