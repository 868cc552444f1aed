"""ePing bulk workbook ``Notification_EN.xlsx``: every notification since 1995, without an API key."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from scrapy.http import Response

from crawlers.base import BaseSpider
from crawlers.items import EpingRecord
from tbtwatch.eping_workbook import open_workbook
from tbtwatch.errors import ImportFileError


class Options(BaseModel):
    """Options of the eping_workbook spider."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("/NotificationExcelFiles/Notification_EN.xlsx", description="workbook path on base_url")
    max_bytes: int = Field(200 * 1024 * 1024, gt=0, description="largest workbook accepted")
    timeout_seconds: int = Field(900, gt=0, description="download timeout of the workbook")


class EpingWorkbookSpider(BaseSpider):
    """
    Source
      The keyless daily bulk workbook of ePing,
      ``https://eping.wto.org/NotificationExcelFiles/Notification_EN.xlsx`` (about 45 MB), parsed with the
      same reader as ``tbtwatch import-eping`` (:mod:`tbtwatch.eping_workbook`): columns found by header text.
    Arguments
      base_url
        Scheme and host of ePing (default ``https://eping.wto.org``).
      since
        Skip rows distributed before this date (YYYY-MM-DD); rows with unreadable dates are kept (and
        quarantined).
      path
        Path of the workbook on ``base_url``.
      max_bytes
        Largest workbook accepted (default 200 MB); this request alone lifts the crawl-wide response limit.
      timeout_seconds
        Download timeout of the workbook (default 900 s).
    Caveats
      The whole file is downloaded on every run (no incremental form exists), so it is scheduled weekly, for
      backfill, and is what ``eping_api`` falls back to when no API key is configured. The response is held in
      memory and written to a temporary file for openpyxl. A body that is not a workbook (an HTML error page
      served with status 200) is quarantined as a page problem.
    """

    name = "eping_workbook"
    default_base_url = "https://eping.wto.org"
    Options = Options

    def initial_requests(self) -> Iterable[Any]:
        """The workbook."""
        yield self.request(
            self.url(self.options.path),
            self.parse_workbook,
            meta={
                "download_maxsize": self.options.max_bytes,
                "download_warnsize": self.options.max_bytes,
                "download_timeout": self.options.timeout_seconds,
            },
        )

    def parse_workbook(self, response: Response) -> Iterator[Any]:
        """One record per row."""
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as tmp:
            tmp.write(response.body)
            tmp.flush()
            try:
                book = open_workbook(tmp.name)
            except ImportFileError as exc:
                yield self.problem(
                    response, f"not a usable ePing workbook: {exc}".replace(tmp.name, "<download>")
                )
                return
            with book:
                skipped = 0
                for record in book.records():
                    if not self.is_recent(record.get("distributed_on")):
                        skipped += 1
                        continue
                    yield EpingRecord(record=record, url=response.url)
                self.logger.info("skipped %d rows distributed before %s", skipped, self.since)
