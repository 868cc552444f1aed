"""Helpers shared by tests of every package (importable as ``testutil``; pytest puts tests/ on the path)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = REPO.parent / "shared"


def subprocess_env(home: Path | None = None) -> dict[str, str]:
    """Environment for running ``python -m tbtwatch`` from the checkout in a subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PYTHONIOENCODING"] = "utf-8"
    if home is not None:
        env["TBTWATCH_HOME"] = str(home)
    return env


def tbtwatch_cmd(*args: str) -> list[str]:
    """Command line for the CLI in a subprocess."""
    return [sys.executable, "-m", "tbtwatch", *args]
