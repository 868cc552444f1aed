"""Fixtures of the web tests: one home built from the real ePing workbook through the ingest path, served once.

The store, the tantivy index and the alert tables are built once per session (about 4 s) by
:func:`web_testlib.build_home`; a real uvicorn server (:class:`tbtwatch.web.server.WebServer`) serves it on a
free loopback port. Tests that change data use recipients of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_testlib import ADMIN_TOKEN, CASES, SIGNING_KEY, build_home

from tbtwatch.settings import Settings, load_settings
from tbtwatch.web.server import WebServer


@pytest.fixture(scope="session")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the real workbook ingested, SAMR translations and the test recipients."""
    return build_home(tmp_path_factory.mktemp("web") / "home")


@pytest.fixture(scope="session")
def web_settings(web_home: Path) -> Settings:
    """Settings of that home with an admin token and a signing key (from an explicit environment)."""
    return load_settings(
        web_home, environ={"TBTWATCH_ADMIN_TOKEN": ADMIN_TOKEN, "TBTWATCH_SIGNING_KEY": SIGNING_KEY}
    )


@pytest.fixture(scope="session")
def web_url(web_settings: Settings) -> Iterator[str]:
    """Base URL of a real uvicorn server on 127.0.0.1 serving the app."""
    server = WebServer(web_settings, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def client(web_url: str) -> Iterator[httpx.Client]:
    """An HTTP client with its own cookie jar."""
    with httpx.Client(base_url=web_url, timeout=30, follow_redirects=False) as c:
        yield c


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many generated cases the property tests of the web app ran."""
    if CASES:
        terminalreporter.section("web: generated cases")
        for name, n in sorted(CASES.items()):
            terminalreporter.write_line(f"{name}: {n}")
        terminalreporter.write_line(f"total web generated cases run: {sum(CASES.values())}")
