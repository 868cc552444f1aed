"""The web server starts on a free loopback port and answers /healthz."""

from __future__ import annotations

from pathlib import Path

import httpx

from tbtwatch.settings import load_settings
from tbtwatch.web.server import WebServer


def test_web_server_starts_and_stops(home: Path) -> None:
    server = WebServer(load_settings(home), host="127.0.0.1", port=0)
    server.start()
    try:
        response = httpx.get(f"{server.url}/healthz", timeout=5)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    finally:
        server.stop()
