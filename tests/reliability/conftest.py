"""Reliability tests: prints how many generated (hypothesis) cases ran, per test, in the summary."""

from __future__ import annotations

import pytest
from reliability_testlib import CASES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per fuzzing test and the total of generated cases run."""
    if not CASES:
        return
    terminalreporter.section("generated cases (hypothesis)")
    for name, n in sorted(CASES.items()):
        terminalreporter.write_line(f"{name}: {n}")
    terminalreporter.write_line(f"total generated cases run: {sum(CASES.values())}")
