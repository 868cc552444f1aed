"""Shared test fixtures: paths, a temporary home directory, subprocess environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testutil import SHARED


@pytest.fixture
def shared() -> Path:
    """The ../shared reference folder; tests that need it skip with a reason when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is not beside the checkout ({SHARED} missing)")
    return SHARED


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty tbtwatch home directory, set as TBTWATCH_HOME for the test and its subprocesses."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("TBTWATCH_HOME", str(h))
    for var in list(os.environ):
        if var.startswith("TBTWATCH_") and var not in {"TBTWATCH_HOME", "TBTWATCH_ES_URL"}:
            monkeypatch.delenv(var)
    yield h
