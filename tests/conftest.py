"""Shared test fixtures: paths, a temporary home directory, subprocess environment."""

from __future__ import annotations

import json
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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """How many generated (hypothesis) cases each fuzzing test ran, and the JSON summary of the service
    fault-injection tests (also saved as ``fault-summary.json`` in the session's temp folder).

    Kept here rather than in ``tests/reliability/conftest.py``: conftest modules of several test folders share
    the module name ``conftest``, and one would shadow another.
    """
    lib = sys.modules.get("reliability_testlib")
    cases = getattr(lib, "CASES", None)
    if cases:
        terminalreporter.section("generated cases (hypothesis)")
        for name, n in sorted(cases.items()):
            terminalreporter.write_line(f"{name}: {n}")
        terminalreporter.write_line(f"total generated cases run: {sum(cases.values())}")
    summary = getattr(lib, "SUMMARY", None)
    if not summary or lib is None:
        return
    failed = [
        r.nodeid for r in terminalreporter.stats.get("failed", []) if "test_reliability_service" in r.nodeid
    ]
    data = lib.session_summary(summary, failed)
    terminalreporter.section("fault injection (tbtwatch serve)")
    terminalreporter.write_line(json.dumps(data, ensure_ascii=False))
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        path = factory.getbasetemp() / "fault-summary.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        terminalreporter.write_line(f"saved in {path}")
