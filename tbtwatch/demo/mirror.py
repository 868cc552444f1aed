"""The demo's local mirror of every source: a small threaded HTTP server on 127.0.0.1, in this process.

The fixture tree under ``site/mirror`` keeps the live sites' paths, so each spider crawls it with
``base_url=http://127.0.0.1:PORT`` exactly as it crawls the live site. A URL with a query is stored as
``<path>@<query>`` (``/list/w/zxfb?page=2`` -> ``list/w/zxfb@page=2``); a folder is served from its
``index.html`` or ``index.xml``. ``/eping/notifications/search`` answers like the ePing search API over the
items of ``site/eping_api/notifications.json``: filtered by ``domainIds`` and the distribution-date window,
paged, and only with the demo's subscription key.

The crawler tests' mock server (``tests/crawlers/crawl_mockserver.py``) is built on the same parts
(:class:`SiteTree`, :class:`EpingSearch`, :class:`MirrorHandler`): it serves its fault pages as a layer on
top of this site.

>>> with Mirror(SITE_DIR) as mirror:          # doctest: +SKIP
...     run_crawl("wto_news", settings, base_url=mirror.url)
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import logging
import mimetypes
import threading
from collections import defaultdict
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from tbtwatch.errors import TbtwatchError

log = logging.getLogger(__name__)

#: The fixture tree shipped with the package.
SITE_DIR = Path(__file__).resolve().parent / "site"
#: Path of the ePing search endpoint (the spider's default ``path`` option).
API_PATH = "/eping/notifications/search"
#: The subscription key the mirror's API accepts; not a secret, it opens nothing but this mirror.
DEMO_API_KEY = "tbtwatch-demo-key-not-a-secret"
#: The header the API reads the subscription key from.
KEY_HEADER = "Ocp-Apim-Subscription-Key"
#: Content-Type by file suffix. HTML goes without a charset, as from many of the live sites: the crawlers
#: find the encoding in a meta tag or in the bytes (the SAMR digests are GBK, the other pages UTF-8).
CONTENT_TYPES = {
    ".html": "text/html",
    ".aspx": "text/html",
    ".js": "application/javascript; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class MirrorError(TbtwatchError):
    """The mirror cannot start (its port is taken, the fixture tree is missing)."""


def api_date(value: Any) -> date | None:
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


def _domain(item: dict[str, Any]) -> int:
    """The ``domainIds`` value an item answers to: 2 for SPS, 1 for TBT."""
    return 2 if "SPS" in str(item.get("area") or item.get("documentSymbol") or "").upper() else 1


class EpingSearch:
    """The ePing search endpoint over a fixed list of items.

    Results come in a stable order that is not the date order, as on the live API; an undated item answers
    every window (the spider copes with seeing it again). Items are indexed by date once, so that a window
    over tens of thousands of constructed items (the benchmarks) is a bisection, not a scan. ``key`` None
    accepts any request.
    """

    def __init__(self, items: list[dict[str, Any]], key: str | None, max_page_size: int = 100) -> None:
        self.key = key
        self.max_page_size = max_page_size
        self.undated: dict[int, list[dict[str, Any]]] = defaultdict(list)
        by_domain: dict[int, list[tuple[date, str, dict[str, Any]]]] = defaultdict(list)
        for item in items:
            day = api_date(item.get("distributionDate"))
            if day is None:
                self.undated[_domain(item)].append(item)
            else:
                digest = hashlib.md5(json.dumps(item, sort_keys=True).encode()).hexdigest()
                by_domain[_domain(item)].append((day, digest, item))
        self.rows: dict[int, list[tuple[date, str, dict[str, Any]]]] = {}
        self.dates: dict[int, list[date]] = {}
        for domain, rows in by_domain.items():
            rows.sort(key=lambda r: r[0])
            self.rows[domain] = rows
            self.dates[domain] = [r[0] for r in rows]

    def answer(self, query: dict[str, list[str]], key: str | None) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of one search (``key``: the request's subscription key header)."""
        if self.key is not None and key != self.key:
            return 401, {"statusCode": 401, "message": "Access denied due to missing subscription key."}
        try:
            domain = int(query.get("domainIds", ["1"])[0])
            lo = date.fromisoformat(query["distributionDateFrom"][0])
            hi = date.fromisoformat(query["distributionDateTo"][0])
            page = max(1, int(query.get("page", ["1"])[0]))
            size = max(1, min(int(query.get("pageSize", ["10"])[0]), self.max_page_size))
        except (KeyError, ValueError, IndexError):
            return 400, {"statusCode": 400, "message": "bad query"}
        dates = self.dates.get(domain, [])
        rows = self.rows.get(domain, [])[bisect.bisect_left(dates, lo) : bisect.bisect_right(dates, hi)]
        found = [r[2] for r in sorted(rows, key=lambda r: r[1])] + self.undated.get(domain, [])
        start = (page - 1) * size
        return 200, {
            "currentPage": page,
            "pageSize": size,
            "totalCount": len(found),
            "items": found[start : start + size],
        }


def stored_names(path: str, query: str) -> list[str]:
    """The names a URL may be stored under, best first: ``<path>@<query>`` for a URL with a query, else the
    path itself, then ``index.html`` and ``index.xml`` in that folder."""
    rel = path.strip("/")
    if query:
        return [f"{rel}@{query}"]
    folder = f"{rel}/" if rel else ""
    return ([rel] if rel else []) + [f"{folder}index.html", f"{folder}index.xml"]


class SiteTree:
    """Fixture folders served as one site: a name is looked up in each layer in turn, the first that holds it
    wins (a test overlay on top of the demo's fixtures). Nothing outside the layers is ever served."""

    def __init__(self, *layers: Path) -> None:
        self.layers = tuple(layer.resolve() for layer in layers)

    def find(self, name: str) -> Path | None:
        """The file stored as ``name`` in the first layer that has it."""
        for layer in self.layers:
            target = (layer / name).resolve()
            if target.is_relative_to(layer) and target.is_file():
                return target
        return None

    def name_of(self, path: str, query: str, sidecar: str = "") -> str | None:
        """The name ``path?query`` is stored under: the first of :func:`stored_names` that a layer holds, as
        a file or (when ``sidecar`` is given) as a ``<name><sidecar>`` file beside it."""
        for name in stored_names(path, query):
            if self.find(name) is not None or (sidecar and self.find(name + sidecar) is not None):
                return name
        return None

    def locate(self, path: str, query: str) -> Path | None:
        """The file that answers ``path?query``, if any."""
        name = self.name_of(path, query)
        return None if name is None else self.find(name)


class MirrorHandler(BaseHTTPRequestHandler):
    """Serves a :class:`SiteTree` and the ePing search API; bound to a tree and an API by a subclass made
    with ``type(...)`` (:meth:`Mirror.start`)."""

    server_version = "tbtwatch-demo-mirror/1"
    site: SiteTree
    api: EpingSearch | None = None
    content_types: ClassVar[dict[str, str]] = CONTENT_TYPES

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the debug log, not to stderr."""
        log.debug("mirror: " + format, *args)

    def do_GET(self) -> None:
        """Answer one GET."""
        path, query = self.target()
        if not self.answer_api(path, query):
            self.send_file(self.site.locate(path, query))

    def target(self) -> tuple[str, str]:
        """The request's path (percent-decoded) and query."""
        parts = urlsplit(self.path)
        return unquote(parts.path), parts.query

    def answer_api(self, path: str, query: str) -> bool:
        """Answer a search of the API; False when the request is not one."""
        if path != API_PATH or self.api is None:
            return False
        status, body = self.api.answer(parse_qs(query), self.headers.get(KEY_HEADER))
        self.send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8")
        return True

    def send_file(self, file: Path | None, headers: dict[str, str] | None = None) -> None:
        """Send ``file`` (404 when None), typed by its suffix unless ``headers`` name a Content-Type."""
        if file is None:
            self.send(404, b"<h1>404 not found</h1>", "text/html; charset=utf-8")
            return
        extra = dict(headers or {})
        ctype = extra.pop("Content-Type", None) or (
            self.content_types.get(file.suffix.lower())
            or mimetypes.guess_type(file.name)[0]
            or self.content_types[".html"]
        )
        self.send(200, file.read_bytes(), ctype, extra)

    def send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        """Send a whole response."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
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
        handler = type("BoundMirrorHandler", (MirrorHandler,), {"site": SiteTree(self.root), "api": self.api})
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
