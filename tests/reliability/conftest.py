"""Reliability tests: prints how many generated (hypothesis) cases ran, per test, and the JSON summary of the
fault-injection tests of the service (also saved as ``fault-summary.json`` in the session's temp folder)."""

from __future__ import annotations

import json

import pytest
from reliability_testlib import CASES, SUMMARY, session_summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """One line per fuzzing test and the total of generated cases run; the fault-injection summary."""
    if CASES:
        terminalreporter.section("generated cases (hypothesis)")
        for name, n in sorted(CASES.items()):
            terminalreporter.write_line(f"{name}: {n}")
        terminalreporter.write_line(f"total generated cases run: {sum(CASES.values())}")
    if not SUMMARY:
        return
    failed = [
        r.nodeid for r in terminalreporter.stats.get("failed", []) if "test_reliability_service" in r.nodeid
    ]
    data = session_summary(SUMMARY, failed)
    terminalreporter.section("fault injection (tbtwatch serve)")
    terminalreporter.write_line(json.dumps(data, ensure_ascii=False))
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        path = factory.getbasetemp() / "fault-summary.json"
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        terminalreporter.write_line(f"saved in {path}")
