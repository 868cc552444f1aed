"""ePing workbook import: the real export, the bulk layout, bad rows and bad files, through the CLI too."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from core_workbooks import BULK_HEADERS, row, write
from testutil import FIXTURES, subprocess_env, tbtwatch_cmd

from tbtwatch.eping_workbook import open_workbook
from tbtwatch.errors import ImportFileError
from tbtwatch.ingest import Rejected, ingest
from tbtwatch.store import Store

REAL = FIXTURES / "eping" / "eping_export_2025-06.xlsx"


def _import(path: Path, store: Store) -> dict[str, int]:
    with open_workbook(path) as wb:
        return ingest(wb.items(source="test"), store, source="test").as_dict()


def test_real_export_imports_every_row_and_is_idempotent(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    first = _import(REAL, store)
    assert first["read"] == 229
    assert first["new"] + first["quarantined"] == 229
    assert first["quarantined"] == 0
    second = _import(REAL, store)
    assert second == {**first, "new": 0, "unchanged": first["new"]}
    assert store.count() == 229


def test_real_export_is_normalised(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    _import(REAL, store)
    watch = store.get("G/TBT/N/CHN/2072")
    assert watch is not None
    assert watch.kind == "tbt" and watch.member == "CHN" and watch.doc_type == "regular"
    assert watch.hs_codes == ["910212"] and watch.ics_codes == ["39.040.10"]
    assert "_x000D_" not in watch.description
    assert str(watch.comment_deadline) == "2025-08-09" and str(watch.distributed_on) == "2025-06-10"
    assert any(d.endswith("25_03787_00_x.pdf") for d in watch.documents)
    corr = store.get("G/TBT/N/BRA/366/Add.1/Corr.1")
    assert corr is not None and corr.base_id == "G/TBT/N/BRA/366" and corr.doc_type == "corrigendum"
    emergency = [n for n in store.iter_notices() if n.doc_type == "emergency"]
    assert emergency and all(n.kind == "sps" for n in emergency)
    # a joint EAC notification: one notice per member's symbol, the others kept as joint ids
    ken = store.get("G/TBT/N/KEN/1808")
    assert ken is not None and "G/TBT/N/UGA/2163" in ken.joint_ids and ken.member == "KEN"
    assert store.get("G/TBT/N/UGA/2163") is not None
    assert all("\xa0" not in n.title for n in store.iter_notices())


def test_bulk_layout_is_mapped_by_header_text(tmp_path: Path) -> None:
    rows = [
        row(
            **{
                "Area": "TBT",
                "Proposed adoption  date": "01/10/2025",
                "Proposed entry into force  date": "2026-01-01",
                "Comments": "ignored column",
            }
        )
    ]
    path = write(tmp_path / "Notification_EN.xlsx", rows, BULK_HEADERS, preamble=2)
    store = Store.open(tmp_path / "s.sqlite3")
    assert _import(path, store)["new"] == 1
    n = store.get("G/TBT/N/CHN/2072")
    assert n is not None
    assert str(n.adoption_on) == "2025-10-01" and str(n.entry_into_force_on) == "2026-01-01"
    assert n.hs_codes == ["910212", "9503"]


def test_bad_rows_are_quarantined_with_reasons_and_the_rest_imported(tmp_path: Path) -> None:
    sym = '=HYPERLINK("x"," G/TBT/N/CHN/{}")'
    rows = [
        row(),
        row(**{"Document symbol": sym.format(1), "Distribution date": "31/02/2025"}),
        row(**{"Document symbol": sym.format(2), "Notifying Member": "Atlantis"}),
        row(**{"Document symbol": sym.format(3), "Title": "   "}),
        row(**{"Document symbol": "G/TBT/N/CHN"}),
        row(**{"Document symbol": sym.format(4), "Final date for comments": "soon-ish"}),
        row(**{"Document symbol": sym.format(5), "Final date for comments": datetime(2020, 1, 1)}),
        row(**{"Document symbol": sym.format(6), "Distribution date": "1 June 2025"}),
    ]
    path = write(tmp_path / "bad.xlsx", rows)
    store = Store.open(tmp_path / "s.sqlite3")
    counts = _import(path, store)
    assert counts == {"read": 8, "new": 2, "changed": 0, "unchanged": 0, "quarantined": 6, "errors": 0}
    reasons = [q["reason"] for q in reversed(store.quarantined())]
    assert "cannot read '31/02/2025'" in reasons[0]
    assert "unknown notifying member 'Atlantis'" in reasons[1]
    assert "title is empty" in reasons[2]
    assert "not a WTO TBT/SPS document symbol" in reasons[3]
    assert "final date for comments" in reasons[4]
    assert "before distribution" in reasons[5]
    raw = store.quarantined()[0]["raw"]
    assert raw["row"] == 8 and raw["title"]  # the raw row is kept, with its sheet row number
    assert store.get("G/TBT/N/CHN/6") is not None


def test_row_without_symbol_gets_a_stable_synthetic_id(tmp_path: Path) -> None:
    rows = [row(**{"Document symbol": None, "Objectives": "Food safety (SPS)"})]
    path = write(tmp_path / "nosym.xlsx", rows)
    store = Store.open(tmp_path / "s.sqlite3")
    assert _import(path, store)["new"] == 1
    assert _import(path, store)["new"] == 0
    (n,) = list(store.iter_notices())
    assert n.synthetic_id and n.id.startswith("nosymbol:sps:") and n.kind == "sps"


def test_row_without_symbol_or_kind_is_quarantined(tmp_path: Path) -> None:
    rows = [row(**{"Document symbol": None, "Objectives": "Other", "Notified document": None})]
    path = write(tmp_path / "nokind.xlsx", rows)
    with open_workbook(path) as wb:
        (item,) = list(wb.items(source="t"))
    assert isinstance(item, Rejected) and "TBT or SPS" in item.reason


def test_a_file_that_is_not_a_workbook_fails_cleanly(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.xlsx"
    bogus.write_text("this is not a zip file", encoding="utf-8")
    with pytest.raises(ImportFileError, match="not an Excel"):
        open_workbook(bogus)
    with pytest.raises(ImportFileError, match="no such file"):
        open_workbook(tmp_path / "missing.xlsx")


def test_missing_required_columns_fail_cleanly(tmp_path: Path) -> None:
    path = write(tmp_path / "cols.xlsx", [{"Title": "x"}], ["Title", "Description"])
    with pytest.raises(ImportFileError, match="required ePing columns"):
        open_workbook(path)


def test_cli_import_json_twice_and_failures(home: Path, tmp_path: Path) -> None:
    env = subprocess_env(home)
    out = subprocess.run(
        tbtwatch_cmd("import-eping", str(REAL), "--json"), env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["read"] == 229 and first["new"] + first["quarantined"] == 229
    again = subprocess.run(
        tbtwatch_cmd("import-eping", str(REAL), "--json"), env=env, capture_output=True, text=True
    )
    assert json.loads(again.stdout)["new"] == 0

    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"PK\x03\x04 broken")
    bad = subprocess.run(
        tbtwatch_cmd("import-eping", str(bogus), "--json"), env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "not an Excel" in bad.stderr and "Traceback" not in bad.stderr
    stats = subprocess.run(tbtwatch_cmd("stats", "--json"), env=env, capture_output=True, text=True)
    data = json.loads(stats.stdout)
    assert data["notices"] == first["new"] and data["by_kind"]["sps"] > 0

    shown = subprocess.run(
        tbtwatch_cmd("show", " g/tbt/n/chn/2072", "--json"), env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["notice"]["member"] == "CHN"
    missing = subprocess.run(
        tbtwatch_cmd("show", "G/TBT/N/CHN/99999"), env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1 and "no notice" in missing.stderr


def test_parallel_reader_gives_the_same_items(tmp_path: Path) -> None:
    with open_workbook(REAL) as wb:
        inline = [
            i.model_dump() if not isinstance(i, Rejected) else i for i in wb.items(source="t", parallel=False)
        ]
    with open_workbook(REAL) as wb:
        child = [
            i.model_dump() if not isinstance(i, Rejected) else i for i in wb.items(source="t", parallel=True)
        ]
    strip = [{k: v for k, v in d.items() if k != "fetched_at"} for d in inline]
    assert strip == [{k: v for k, v in d.items() if k != "fetched_at"} for d in child]


def test_parallel_reader_reports_a_file_that_breaks_mid_read(tmp_path: Path) -> None:
    path = tmp_path / "vanishing.xlsx"
    path.write_bytes(REAL.read_bytes())
    with open_workbook(path) as wb:
        path.write_bytes(b"gone")  # the child opens the file anew and finds garbage
        with pytest.raises(ImportFileError, match="cannot read rows"):
            list(wb.items(source="t", parallel=True))
