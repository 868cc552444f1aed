"""A local HTTP server for crawler tests and the benchmark (Scrapy's mock-server pattern: a subprocess).

It serves a fixture tree as a site mirror, plus:

* ``/eping/notifications/search``: the ePing search API over a list of items (a fixture file or N constructed
  ones), filtered by ``domainIds`` and the distribution-date window, paged, in a stable order that is not by
  date, with the page size capped like a real gateway would, and a subscription-key check.
* route files: ``<path>.route.json`` beside (or instead of) a fixture file changes how it is served:
  ``status`` (answer with that status), ``fail_times``/``fail_status`` (fail N times, then serve the file),
  ``delay`` (seconds before answering), ``redirect`` (302 to a URL; ``{port}`` is replaced), ``headers``
  (e.g. a lying Content-Type), ``size_mb`` (stream that many MB without Content-Length).
* ``/_requests``: JSON list of the requests seen (method, path, query, host, user agent, API key present).

A URL with a query is looked up as ``<path>@<query>`` (``/list/w/zxfb?page=2`` -> ``list/w/zxfb@page=2``);
a path ending in ``/`` as ``index.html`` or ``index.xml`` in that folder.

Run: ``python crawl_mockserver.py --root DIR [--eping-items FILE | --eping-synthetic N] [--api-key KEY]``; it
prints ``READY http://127.0.0.1:PORT`` when it listens.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import json
import mimetypes
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

API_PATH = "/eping/notifications/search"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".aspx": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def parse_api_date(value: Any) -> date | None:
    """A distribution date as the constructed items write it (ISO, ISO datetime, dd/mm/yyyy)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if "/" in text:
            d, m, y = text.split("/")
            return date(int(y), int(m), int(d))
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


class EpingApi:
    """The search endpoint over a fixed list of items."""

    def __init__(self, items: list[dict[str, Any]], key: str | None, max_page_size: int) -> None:
        self.key = key
        self.max_page_size = max_page_size
        self.undated: dict[int, list[dict[str, Any]]] = defaultdict(list)
        by_domain: dict[int, list[tuple[date, str, dict[str, Any]]]] = defaultdict(list)
        for item in items:
            domain = 2 if "SPS" in str(item.get("area") or item.get("documentSymbol") or "").upper() else 1
            d = parse_api_date(item.get("distributionDate"))
            if d is None:
                # an undated item matches every window: the spider must cope with seeing it again
                self.undated[domain].append(item)
            else:
                by_domain[domain].append(
                    (d, hashlib.md5(json.dumps(item, sort_keys=True).encode()).hexdigest(), item)
                )
        self.dates: dict[int, list[date]] = {}
        self.items: dict[int, list[tuple[date, str, dict[str, Any]]]] = {}
        for domain, rows in by_domain.items():
            rows.sort(key=lambda r: r[0])
            self.items[domain] = rows
            self.dates[domain] = [r[0] for r in rows]

    def search(self, query: dict[str, list[str]], headers: Any) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of one search."""
        if self.key is not None and headers.get("Ocp-Apim-Subscription-Key") != self.key:
            return 401, {"statusCode": 401, "message": "Access denied due to missing subscription key."}
        try:
            domain = int(query.get("domainIds", ["1"])[0])
            lo = date.fromisoformat(query["distributionDateFrom"][0])
            hi = date.fromisoformat(query["distributionDateTo"][0])
            page = max(1, int(query.get("page", ["1"])[0]))
            size = max(1, min(int(query.get("pageSize", ["10"])[0]), self.max_page_size))
        except (KeyError, ValueError):
            return 400, {"statusCode": 400, "message": "bad query"}
        dates = self.dates.get(domain, [])
        rows = self.items.get(domain, [])[bisect.bisect_left(dates, lo) : bisect.bisect_right(dates, hi)]
        # results come in a stable order that is not the date order, as the real API does
        found = [r[2] for r in sorted(rows, key=lambda r: r[1])] + self.undated.get(domain, [])
        start = (page - 1) * size
        return 200, {
            "currentPage": page,
            "pageSize": size,
            "totalCount": len(found),
            "items": found[start : start + size],
        }


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


class Handler(BaseHTTPRequestHandler):
    """Serves the mirror, the API and the route files."""

    server_version = "tbtwatch-mock/1"
    root: Path
    api: EpingApi | None
    port: int
    hits: ClassVar[dict[str, int]] = defaultdict(int)
    log: ClassVar[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is at /_requests."""

    def do_GET(self) -> None:
        """Answer one GET."""
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parts.query
        if path == "/_requests":
            with self.lock:
                self._send(200, json.dumps(self.log).encode(), "application/json")
            return
        with self.lock:
            self.log.append(
                {
                    "path": path,
                    "query": query,
                    "host": self.headers.get("Host", ""),
                    "user_agent": self.headers.get("User-Agent", ""),
                    "api_key": bool(self.headers.get("Ocp-Apim-Subscription-Key")),
                    "time": time.time(),
                }
            )
        if path == API_PATH and self.api is not None:
            status, body = self.api.search(parse_qs(query), self.headers)
            self._send(
                status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
            )
            return
        file = self._file(path, query)
        route = self._route(file)
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
                self._send(int(route.get("fail_status", 500)), b"<h1>temporary failure</h1>", "text/html")
                return
        if "status" in route:
            self._send(int(route["status"]), b"<h1>status from route</h1>", "text/html")
            return
        if route.get("size_mb"):
            self._stream(int(route["size_mb"]))
            return
        if file is None or not file.is_file():
            self._send(404, b"<h1>404 not found</h1>", "text/html; charset=utf-8")
            return
        headers = dict(route.get("headers") or {})
        ctype = headers.pop("Content-Type", None)
        if ctype is None:
            ctype = (
                _TYPES.get(file.suffix.lower())
                or mimetypes.guess_type(file.name)[0]
                or "text/html; charset=utf-8"
            )
        self._send(200, file.read_bytes(), ctype, headers)

    def _file(self, path: str, query: str) -> Path | None:
        rel = path.lstrip("/")
        if ".." in Path(rel).parts:
            return None
        if query:
            rel = f"{rel}@{query}"
        target = self.root / rel
        if path.endswith("/") and not query:
            for name in ("index.html", "index.xml"):
                if (target / name).exists() or (target / f"{name}.route.json").exists():
                    return target / name
        return target

    def _route(self, file: Path | None) -> dict[str, Any]:
        if file is None:
            return {}
        route = file.with_name(file.name + ".route.json")
        return json.loads(route.read_text(encoding="utf-8")) if route.is_file() else {}

    def _send(
        self, status: int, body: bytes, ctype: str | None, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

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


def serve(root: Path, api: EpingApi | None, port: int = 0) -> ThreadingHTTPServer:
    """A started server (in a thread) for ``root`` and ``api``."""
    handler: type[Handler] = type(
        "BoundHandler", (Handler,), {"root": root, "api": api, "hits": defaultdict(int), "log": []}
    )
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    handler.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class MockServer:
    """The server in a subprocess: ``with MockServer(root) as url: ...``."""

    def __init__(
        self,
        root: Path,
        *,
        eping_items: Path | None = None,
        eping_synthetic: int = 0,
        api_key: str | None = None,
        max_page_size: int = 100,
    ) -> None:
        self.args = [sys.executable, __file__, "--root", str(root), "--max-page-size", str(max_page_size)]
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
    parser.add_argument("--root", type=Path, required=True)
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
        EpingApi(items, args.api_key, args.max_page_size)
        if (args.eping_items or args.eping_synthetic)
        else None
    )
    server = serve(args.root.resolve(), api, args.port)
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
