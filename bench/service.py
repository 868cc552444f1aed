"""Service benchmark: `tbtwatch serve --no-web` against the crawler mirror on 127.0.0.1. Prints JSON.

    python bench/service.py [--sources 4]

Figures: seconds from launch to the scheduler being ready; seconds until every source's start-up crawl is
recorded (each crawl is a `scrapy crawl` subprocess, all in parallel); wall time of one crawl of a 2-item feed;
seconds from SIGTERM to exit when idle and when every source is mid-crawl (crawls are stopped cleanly and
their runs closed); `sources status --json` latency; processes left behind (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "crawlers")]

from crawl_mockserver import MIRROR_LAYERS, MockServer  # noqa: E402
from testutil import env_of_processes  # noqa: E402


def _env(home: Path, config: Path, crawls: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TBTWATCH_")}
    env.update(
        {
            # the busy shutdown is measured with every source mid-crawl: allow them all at once
            "TBTWATCH_SCHEDULER__MAX_PARALLEL_CRAWLS": str(crawls),
            "PYTHONPATH": str(ROOT),
            "TBTWATCH_HOME": str(home),
            "TBTWATCH_CONFIG_DIR": str(config),
            "TBTWATCH_CRAWL__MIN_DELAY_SECONDS": "0",
            "TBTWATCH_CRAWL__STOP_GRACE_SECONDS": "5",
            "TBTWATCH_GENERAL__LOG_LEVEL": "INFO",
        }
    )
    return env


def _write(config: Path, url: str, n: int, interval: str) -> None:
    feed = {"name": "ok", "url": f"{url}/feeds.example.org/ok.xml", "language": "en"}
    sources = {
        f"bench_{i}": {
            "spider": "feeds",
            "schedule": {"interval": interval},
            "expected_cadence": "1d",
            "options": {"feeds": [feed]},
        }
        for i in range(n)
    }
    (config / "sources.yaml").write_text(yaml.safe_dump({"version": 1, "sources": sources}), encoding="utf-8")


def _runs(home: Path) -> list[tuple[Any, ...]]:
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        return list(conn.execute("SELECT source, started_at, finished_at, status FROM source_runs"))
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _wait(check: Any, timeout: float = 300) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise SystemExit("timed out")
        time.sleep(0.05)
    return time.monotonic() - start


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tbtwatch", "serve", "--no-web"], env=env, stdout=out, stderr=out, cwd=ROOT
        )


def _stop(proc: subprocess.Popen[bytes]) -> tuple[float, int]:
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(300)
    return time.monotonic() - start, code


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=4)
    args = parser.parse_args()
    n = args.sources
    out: dict[str, Any] = {"sources": n, "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]}
    with (
        tempfile.TemporaryDirectory() as tmp,
        MockServer(MIRROR_LAYERS) as url,
    ):
        home, config, log = Path(tmp) / "home", Path(tmp) / "config", Path(tmp) / "serve.log"
        subprocess.run(["cp", "-r", str(ROOT / "config"), str(config)], check=True)
        env = _env(home, config, n)

        _write(config, url, n, "1h")
        try:
            _measure(out, env, home, config, url, log, n)
        finally:
            _kill_left(home)
    print(json.dumps(out, indent=2))


def _measure(
    out: dict[str, Any], env: dict[str, str], home: Path, config: Path, url: str, log: Path, n: int
) -> None:
    """Start-up, status, idle and busy shutdown figures into ``out``."""
    proc = _serve(env, log)
    out["ready_seconds"] = round(_wait(lambda: "tbtwatch serve:" in log.read_text(errors="replace")), 2)
    first = _wait(lambda: sum(1 for r in _runs(home) if r[2]) >= n)
    out["startup_crawls_seconds"] = round(out["ready_seconds"] + first, 2)
    out["startup_crawls_ok"] = sum(1 for r in _runs(home) if r[3] == "ok")
    start = time.monotonic()
    status = subprocess.run(
        [sys.executable, "-m", "tbtwatch", "sources", "status", "--json"], env=env, capture_output=True
    )
    out["status_seconds"] = round(time.monotonic() - start, 2)
    out["status_rows"] = len(json.loads(status.stdout))
    out["stop_idle_seconds"], out["stop_idle_exit"] = _stop(proc)

    _write(config, url, n, "2s")  # replaced jobs; crawls back to back from now on
    proc = _serve(env, log)
    before = len(_runs(home))
    _wait(lambda: sum(1 for r in _runs(home)[before:] if not r[2]) >= n)  # every source mid-crawl
    out["stop_busy_seconds"], out["stop_busy_exit"] = _stop(proc)
    runs = _runs(home)
    out["runs_left_open"] = sum(1 for r in runs if not r[2])
    out["runs_stopped_at_shutdown"] = sum(1 for r in runs if r[3] == "stopped")
    out["processes_left_behind"] = len(env_of_processes(f"TBTWATCH_HOME={home}"))
    for key in ("stop_idle_seconds", "stop_busy_seconds"):
        out[key] = round(out[key], 2)


def _kill_left(home: Path) -> None:
    """SIGKILL whatever still runs for this home (a service or crawl left by a failed measurement)."""
    for pid in env_of_processes(f"TBTWATCH_HOME={home}"):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue


if __name__ == "__main__":
    main()
