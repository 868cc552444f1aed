"""The demo's local mirror of every source: a small threaded HTTP server on 127.0.0.1, in this process.

The fixture tree under ``site/mirror`` keeps the live sites' paths, so each spider crawls it with
``base_url=http://127.0.0.1:PORT`` exactly as it crawls the live site. A URL with a query is stored as
``<path>@<query>`` (``/list/w/zxfb?page=2`` -> ``list/w/zxfb@page=2``); a path ending in ``/`` is served
from ``index.html`` or ``index.xml`` in that folder. ``/eping/notifications/search`` answers like the ePing
search API over the items of ``site/eping_api/notifications.json``: filtered by ``domainIds`` and the
distribution-date window, paged, and only with the demo's subscription key.

>>> with Mirror(SITE_DIR) as mirror:          # doctest: +SKIP
...     run_crawl("wto_news", settings, base_url=mirror.url)
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tbtwatch.errors import TbtwatchError

log = logging.getLogger(__name__)

#: The fixture tree shipped with the package.
SITE_DIR = Path(__file__).resolve().parent / "site"
#: Path of the ePing search endpoint (the spider's default ``path`` option).
API_PATH = "/eping/notifications/search"
#: The subscription key the mirror's API accepts; not a secret, it opens nothing but this mirror.
DEMO_API_KEY = "tbtwatch-demo-key-not-a-secret"
_KEY_HEADER = "Ocp-Apim-Subscription-Key"
_TYPES = {
    ".html": "text/html",
    ".aspx": "text/html",
    ".js": "application/javascript; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class MirrorError(TbtwatchError):
    """The mirror cannot start (its port is taken, the fixture tree is missing)."""


def _api_date(value: Any) -> date | None:
    """A distribution date as the API items write it: ISO, ISO date-time or dd/mm/yyyy."""
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


class EpingSearch:
    """The ePing search endpoint over a fixed list of items."""

    def __init__(self, items: list[dict[str, Any]], key: str, max_page_size: int = 100) -> None:
        self.key = key
        self.max_page_size = max_page_size
        self.items = items

    def answer(self, query: dict[str, list[str]], key: str | None) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of one search."""
        if key != self.key:
            return 401, {"statusCode": 401, "message": "Access denied due to missing subscription key."}
        try:
            domain = int(query.get("domainIds", ["1"])[0])
            lo = date.fromisoformat(query["distributionDateFrom"][0])
            hi = date.fromisoformat(query["distributionDateTo"][0])
            page = max(1, int(query.get("page", ["1"])[0]))
            size = max(1, min(int(query.get("pageSize", ["10"])[0]), self.max_page_size))
        except (KeyError, ValueError, IndexError):
            return 400, {"statusCode": 400, "message": "bad query"}
        found = []
        for item in self.items:
            area = str(item.get("area") or item.get("documentSymbol") or "").upper()
            if (2 if "SPS" in area else 1) != domain:
                continue
            day = _api_date(item.get("distributionDate"))
            # an undated item matches every window, as on the live API: the spider copes with repeats
            if day is None or lo <= day <= hi:
                found.append(item)
        start = (page - 1) * size
        return 200, {
            "currentPage": page,
            "pageSize": size,
            "totalCount": len(found),
            "items": found[start : start + size],
        }


class _Handler(BaseHTTPRequestHandler):
    """Serves the fixture tree and the API; bound to one mirror by :meth:`Mirror.start`."""

    server_version = "tbtwatch-demo-mirror/1"
    root: Path
    api: EpingSearch

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the debug log, not to stderr."""
        log.debug("mirror: " + format, *args)

    def do_GET(self) -> None:
        """Answer one GET."""
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parts.query
        if path == API_PATH:
            status, body = self.api.answer(parse_qs(query), self.headers.get(_KEY_HEADER))
            self._send(
                status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
            )
            return
        file = self._file(path, query)
        if file is None:
            self._send(404, b"<h1>404 not found</h1>", "text/html; charset=utf-8")
            return
        ctype = _TYPES.get(file.suffix.lower(), "text/html")
        self._send(200, file.read_bytes(), ctype)

    def _file(self, path: str, query: str) -> Path | None:
        rel = path.lstrip("/")
        if query:
            rel = f"{rel}@{query}"
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root):
            return None
        if target.is_dir():
            for name in ("index.html", "index.xml"):
                if (target / name).is_file():
                    return target / name
            return None
        return target if target.is_file() else None

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class Mirror:
    """The mirror server in a daemon thread: ``with Mirror(SITE_DIR, port=0) as m: m.url``.

    ``port`` 0 picks a free port; a port that is taken falls back to a free one (``fell_back`` says so).
    """

    def __init__(self, site: Path = SITE_DIR, *, port: int = 0, api_key: str = DEMO_API_KEY) -> None:
        self.root = (site / "mirror").resolve()
        items_file = site / "eping_api" / "notifications.json"
        if not self.root.is_dir() or not items_file.is_file():
            raise MirrorError(
                f"the demo fixtures are missing under {site}. Fix: reinstall tbtwatch (pip install -e .)."
            )
        self.api = EpingSearch(json.loads(items_file.read_text(encoding="utf-8")), api_key)
        self.wanted_port = port
        self.fell_back = False
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._server is None:
            raise MirrorError("the mirror is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``base_url`` every spider gets."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Mirror:
        """Listen and serve in a daemon thread."""
        handler = type("MirrorHandler", (_Handler,), {"root": self.root, "api": self.api})
        try:
            server = ThreadingHTTPServer(("127.0.0.1", self.wanted_port), handler)
        except OSError:
            if self.wanted_port == 0:
                raise
            log.warning("mirror port %d is taken; using a free port", self.wanted_port)
            self.fell_back = True
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="tbtwatch-demo-mirror", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
