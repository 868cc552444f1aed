"""Run the web app with uvicorn in a background thread, with a clean start and stop."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from tbtwatch.errors import TbtwatchError
from tbtwatch.settings import Settings
from tbtwatch.web.app import create_app


class WebServer:
    """uvicorn serving :func:`create_app` on ``host:port`` (port 0 picks a free port), or on ``sock``: a
    socket bound beforehand, when the real port must be known before the app starts (``tbtwatch demo --port
    0`` writes it into the digests' links first)."""

    def __init__(
        self,
        settings: Settings,
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        self.host = host if host is not None else settings.file.web.host
        self.port = port if port is not None else settings.file.web.port
        self._sockets = [sock] if sock is not None else None
        if sock is not None:
            self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(settings), host=self.host, port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL once started (the real port when 0 was asked for)."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start serving in a daemon thread; return once the socket listens."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": self._sockets}, name="tbtwatch-web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise TbtwatchError(
                    f"web app could not listen on {self.host}:{self.port} (port in use?); "
                    "set web.port or pass --port"
                )
            time.sleep(0.02)
        for server in self._server.servers:
            for sock in server.sockets:
                self.port = int(sock.getsockname()[1])
                break

    def serve_forever(self) -> None:
        """Block until stopped (SIGINT/SIGTERM are handled by uvicorn when run in the main thread)."""
        self._server.run()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
