"""Helpers of the reliability tests: a count of the generated cases run (printed by tests/conftest.py), and
hostile text strategies."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

#: test name -> generated cases run (printed in the pytest summary by tests/conftest.py)
CASES: Counter[str] = Counter()

#: Hypothesis settings of the fuzzing tests: enough cases to find the usual breakage, fast enough for CI.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


#: test name -> JSON summary of a fault-injection test of the service (printed and saved by conftest.py)
SUMMARY: dict[str, dict[str, Any]] = {}


def count(name: str) -> None:
    """Count one generated case of test ``name``."""
    CASES[name] += 1


#: Pieces that break naive code: header injection, HTML and script, entities, control and line-break
#: characters, bidi overrides, surrogate-free astral characters, SQL and template syntax, huge numbers.
HOSTILE_PIECES = [
    "\r\nBcc: victim@evil.example",
    "\nCc: other@evil.example\n\n",
    "\r\n\r\n<html>",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "&amp;&lt;&#0;&#x110000;&bogus;",
    "\x00",
    "\x1b[31m",
    "\u2028\u2029\x85\x0b\x0c",
    "\u202e\u200b\ufeff",
    "𠀀𝄞🙂",
    "'; DROP TABLE notices; --",
    "{{ 7*7 }}{% raw %}",
    "%s%n%(x)s",
    '=HYPERLINK("javascript:1")',
    "9" * 400,
    "G/TBT/N/EU/1050/Add.1/Rev.2/Corr.3",
    "玩具\r\n标题",
    " ",
    "",
]

HOSTILE_TEXT = st.one_of(
    st.sampled_from(HOSTILE_PIECES),
    st.text(max_size=80),
    st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=10), max_size=5).map("".join),
)


def session_summary(parts: dict[str, dict[str, Any]], failed_tests: list[str]) -> dict[str, Any]:
    """The totals over the tests (runs, kills, pairs expected/delivered/duplicated, failures: the failed
    tests and what each test noted) and each test's own figures."""
    pairs = {"expected": 0, "delivered": 0, "duplicated": 0, "missing": 0}
    for part in parts.values():
        for key in pairs:
            pairs[key] += int(part.get("pairs", {}).get(key, 0))
    return {
        "runs": sum(int(p.get("runs", 0)) for p in parts.values()),
        "kills": sum(int(p.get("kills", 0)) for p in parts.values()),
        "pairs": pairs,
        "failures": failed_tests
        + [f"{name}: {f}" for name, p in parts.items() for f in p.get("failures", [])],
        "tests": parts,
    }
