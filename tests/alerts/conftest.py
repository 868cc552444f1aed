"""Fixtures of the alerts tests: a home directory with settings, a real store, real notices, SMTP servers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alerts_testlib import (
    FIXTURES,
    SIGNING_KEY,
    Certificate,
    Handler,
    SmtpServer,
    free_port,
    make_certificate,
    write_settings,
)

from alerts.repository import AlertsRepository
from tbtwatch.models import Notice
from tbtwatch.settings import Settings, load_settings
from tbtwatch.store import Store


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def make_settings(home: Path) -> Callable[..., Settings]:
    """Settings of ``home`` with the given sections; ``env`` adds or (with None) removes variables."""

    def make(sections: dict[str, dict[str, Any]] | None = None, **env: str | None) -> Settings:
        write_settings(home, sections or {})
        environ = {"TBTWATCH_SIGNING_KEY": SIGNING_KEY}
        for k, v in env.items():
            if v is None:
                environ.pop(k, None)
            else:
                environ[k] = v
        return load_settings(home, environ=environ)

    return make


BASE_SECTIONS: dict[str, dict[str, Any]] = {
    "alerts": {"base_url": "https://tbt.example.cn", "from_address": "alerts@tbt.example.cn"}
}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Default settings: maildir delivery, an https base URL, the signing key set."""
    return make_settings(BASE_SECTIONS)


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    """A real SQLite store in the home directory."""
    s = Store.open(home / "tbtwatch.sqlite3")
    yield s
    s.close()


@pytest.fixture
def repo(store: Store) -> AlertsRepository:
    """The alerts repository over the store."""
    return AlertsRepository(store)


@pytest.fixture(scope="session")
def eping_notices() -> dict[str, Notice]:
    """Real notices from the shared ePing workbook, by id."""
    rows = json.loads((FIXTURES / "eping_notices.json").read_text(encoding="utf-8"))
    return {r["id"]: Notice.model_validate(r) for r in rows}


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Factory of running aiosmtpd servers on 127.0.0.1, stopped at the end of the test."""
    servers: list[SmtpServer] = []

    def start(handler: Handler | None = None, port: int | None = None, **kwargs: Any) -> SmtpServer:
        server = SmtpServer(handler or Handler(), port or free_port(), **kwargs).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made once per session."""
    return make_certificate(tmp_path_factory.mktemp("tls"))
