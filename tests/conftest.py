"""Shared test fixtures: paths, a temporary home directory, subprocess environment."""

from __future__ import annotations

import os
import sys
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """After the reliability tests: how many generated (hypothesis) cases each fuzzing test ran, and the total.

    Kept here rather than in ``tests/reliability/conftest.py``: tests import ``conftest`` by name, and a later
    conftest module would shadow the one they mean.
    """
    lib = sys.modules.get("reliability_testlib")
    cases = getattr(lib, "CASES", None)
    if not cases:
        return
    terminalreporter.section("generated cases (hypothesis)")
    for name, n in sorted(cases.items()):
        terminalreporter.write_line(f"{name}: {n}")
    terminalreporter.write_line(f"total generated cases run: {sum(cases.values())}")
