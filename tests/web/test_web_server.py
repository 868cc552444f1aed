"""The web server starts on a free loopback port and answers /healthz."""

from __future__ import annotations

import socket
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


def test_web_server_serves_on_a_socket_bound_beforehand(home: Path) -> None:
    """The port is known before the app starts (``tbtwatch demo --port 0`` renders digests first)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = WebServer(load_settings(home), host="127.0.0.1", sock=sock)
    assert server.port == port
    try:
        server.start()
        assert server.url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
        sock.close()
    with socket.socket() as again:  # the port is free again once stopped
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
