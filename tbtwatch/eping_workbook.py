"""Read ePing Excel workbooks: the 17-column "Export search results" and the bulk ``Notification_EN.xlsx``.

Columns are found by their normalised header text (letters and digits only, lower case), never by
position, because the bulk layout has more columns and headers such as ``Proposed adoption  date``.
A file that is not a workbook, or lacks the required columns, raises :class:`ImportFileError` before
anything is read into the store.
"""

from __future__ import annotations

import multiprocessing
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from tbtwatch.eping import build_notices
from tbtwatch.errors import ImportFileError
from tbtwatch.ingest import Item

#: Normalised header -> canonical key of :mod:`tbtwatch.eping`.
HEADERS: dict[str, str] = {
    "notifyingmember": "member",
    "member": "member",
    "distributiondate": "distributed_on",
    "dateofdistribution": "distributed_on",
    "documentsymbol": "symbol",
    "symbol": "symbol",
    "notificationsymbol": "symbol",
    "title": "title",
    "description": "description",
    "descriptionofcontent": "description",
    "productscovered": "products",
    "products": "products",
    "hscodes": "hs",
    "hscode": "hs",
    "icscodes": "ics",
    "icscode": "ics",
    "objectives": "objectives",
    "objective": "objectives",
    "objectiveandrationale": "objectives",
    "keywords": "keywords",
    "specificregionsorcountrieslikelytobeaffected": "regions",
    "regionsorcountriesaffected": "regions",
    "finaldateforcomments": "comment_deadline",
    "finaldateforcomment": "comment_deadline",
    "commentdeadline": "comment_deadline",
    "notificationtype": "notification_type",
    "type": "notification_type",
    "notifieddocument": "documents",
    "notifieddocuments": "documents",
    "linktonotificationen": "url_en",
    "linktonotificationfr": "url_fr",
    "linktonotificationes": "url_es",
    "proposedadoptiondate": "adoption_on",
    "proposeddateofadoption": "adoption_on",
    "proposedentryintoforcedate": "entry_into_force_on",
    "proposeddateofentryintoforce": "entry_into_force_on",
    "area": "area",
    "domain": "area",
    "agreement": "area",
}
REQUIRED = ("member", "title", "distributed_on")
PARALLEL_MIN_ROWS = 5000
_CHUNK_ROWS = 500
_CHILD_TIMEOUT_S = 1.0
_HEADER_SCAN_ROWS = 10


def normalise_header(text: object) -> str:
    """Header text reduced to lower-case letters and digits (``Proposed adoption  date`` -> ``proposedadoptiondate``)."""
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


@dataclass
class Workbook:
    """An opened ePing workbook with its column map; iterate :meth:`items` to parse it."""

    path: Path
    sheet: Any
    columns: dict[int, str]
    header_row: int
    total_rows: int
    _book: Any

    def items(
        self, *, source: str, on_row: Callable[[int], None] | None = None, parallel: bool | None = None
    ) -> Iterator[Item]:
        """Parse every data row into notices or quarantine records.

        ``parallel`` reads the XML in a second process while this one validates and stores (about twice
        the throughput on two cores); by default it is used for workbooks of more than 5,000 rows.
        """
        fetched = datetime.now(UTC)
        for record in self.records(on_row=on_row, parallel=parallel):
            yield from build_notices(record, source=source, fetched_at=fetched)

    def records(
        self, *, on_row: Callable[[int], None] | None = None, parallel: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every non-empty data row as a canonical record of :mod:`tbtwatch.eping` (not yet validated)."""
        if parallel is None:
            parallel = self.total_rows > PARALLEL_MIN_ROWS
        rows = self._rows_in_child() if parallel else self._rows_inline()
        for number, row in rows:
            if on_row:
                on_row(number)
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                continue
            record = self._record(row)
            record["row"] = number
            yield record

    def _rows_inline(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        start = self.header_row + 1
        for number, row in enumerate(self.sheet.iter_rows(min_row=start, values_only=True), start=start):
            yield number, tuple(row or ())

    def _rows_in_child(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        ctx = multiprocessing.get_context("spawn")
        queue: Any = ctx.Queue(maxsize=8)
        child = ctx.Process(
            target=_read_rows, args=(str(self.path), self.sheet.title, self.header_row, queue), daemon=True
        )
        child.start()
        try:
            while True:
                try:
                    chunk = queue.get(timeout=_CHILD_TIMEOUT_S)
                except Empty:
                    if not child.is_alive():
                        raise ImportFileError(
                            f"{self.path}: the reader process died (exit {child.exitcode})"
                        ) from None
                    continue
                if chunk is None:
                    return
                if isinstance(chunk, str):
                    raise ImportFileError(f"{self.path}: {chunk}")
                yield from chunk
        finally:
            if child.is_alive():
                child.terminate()
            child.join(timeout=5)

    def _record(self, row: tuple[Any, ...]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        docs: list[str] = []
        for idx, key in self.columns.items():
            value = row[idx] if idx < len(row) else None
            if key == "documents" or key.startswith("url_"):
                if value:
                    docs.append(str(value))
                if key == "url_en" and value:
                    record["url_en"] = value
                continue
            record[key] = value
        record["documents"] = docs
        return record

    def close(self) -> None:
        """Release the file."""
        self._book.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_workbook(path: str | Path) -> Workbook:
    """Open an ePing workbook and map its columns; raise ImportFileError when it cannot be used."""
    p = Path(path)
    if not p.is_file():
        raise ImportFileError(f"{p}: no such file")
    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(f"{p}: not an Excel .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        for sheet in book.worksheets:
            found = _find_header(sheet)
            if found:
                header_row, columns = found
                total = int(sheet.max_row or 0)
                return Workbook(p, sheet, columns, header_row, total, book)
        seen = _first_row(book)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        book.close()
        raise ImportFileError(f"{p}: the workbook cannot be read ({type(exc).__name__}: {exc})") from exc
    book.close()
    raise ImportFileError(
        f"{p}: no sheet has the required ePing columns {', '.join(_pretty(k) for k in REQUIRED)}"
        f" (first row seen: {seen}). Fix: export the notifications from ePing (Excel) or use Notification_EN.xlsx."
    )


def _find_header(sheet: Any) -> tuple[int, dict[int, str]] | None:
    for number, row in enumerate(sheet.iter_rows(max_row=_HEADER_SCAN_ROWS, values_only=True), start=1):
        columns: dict[int, str] = {}
        for idx, cell in enumerate(row or ()):
            key = HEADERS.get(normalise_header(cell))
            if key and key not in columns.values():
                columns[idx] = key
        if all(k in columns.values() for k in REQUIRED):
            return number, columns
    return None


def _first_row(book: Any) -> str:
    for sheet in book.worksheets:
        for row in sheet.iter_rows(max_row=1, values_only=True):
            cells = [str(c) for c in row or () if c is not None][:8]
            return ", ".join(repr(c[:30]) for c in cells) or "empty"
    return "no sheets"


def _pretty(key: str) -> str:
    return {"member": "'Notifying Member'", "title": "'Title'", "distributed_on": "'Distribution date'"}[key]


def _read_rows(path: str, sheet_title: str, header_row: int, queue: Any) -> None:
    """Child process: read the sheet's data rows and send them in chunks; a string reports an error."""
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
        sheet = book[sheet_title]
        chunk: list[tuple[int, tuple[Any, ...]]] = []
        start = header_row + 1
        for number, row in enumerate(sheet.iter_rows(min_row=start, values_only=True), start=start):
            chunk.append((number, tuple(row or ())))
            if len(chunk) >= _CHUNK_ROWS:
                queue.put(chunk)
                chunk = []
        if chunk:
            queue.put(chunk)
        book.close()
    except Exception as exc:  # any failure is reported to the parent as text, which raises ImportFileError
        queue.put(f"cannot read rows ({type(exc).__name__}: {exc})")
        return
    queue.put(None)
