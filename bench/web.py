"""Web search API under load: 50 concurrent clients for 30 s against a real uvicorn server; prints JSON.

    PYTHONPATH=. python bench/web.py [--notices 20000] [--clients 50] [--seconds 30] [--workers 2]

The home is built like production: the real ePing export (``tests/fixtures/eping``) through the ingest
path (classify, index, match), plus synthetic notices made from its real rows by ``bench/search.py``
(Chinese titles from the real Chinese pages of the shared fixtures), stored and indexed with
``tbtwatch reindex``'s code path. uvicorn runs in its own process (``--workers`` processes, access log off)
on 127.0.0.1; the load generator is one asyncio process with keep-alive connections that sends the query
mix of ``bench/search.py`` (English and Chinese words, phrases, member, cluster and date filters, paging)
to ``/api/search`` with facets and snippets, closed-loop: each client sends its next request when the
previous answer is read. Figures: latency p50/p95/p99 (ms), requests/s, errors (non-200 or broken), the
service time of one client alone, the server's CPU time per request (user + system time of the
uvicorn processes over the measured run, read from ``/proc``: less noisy than latency on a shared
machine) and the machine's load average (other processes share the cores). ``--home DIR`` keeps the built
home (and the query mix) in DIR and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.backend import open_backend  # noqa: E402
from index.query import Query  # noqa: E402
from tbtwatch.eping_workbook import open_workbook  # noqa: E402
from tbtwatch.ingest import Ingestor, default_stages  # noqa: E402
from tbtwatch.settings import load_settings  # noqa: E402
from tbtwatch.store import Store  # noqa: E402

WORKBOOK = REPO / "tests/fixtures/eping/eping_export_2025-06.xlsx"


def _search_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_search", REPO / "bench" / "search.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_home(home: Path, notices: int, shared: Path, seed: int) -> dict[str, Any]:
    """The workbook through the ingest path, then ``notices`` synthetic ones; return build figures."""
    settings = load_settings(home, environ={})
    started = time.perf_counter()
    with Store.open(settings.store_path) as store:
        with (
            open_workbook(WORKBOOK) as wb,
            Ingestor(store, source="eping_workbook", stages=default_stages(settings)) as ing,
        ):
            for item in wb.items(source="eping_workbook"):
                ing.add(item)
        ingest_s = time.perf_counter() - started
        bench_search = _search_bench()
        synthetic, labels, material = bench_search.synthesise(notices, shared, seed)
        t0 = time.perf_counter()
        for i in range(0, len(synthetic), 2000):
            batch = synthetic[i : i + 2000]
            store.upsert_many(batch)
            store.save_labels([labels[n.id] for n in batch if n.id in labels])
        with open_backend(settings) as backend:
            indexed = backend.reindex_from(store)
        synth_s = time.perf_counter() - t0
    return {
        "documents": indexed,
        "workbook_ingest_s": round(ingest_s, 2),
        "synthetic_store_and_reindex_s": round(synth_s, 2),
        "material": material,
        "bench_search": bench_search,
    }


def query_paths(material: dict[str, Any], bench_search: Any, count: int, seed: int) -> list[str]:
    """``/api/search?...`` paths of the shared query mix, some asking for a later page."""
    rng = random.Random(seed)
    out = []
    for _label, q in bench_search.make_queries(count, material, rng):
        assert isinstance(q, Query)
        params: list[tuple[str, str]] = [("q", q.text)] if q.text else []
        params += [("kind", k.value) for k in q.kinds]
        params += [("member", m) for m in q.members]
        params += [("cluster", c) for c in q.clusters]
        if q.distributed_from:
            params.append(("from", q.distributed_from.isoformat()))
        if q.distributed_to:
            params.append(("to", q.distributed_to.isoformat()))
        if q.open_on:
            params.append(("open", "1"))
        if q.sort != "relevance":
            params.append(("sort", q.sort))
        if rng.random() < 0.2:
            params.append(("page", str(rng.randint(2, 5))))
        out.append("/api/search?" + urlencode(params))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn in its own process group, answering once /healthz does."""
    env = {**os.environ, "TBTWATCH_HOME": str(home), "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "tbtwatch.web.app:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("uvicorn did not answer /healthz within 60 s")


async def _client(
    port: int, paths: list[str], offset: int, until: float, record: bool, lat: list[float], errors: list[str]
) -> int:
    """One keep-alive connection sending requests back to back until ``until``; returns requests sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent = 0
    i = offset
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
            )
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - t0
            sent += 1
            ok = status_line.startswith(b"HTTP/1.1 200") and body[:1] == b"{"
            if record:
                lat.append(elapsed)
                if not ok:
                    errors.append(status_line.decode("latin-1").strip()[:80])
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        if record:
            errors.append(f"{type(exc).__name__}: {exc}"[:120])
    finally:
        writer.close()
    return sent


def _tree_pids(root: int) -> list[int]:
    """``root`` and its descendants (uvicorn's supervisor and its worker processes)."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def cpu_by_process(root: int) -> dict[int, float]:
    """User + system CPU seconds so far of ``root`` and its descendants (empty where /proc is missing)."""
    out = {}
    for pid in _tree_pids(root) if Path("/proc/self/stat").exists() else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return out


def server_cpu_seconds(root: int) -> float | None:
    """User + system CPU seconds of the server's processes so far (None where /proc is missing)."""
    found = cpu_by_process(root)
    return sum(found.values()) if found else None


async def load(
    port: int, paths: list[str], clients: int, seconds: float, warmup: float, server_pid: int
) -> dict[str, Any]:
    """Warm-up (not recorded), then the measured run."""
    await asyncio.gather(
        *(_client(port, paths, k * 7, time.perf_counter() + warmup, False, [], []) for k in range(clients))
    )
    # service time: one client alone, so requests never queue (what a single search costs end to end)
    alone: list[float] = []
    cpu_0 = server_cpu_seconds(server_pid)
    await _client(port, paths, 0, time.perf_counter() + min(5.0, seconds / 3), True, alone, [])
    alone.sort()
    cpu_1 = server_cpu_seconds(server_pid)
    lat: list[float] = []
    errors: list[str] = []
    load_before = os.getloadavg()[0]
    per_process = cpu_by_process(server_pid)
    client_cpu = time.process_time()
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(port, paths, k * 13, until, True, lat, errors) for k in range(clients)))
    wall = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    cpu_2 = server_cpu_seconds(server_pid)
    # how the load spread over the processes (one busy worker and one idle one would halve the capacity)
    spread = sorted(
        (round(v - per_process.get(pid, 0.0), 2) for pid, v in cpu_by_process(server_pid).items()),
        reverse=True,
    )
    cpu_ms: dict[str, float | None] = {"single_client": None, "under_load": None}
    if cpu_0 is not None and cpu_1 is not None and cpu_2 is not None and alone and lat:
        cpu_ms["single_client"] = round((cpu_1 - cpu_0) / len(alone) * 1000, 2)
        cpu_ms["under_load"] = round((cpu_2 - cpu_1) / len(lat) * 1000, 2)
    ordered = sorted(lat)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000, 1)

    return {
        "requests": len(lat),
        "seconds": round(wall, 1),
        "requests_per_s": round(len(lat) / wall, 1),
        "latency_ms": {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": round(ordered[-1] * 1000, 1)},
        "server_cpu_ms_per_request": cpu_ms,
        "server_cpu_s_by_process": spread,
        "load_generator_cpu_ms_per_request": round(client_cpu / max(len(lat), 1) * 1000, 2),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "single_client_ms": {
            "p50": round(alone[len(alone) // 2] * 1000, 1),
            "mean": round(sum(alone) / len(alone) * 1000, 1),
            "requests": len(alone),
        },
        # other processes on the machine compete for the same cores: the 1-minute load average says how much
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }


def main() -> None:
    """Build, serve, load, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=20_000, help="synthetic notices added to the workbook")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--queries", type=int, default=400, help="distinct searches in the mix")
    ap.add_argument("--seed", type=int, default=20250612)
    ap.add_argument("--home", type=Path, help="keep the built home here and reuse it on later runs")
    ap.add_argument("--no-facets", action="store_true", help="ask for no facets (facets=false)")
    ap.add_argument(
        "--shared", type=Path, default=Path(os.environ.get("TBTWATCH_SHARED", REPO.parent / "shared"))
    )
    args = ap.parse_args()
    if not (args.shared / "fixtures/news/page_text_excerpts.json").exists():
        sys.exit(f"no shared fixtures under {args.shared}: pass --shared /path/to/shared")
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        saved = home / "bench_web.json"
        if args.home and saved.exists():
            built, paths = json.loads(saved.read_text(encoding="utf-8"))
        else:
            built = build_home(home, args.notices, args.shared, args.seed)
            paths = query_paths(built.pop("material"), built.pop("bench_search"), args.queries, args.seed)
            saved.write_text(json.dumps([built, paths], ensure_ascii=False), encoding="utf-8")
        if args.no_facets:
            paths = [p + "&facets=false" for p in paths]
        port = _free_port()
        proc = start_server(home, port, args.workers)
        try:
            figures = asyncio.run(load(port, paths, args.clients, args.seconds, args.warmup, proc.pid))
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
    print(
        json.dumps(
            {
                "bench": "web_search_api",
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "index": built,
                "server": {
                    "uvicorn_workers": args.workers,
                    "endpoint": "/api/search (snippets" + (")" if args.no_facets else " + facets)"),
                },
                "load": {"clients": args.clients, "distinct_queries": len(paths), **figures},
                "target": {"p95_ms": 100, "errors": 0},
                "met": figures["latency_ms"]["p95"] < 100 and figures["errors"] == 0,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
