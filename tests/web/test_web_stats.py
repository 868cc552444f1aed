"""Dashboard figures, source status and export cells on a small constructed store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tbtwatch.models import ClusterLabel, Kind, Labels, Notice
from tbtwatch.store import Store
from tbtwatch.web import export, stats

TODAY = date(2026, 3, 10)


def _notice(
    symbol: str, member: str, distributed: date, deadline: date | None, kind: Kind = Kind.TBT
) -> Notice:
    return Notice(
        id=symbol,
        base_id=symbol,
        kind=kind,
        member=member,
        title=f"Constructed notice {symbol}",
        distributed_on=distributed,
        comment_deadline=deadline,
        source="test",
        fetched_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def test_dashboard_figures_and_open_list(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite3") as store:
        store.upsert_many(
            [
                _notice("G/TBT/N/EU/1", "EU", date(2026, 2, 1), TODAY + timedelta(days=10)),
                _notice("G/TBT/N/EU/2", "EU", date(2026, 3, 1), TODAY + timedelta(days=2)),
                _notice("G/SPS/N/USA/3", "USA", date(2026, 3, 2), TODAY, Kind.SPS),
                _notice("G/TBT/N/JPN/4", "JPN", date(2026, 1, 5), TODAY - timedelta(days=1)),
            ]
        )
        store.set_translation(
            "G/TBT/N/EU/2", "zh", title="构造的中文标题", products=None, source="samr_daily"
        )
        store.save_labels(
            [
                Labels(notice_id="G/TBT/N/EU/1", clusters=[ClusterLabel(cluster_id="toys", score=0.9)]),
                Labels(notice_id="G/TBT/N/EU/2", clusters=[ClusterLabel(cluster_id="toys", score=0.8)]),
            ]
        )
        figures = stats.compute(store, TODAY)
        run = store.start_run("samr_daily")
        store.finish_run(run, status="failed", message="HTTP 503", items=0, errors=1)
        store.set_state("samr_daily", {"last_digest": "2026-03-09"})
        sources = stats.sources(store)
    assert figures.total == 4 and figures.by_kind == {"tbt": 3, "sps": 1}
    assert figures.months == ["2026-01", "2026-02", "2026-03"]
    assert figures.per_month == {"tbt": [1, 1, 1], "sps": [0, 0, 1]}
    assert figures.top_members[0] == ("EU", 2) and figures.per_cluster == [("toys", 2)]
    assert [(o.id, o.days_left) for o in figures.open_for_comment] == [
        ("G/SPS/N/USA/3", 0),
        ("G/TBT/N/EU/2", 2),
        ("G/TBT/N/EU/1", 10),
    ]
    assert figures.open_for_comment[1].title_zh == "构造的中文标题"
    data = figures.as_dict({"toys": "玩具产业集群"})
    assert data["per_cluster"] == [{"cluster": "toys", "name_zh": "玩具产业集群", "count": 2}]
    assert data["top_members"][0]["name_zh"] == "欧盟"
    assert sources == [
        {
            "source": "samr_daily",
            "runs": 1,
            "failed_runs": 1,
            "last_run": sources[0]["last_run"],
            "state": {"last_digest": "2026-03-09"},
            "state_updated_at": sources[0]["state_updated_at"],
        }
    ]
    assert sources[0]["last_run"]["status"] == "failed" and sources[0]["last_run"]["message"] == "HTTP 503"


def test_export_cells_never_run_as_formulas() -> None:
    assert export.safe_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert (
        export.safe_cell("+1") == "'+1"
        and export.safe_cell("-2") == "'-2"
        and export.safe_cell("@x") == "'@x"
    )
    assert export.safe_cell("a\x00b\x07c") == "abc"
    assert export.safe_cell("玩具 toys") == "玩具 toys"
    body = export.to_csv([["=1+1"] + [""] * (len(export.COLUMNS) - 1)]).decode("utf-8-sig")
    assert body.splitlines()[1].startswith("'=1+1")
