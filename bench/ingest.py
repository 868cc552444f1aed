"""Benchmark: notices per second through the ingest path (workbook read -> parse -> store -> stages).

Builds a synthetic workbook of N rows (default 50,000) from the real rows of the shared ePing export, each
with a unique symbol, then imports it twice into a fresh home: the first run measures new notices, the
second the idempotent re-import (all unchanged). Prints JSON.

    python bench/ingest.py [--rows 50000] [--stages]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tbtwatch.eping_workbook import open_workbook  # noqa: E402
from tbtwatch.ingest import Ingestor, default_stages  # noqa: E402
from tbtwatch.settings import load_settings  # noqa: E402
from tbtwatch.store import Store  # noqa: E402

REAL = REPO / "tests" / "fixtures" / "eping" / "eping_export_2025-06.xlsx"
SYMBOL = re.compile(r"G/(TBT|SPS)/N/([A-Z]+)/\d+")


def build_workbook(path: Path, rows: int) -> None:
    """Write ``rows`` rows cycling over the real ones, renumbering symbols so that every row is unique."""
    src = openpyxl.load_workbook(REAL, read_only=True)
    data = list(src.worksheets[0].iter_rows(values_only=True))
    header, real = data[0], data[1:]
    col = header.index("Document symbol")
    # A normal (not write-only) workbook, so the sheet carries its <dimension> like real ePing files do;
    # without it openpyxl's read-only mode scans the whole sheet once more to size it.
    out = openpyxl.Workbook()
    ws = out.active
    assert ws is not None
    ws.title = "Notifications"
    ws.append(list(header))
    for i in range(rows):
        r = list(real[i % len(real)])
        sym = SYMBOL.search(str(r[col]))
        assert sym, r[col]
        r[col] = f"{sym.group(0).rsplit('/', 1)[0]}/{100000 + i}"
        ws.append(r)
    out.save(path)


def run(path: Path, home: Path, with_stages: bool) -> dict[str, float]:
    settings = load_settings(home, environ={})
    store = Store.open(settings.store_path)
    stages = default_stages(settings) if with_stages else []
    started = time.perf_counter()
    with open_workbook(path) as wb, Ingestor(store, source="bench", stages=stages, keep_ids=False) as ing:
        for item in wb.items(source="bench"):
            ing.add(item)
    elapsed = time.perf_counter() - started
    store.close()
    r = ing.report
    return {"seconds": round(elapsed, 2), "notices_per_s": round(r.read / elapsed), **r.as_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--stages", action="store_true", help="also run the configured stages (classify, index, match)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wb = Path(tmp) / "synthetic.xlsx"
        t = time.perf_counter()
        build_workbook(wb, args.rows)
        build_s = time.perf_counter() - t
        home = Path(tmp) / "home"
        first = run(wb, home, args.stages)
        second = run(wb, home, args.stages)
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "rows": args.rows,
                "stages": args.stages,
                "workbook_build_s": round(build_s, 2),
                "first_import": first,
                "reimport": second,
                "target_notices_per_s": 2000,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
