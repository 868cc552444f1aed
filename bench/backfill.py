"""Backfill benchmark: a synthetic 200,000-notice ePing workbook through import -> classify -> index -> match.

    python bench/backfill.py [--rows 200000] [--recipients 500] [--workbook PATH]

The workbook is built from the real rows of the ePing export (``bench/ingest.py``: every row a unique
symbol), once, in its own process, and kept at ``--workbook`` when given (building 200,000 rows takes a
minute or two and is not part of the figure). The import then runs in a fresh process exactly as
``tbtwatch import-eping`` does (the one ingest path with the configured stages: the classifier, the embedded
tantivy index, alert matching against ``--recipients`` exporters with one subscription each), into a fresh
home. Figures: seconds (target < 180), notices per second, the ingest report, alerts recorded, and peak memory
(``ru_maxrss`` of the import process and of its children, the workbook reader; target < 1.5 GB together).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TARGET_S = 180.0
TARGET_MB = 1536


def recipients(count: int, seed: int) -> dict[str, Any]:
    """Exporters with one subscription each: HS headings, keywords, clusters with a minimum risk."""
    import yaml

    from alerts.clusters import cluster_names

    rng = random.Random(seed)
    clusters = sorted(cluster_names(REPO / "config"))
    data = yaml.safe_load((REPO / "config" / "clusters.yaml").read_text(encoding="utf-8"))
    entries = data if isinstance(data, list) else data["clusters"]
    hs = sorted({str(p) for c in entries for p in c.get("hs_prefixes") or [] if len(str(p)) >= 4})
    keywords = sorted({str(k) for c in entries for k in c.get("keywords_zh") or [] if len(str(k)) >= 2})
    out = []
    for i in range(count):
        shape = i % 3
        if shape == 0:
            sub: dict[str, Any] = {"hs_prefixes": rng.sample(hs, 2)}
        elif shape == 1:
            sub = {"keywords": rng.sample(keywords, 2)}
        else:
            sub = {"clusters": [rng.choice(clusters)], "min_risk": "high"}
        out.append(
            {
                "id": f"exp-{i:05d}",
                "type": "exporter",
                "name": f"企业 {i}",
                "addresses": [f"u{i}@e{i % 101}.example.cn"],
                "frequency": "daily",
                "subscriptions": [sub],
            }
        )
    return {"recipients": out}


class Timed:
    """A stage with the seconds spent in it."""

    def __init__(self, stage: Any) -> None:
        self.stage = stage
        self.name = stage.name
        self.seconds = 0.0

    def process(self, notices: list[Any], store: Any) -> None:
        """Run the stage, timed."""
        t = time.perf_counter()
        try:
            self.stage.process(notices, store)
        finally:
            self.seconds += time.perf_counter() - t


def run_import(workbook: Path, home: Path, count: int) -> dict[str, Any]:
    """The import itself (in the child process): settings, recipients, the ingest path with every stage."""
    from alerts.recipients import parse_recipients
    from alerts.repository import AlertsRepository
    from tbtwatch.eping_workbook import open_workbook
    from tbtwatch.ingest import Ingestor, default_stages
    from tbtwatch.settings import load_settings
    from tbtwatch.store import Store

    settings = load_settings(home, environ={})
    store = Store.open(settings.store_path)
    AlertsRepository(store).import_recipients(parse_recipients(recipients(count, 8)))
    started = time.perf_counter()
    stages = [Timed(s) for s in default_stages(settings)]
    startup = time.perf_counter() - started  # loading the classifier model and the index
    with (
        open_workbook(workbook) as wb,
        Ingestor(store, source="backfill", stages=stages, keep_ids=False) as ing,
    ):
        for item in wb.items(source="backfill"):
            ing.add(item)
    elapsed = time.perf_counter() - started
    alerts = store.conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
    labelled = store.conn.execute("SELECT count(*) FROM labels").fetchone()[0]
    from index.backend import open_backend

    indexed = open_backend(settings).count()
    store.close()
    return {
        "seconds": round(elapsed, 1),
        "notices_per_s": round(ing.report.read / elapsed),
        "report": ing.report.as_dict(),
        "stage_seconds": {s.name: round(s.seconds, 1) for s in stages},
        "startup_seconds": round(startup, 1),
        "read_parse_store_seconds": round(elapsed - startup - sum(s.seconds for s in stages), 1),
        "labelled": labelled,
        "indexed": indexed,
        "alerts": alerts,
        "recipients": count,
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--recipients", type=int, default=500)
    parser.add_argument("--workbook", type=Path, help="keep (or reuse) the synthetic workbook here")
    parser.add_argument("--child", nargs=2, metavar=("WORKBOOK", "HOME"), help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        from bench.ingest import build_workbook

        build_workbook(args.build, args.rows)
        return
    if args.child:
        print(json.dumps(run_import(Path(args.child[0]), Path(args.child[1]), args.recipients)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workbook = args.workbook or Path(tmp) / "backfill.xlsx"
        build_s = None
        if not workbook.exists():
            t = time.perf_counter()
            me = [sys.executable, __file__, "--rows", str(args.rows)]
            subprocess.run([*me, "--build", str(workbook)], check=True)
            build_s = round(time.perf_counter() - t, 1)
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--recipients",
                str(args.recipients),
                "--child",
                str(workbook),
                str(Path(tmp) / "home"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
    peak = result["peak_rss_mb_self"] + result["peak_rss_mb_children"]
    print(
        json.dumps(
            {
                "benchmark": "backfill",
                "rows": args.rows,
                "workbook_build_s": build_s,
                **result,
                "peak_rss_mb_total": peak,
                "target_s": TARGET_S,
                "target_peak_mb": TARGET_MB,
                "ok": result["seconds"] < TARGET_S and peak < TARGET_MB,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
