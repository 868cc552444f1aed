"""A local HTTP server for crawler tests and the benchmark (Scrapy's mock-server pattern: a subprocess).

It serves fixture trees as one site mirror (:data:`MIRROR_LAYERS`: the test-only overlay
``tests/fixtures/crawlers/mirror`` on top of the demo's bundled site), with the demo mirror's code
(:mod:`tbtwatch.demo.mirror`), plus:

* ``/eping/notifications/search``: the demo mirror's ePing search API over a list of items (a fixture file or
  N constructed ones), with the page size capped like a real gateway would and an optional subscription key.
* route files: ``<path>.route.json`` beside (or instead of) a fixture file changes how it is served:
  ``status`` (answer with that status), ``fail_times``/``fail_status`` (fail N times, then serve the file),
  ``delay`` (seconds before answering), ``redirect`` (302 to a URL; ``{port}`` is replaced), ``headers``
  (e.g. a lying Content-Type), ``size_mb`` (stream that many MB without Content-Length).
* ``/_requests``: JSON list of the requests seen (method, path, query, host, user agent, API key present).

A URL with a query is looked up as ``<path>@<query>`` (``/list/w/zxfb?page=2`` -> ``list/w/zxfb@page=2``);
a folder as ``index.html`` or ``index.xml`` in it; each name in the first ``--root`` that holds it (as a file
or a route file).

Run: ``python crawl_mockserver.py --root DIR [--root DIR ...] [--eping-items FILE | --eping-synthetic N]
[--api-key KEY]``; it prints ``READY http://127.0.0.1:PORT`` when it listens.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    # the checkout's demo mirror, whatever tbtwatch is installed (run as a script, or from bench/)
    sys.path.insert(0, str(REPO))

from tbtwatch.demo.mirror import (  # noqa: E402
    API_PATH,
    CONTENT_TYPES,
    KEY_HEADER,
    SITE_DIR,
    EpingSearch,
    MirrorHandler,
    SiteTree,
)

__all__ = ["API_ITEMS", "API_PATH", "MIRROR_LAYERS", "OVERLAY", "MockServer", "fixture", "synthetic_items"]

#: The test-only pages (faults, the fault feeds, a robots.txt with a forbidden folder), served on top of
#: the demo's site.
OVERLAY = REPO / "tests" / "fixtures" / "crawlers" / "mirror"
#: The mirror of every source the crawler tests crawl, first layer first.
MIRROR_LAYERS = (OVERLAY, SITE_DIR / "mirror")
#: The constructed ePing API items (the demo's).
API_ITEMS = SITE_DIR / "eping_api" / "notifications.json"
#: The file beside a fixture that changes how it is served.
ROUTE = ".route.json"
#: The site of :data:`MIRROR_LAYERS`, to read a fixture by its stored name.
SITE = SiteTree(*MIRROR_LAYERS)


def fixture(name: str) -> Path:
    """The file stored as ``name`` in :data:`MIRROR_LAYERS` (FileNotFoundError when none holds it)."""
    found = SITE.find(name)
    if found is None:
        raise FileNotFoundError(f"no {name} in {', '.join(map(str, MIRROR_LAYERS))}")
    return found


PRODUCTS = ["toys", "textiles", "valves", "lamps", "footwear"]


def synthetic_items(count: int, start: date = date(2024, 1, 1), days: int = 200) -> list[dict[str, Any]]:
    """``count`` constructed notifications (documented API item format), spread over ``days`` days."""
    rng = random.Random(20250611)
    members = [
        ("EU", "European Union"),
        ("USA", "United States of America"),
        ("KEN", "Kenya"),
        ("SAU", "Saudi Arabia, Kingdom of"),
        ("BRA", "Brazil"),
        ("JPN", "Japan"),
        ("IND", "India"),
        ("THA", "Thailand"),
        ("VNM", "Viet Nam"),
        ("UGA", "Uganda"),
    ]
    items = []
    for i in range(count):
        code, name = members[i % len(members)]
        area = "SPS" if i % 4 == 3 else "TBT"
        distributed = start + timedelta(days=i % days)
        items.append(
            {
                "id": 100000 + i,
                "documentSymbol": f" G/{area}/N/{code}/{1000 + i}",
                "area": area,
                "notificationType": "Regular notification",
                "notifyingMember": name,
                "distributionDate": distributed.isoformat() + "T00:00:00",
                "commentDeadlineDate": (distributed + timedelta(days=60)).strftime("%d/%m/%Y"),
                "titlePlain": f"Draft technical regulation on group {i % 97} ({rng.choice(PRODUCTS)})",
                "description": f"<p>The draft sets <b>requirements</b> for item {i} &amp; its labelling.</p>",
                "productsFreeTextPlain": "Products of HS chapter 95",
                "hsCodes": [{"id": i, "code": "9503.00", "name": "Toys"}],
                "icsCodeText": "97.200.50 - Toys",
                "objectives": [{"id": 1, "name": "Protection of human health or safety"}],
                "keywords": [{"id": 2, "name": "Consumer safety"}],
            }
        )
    return items


class Handler(MirrorHandler):
    """The demo mirror's handler plus the route files and the request log."""

    server_version = "tbtwatch-mock/1"
    # the crawler tests' pages are UTF-8 and say so in the header unless a route file says otherwise
    content_types: ClassVar[dict[str, str]] = {
        **CONTENT_TYPES,
        ".html": "text/html; charset=utf-8",
        ".aspx": "text/html; charset=utf-8",
    }
    port: int
    hits: ClassVar[dict[str, int]] = defaultdict(int)
    log: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is at /_requests."""

    def do_GET(self) -> None:
        """Answer one GET."""
        path, query = self.target()
        if path == "/_requests":
            with self.lock:
                self.send(200, json.dumps(self.log).encode(), "application/json")
            return
        with self.lock:
            self.log.append(
                {
                    "path": path,
                    "query": query,
                    "host": self.headers.get("Host", ""),
                    "user_agent": self.headers.get("User-Agent", ""),
                    "api_key": bool(self.headers.get(KEY_HEADER)),
                    "time": time.time(),
                }
            )
        if self.answer_api(path, query):
            return
        name = self.site.name_of(path, query, sidecar=ROUTE)
        route = self._route(name)
        if route.get("delay"):
            time.sleep(float(route["delay"]))
        if "redirect" in route:
            self.send_response(302)
            self.send_header("Location", str(route["redirect"]).replace("{port}", str(self.port)))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.get("fail_times"):
            key = f"{path}?{query}"
            with self.lock:
                self.hits[key] += 1
                failing = self.hits[key] <= int(route["fail_times"])
            if failing:
                self.send(int(route.get("fail_status", 500)), b"<h1>temporary failure</h1>", "text/html")
                return
        if "status" in route:
            self.send(int(route["status"]), b"<h1>status from route</h1>", "text/html")
            return
        if route.get("size_mb"):
            self._stream(int(route["size_mb"]))
            return
        self.send_file(None if name is None else self.site.find(name), route.get("headers"))

    def _route(self, name: str | None) -> dict[str, Any]:
        route = None if name is None else self.site.find(name + ROUTE)
        return json.loads(route.read_text(encoding="utf-8")) if route is not None else {}

    def _stream(self, megabytes: int) -> None:
        # no Content-Length: the client only learns the size while reading, as with a chunked response
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        chunk = (b"<p>" + b"x" * 1017 + b"</p>\n") * 1024
        try:
            self.wfile.write(b"<html><body>")
            for _ in range(megabytes):
                self.wfile.write(chunk)
            self.wfile.write(b"</body></html>")
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(layers: Sequence[Path], api: EpingSearch | None, port: int = 0) -> ThreadingHTTPServer:
    """A started server (in a thread) for the site ``layers`` (first layer first) and ``api``."""
    handler: type[Handler] = type(
        "BoundHandler",
        (Handler,),
        {"site": SiteTree(*layers), "api": api, "hits": defaultdict(int), "log": []},
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    handler.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class MockServer:
    """The server in a subprocess: ``with MockServer(MIRROR_LAYERS) as url: ...``.

    ``root``: one folder, or layers of folders served as one site (first layer first).
    """

    def __init__(
        self,
        root: Path | Sequence[Path],
        *,
        eping_items: Path | None = None,
        eping_synthetic: int = 0,
        api_key: str | None = None,
        max_page_size: int = 100,
    ) -> None:
        layers = [root] if isinstance(root, Path) else list(root)
        self.args = [sys.executable, __file__, "--max-page-size", str(max_page_size)]
        for layer in layers:
            self.args += ["--root", str(layer)]
        if eping_items:
            self.args += ["--eping-items", str(eping_items)]
        if eping_synthetic:
            self.args += ["--eping-synthetic", str(eping_synthetic)]
        if api_key:
            self.args += ["--api-key", api_key]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"mock server did not start: {line!r}")
        self.url = line.split(" ", 1)[1]
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def requests(self) -> list[dict[str, Any]]:
        """The requests the server has seen."""
        from urllib.request import urlopen

        with urlopen(self.url + "/_requests", timeout=10) as resp:
            return list(json.loads(resp.read()))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, action="append", required=True, help="a layer, first on top")
    parser.add_argument("--eping-items", type=Path)
    parser.add_argument("--eping-synthetic", type=int, default=0)
    parser.add_argument("--api-key")
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    items: list[dict[str, Any]] = []
    if args.eping_items:
        items = json.loads(args.eping_items.read_text(encoding="utf-8"))
    if args.eping_synthetic:
        items += synthetic_items(args.eping_synthetic)
    api = (
        EpingSearch(items, args.api_key, args.max_page_size)
        if (args.eping_items or args.eping_synthetic)
        else None
    )
    server = serve(args.root, api, args.port)
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
