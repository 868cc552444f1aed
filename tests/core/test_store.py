"""The SQLite store: migrations, versioned upserts, labels, quarantine, runs, readers beside a writer."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from tbtwatch.errors import StoreError
from tbtwatch.migrations import MIGRATIONS
from tbtwatch.models import ClusterLabel, Labels, Notice, news_id
from tbtwatch.store import Store


def notice(nid: str = "G/TBT/N/EU/1050", **kw: object) -> Notice:
    from tbtwatch import symbols

    base = symbols.parse(nid).base_id
    fields: dict[str, object] = {
        "id": nid,
        "base_id": base,
        "kind": symbols.parse(nid).kind,
        "doc_type": symbols.parse(nid).doc_type,
        "member": symbols.parse(nid).member,
        "title": "Draft regulation on toys",
        "distributed_on": date(2025, 6, 1),
        "hs_codes": ["9503"],
        "source": "test",
    }
    fields.update(kw)
    return Notice.model_validate(fields)


def test_open_creates_wal_store_at_latest_schema(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "deep" / "s.sqlite3")
    assert store.schema_version == max(n for n, _, _ in MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.migrate() == []  # idempotent
    assert store.integrity_check() == "ok"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="newer than this tbtwatch"):
        Store.open(path)


def test_upsert_new_unchanged_changed_with_history(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    assert store.upsert(notice()).status == "new"
    assert store.upsert(notice(source="other", fetched_at="2030-01-01T00:00:00Z")).status == "unchanged"
    changed = store.upsert(notice(title="Draft regulation on toys, revised"))
    assert (changed.status, changed.version) == ("changed", 2)
    assert [v["version"] for v in store.versions("G/TBT/N/EU/1050")] == [1, 2]
    got = store.get("G/TBT/N/EU/1050")
    assert got is not None and got.title.endswith("revised")


def test_duplicates_inside_one_batch_resolve_in_order(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    results = store.upsert_many([notice(), notice(), notice(title="second text")])
    assert [r.status for r in results] == ["new", "unchanged", "changed"]
    assert store.count() == 1 and store.get("G/TBT/N/EU/1050").title == "second text"  # type: ignore[union-attr]


def test_family_links_addenda_and_revisions(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    store.upsert_many(
        [
            notice("G/TBT/N/EU/1050/Add.1", distributed_on=date(2025, 9, 1)),
            notice("G/TBT/N/EU/1050"),
            notice("G/TBT/N/EU/1050/Rev.1", distributed_on=date(2025, 7, 1)),
            notice("G/TBT/N/EU/1051"),
        ]
    )
    assert [f["id"] for f in store.family("G/TBT/N/EU/1050")] == [
        "G/TBT/N/EU/1050",
        "G/TBT/N/EU/1050/Rev.1",
        "G/TBT/N/EU/1050/Add.1",
    ]


def test_translation_is_merged_and_not_part_of_content(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    store.set_translation(
        "G/TBT/N/EU/1050", "zh", title="玩具安全法规草案", products=None, source="samr_daily"
    )
    store.upsert(notice())
    got = store.get("G/TBT/N/EU/1050")
    assert got is not None and got.title_zh == "玩具安全法规草案"
    assert store.upsert(got).status == "unchanged"
    store.set_translation("G/TBT/N/EU/1050", "zh", title=None, products="玩具", source="samr_daily")
    again = store.get("G/TBT/N/EU/1050")
    assert again is not None and (again.title_zh, again.products_zh) == ("玩具安全法规草案", "玩具")


def test_labels_replace_previous_ones(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    store.upsert(notice())
    lab = Labels(
        notice_id="G/TBT/N/EU/1050",
        clusters=[ClusterLabel(cluster_id="toys", score=0.9, reasons=["hs:9503", "kw:玩具"])],
        risk="high",
        risk_reasons=["market:EU"],
    )
    store.save_labels([lab])
    store.save_labels([lab.model_copy(update={"clusters": [ClusterLabel(cluster_id="toys", score=0.8)]})])
    got = store.get_labels("G/TBT/N/EU/1050")
    assert got is not None and [c.score for c in got.clusters] == [0.8] and got.risk == "high"
    assert store.get_labels("G/TBT/N/EU/404") is None


def test_quarantine_runs_and_state(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    run = store.start_run("eping_api")
    store.quarantine("eping_api", "title is empty", {"title": "", "odd": "\u0000\ud800 lone surrogate"}, run)
    store.finish_run(run, status="ok", items=3, new=2, quarantined=1)
    (r,) = store.runs("eping_api")
    assert (r.status, r.items, r.new, r.quarantined) == ("ok", 3, 2, 1) and r.finished_at
    assert store.quarantined("eping_api")[0]["raw"]["title"] == ""
    with pytest.raises(ValueError, match="unknown run counters"):
        store.finish_run(run, status="ok", bogus=1)
    store.set_state("eping_api", {"last_date": "2025-06-11"})
    assert store.get_state("eping_api") == {"last_date": "2025-06-11"}
    assert store.get_state("never") == {}


def test_reader_sees_committed_data_while_writer_holds_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    writer = Store.open(path)
    writer.upsert(notice())
    reader = Store.open(path, readonly=True)
    with writer.transaction():
        writer.conn.execute("UPDATE notices SET source='x'")
        assert reader.count() == 1  # WAL: readers are not blocked by an open write transaction
    with pytest.raises(sqlite3.OperationalError):
        reader.conn.execute("DELETE FROM notices")


def test_news_ids_and_iteration(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.sqlite3")
    nid = news_id("https://www.yidaiyilu.gov.cn/p/0ODODQPQ.html")
    store.upsert(
        Notice(id=nid, base_id=nid, kind="news", title="标准化合作", language="zh", source="yidaiyilu")
    )
    store.upsert(notice())
    assert [n.id for n in store.iter_notices(batch=1)] == sorted([nid, "G/TBT/N/EU/1050"])
    assert store.stats()["by_kind"] == {"news": 1, "tbt": 1}
