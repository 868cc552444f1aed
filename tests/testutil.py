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


def env_of_processes(marker: str) -> list[int]:
    """Pids of processes (other than this one) whose environment contains ``marker``: crawls or services
    left behind for a home (``TBTWATCH_HOME=...``)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            out.append(int(entry.name))
    return out
