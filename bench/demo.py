"""Benchmark: wall time of ``tbtwatch demo --no-web`` on a fresh home, and of a rerun, printed as JSON.

Each run is the command a person types (``python -m tbtwatch demo --no-web --json`` in a subprocess), so the
figure includes interpreter start-up, the seven crawl subprocesses (two at a time), the digests and the
report. Per phase: ``recipients``, ``crawl`` (all sources; per-source seconds overlap, two run at once),
``digest`` (build, render, write to the maildir), and ``other`` (start-up, mirror, report, exit). The load
of the machine is printed beside the figures because other work on it stretches them. Target: < 120 s.

Run: ``python bench/demo.py [--runs 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 120.0


def run_demo(home: Path) -> dict[str, Any]:
    """One ``demo --no-web --json`` run into ``home``: wall time, phases, per-source seconds."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["TBTWATCH_HOME"] = str(home)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tbtwatch", "demo", "--no-web", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"demo failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    phases = dict(report["phases"])
    phases["other"] = round(wall - sum(phases.values()), 2)
    return {
        "wall_seconds": round(wall, 2),
        "phases": phases,
        "sources": {s["source"]: s["seconds"] for s in report["sources"]},
        "new": sum(s["new"] for s in report["sources"]),
        "digests_sent": report["digests"]["sent"],
        "notices": report["totals"]["notices"],
    }


def main() -> None:
    """Run the demo ``--runs`` times on one fresh home and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="1: fresh home only; 2: and a rerun")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tbtwatch-bench-demo-") as tmp:
        home = Path(tmp) / "home"
        runs = [run_demo(home) for _ in range(max(1, args.runs))]
    fresh = runs[0]
    out = {
        "benchmark": "demo --no-web",
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "fresh_home": fresh,
        "rerun": runs[1] if len(runs) > 1 else None,
        "target_seconds": TARGET_SECONDS,
        "within_target": fresh["wall_seconds"] < TARGET_SECONDS,
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
