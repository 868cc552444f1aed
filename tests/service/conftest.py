"""Fixtures of the service tests: the crawler mirror on 127.0.0.1 and a service home with its config folder
(the :class:`~service_helpers.Service` helpers live in ``service_helpers.py``, imported by name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import MIRROR_LAYERS, MockServer, Service


@pytest.fixture(scope="session")
def mirror() -> Iterator[MockServer]:
    """The crawler tests' mirror of every source (a subprocess on 127.0.0.1)."""
    server = MockServer(MIRROR_LAYERS)
    with server:
        yield server


@pytest.fixture
def service(tmp_path: Path, mirror: MockServer) -> Iterator[Service]:
    """A service home and config folder (not started)."""
    svc = Service(tmp_path, mirror)
    try:
        yield svc
    finally:
        svc.close()
