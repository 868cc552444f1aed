"""Helpers of the service tests, imported by name (``from service_helpers import Service``) rather than from
``conftest`` (several test folders have a ``conftest.py``; which one ``import conftest`` finds depends on the
collection order): :class:`Service` runs ``tbtwatch serve`` as a real process with a temporary home and
test-sized intervals and timeouts (settings environment overrides)."""

from __future__ import annotations

import email
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from testutil import REPO, subprocess_env, tbtwatch_cmd

sys.path.insert(0, str(REPO / "tests" / "crawlers"))

from crawl_mockserver import MIRROR_LAYERS, MockServer  # noqa: F401  (MIRROR_LAYERS: for the conftest)

OPERATOR = "ops@example.org"
#: Test-sized politeness and limits; never the production defaults.
TEST_ENV = {
    "TBTWATCH_CRAWL__MIN_DELAY_SECONDS": "0",
    "TBTWATCH_CRAWL__STOP_GRACE_SECONDS": "2",
    "TBTWATCH_SCHEDULER__FAILURES_BEFORE_ALARM": "2",
    "TBTWATCH_SCHEDULER__SHUTDOWN_GRACE_SECONDS": "10",
    "TBTWATCH_ALERTS__OPERATOR_EMAIL": OPERATOR,
    "TBTWATCH_GENERAL__LOG_LEVEL": "INFO",
}


class Service:
    """``tbtwatch serve`` in a subprocess, with its home, config folder and log."""

    def __init__(self, tmp: Path, mirror: MockServer) -> None:
        self.home = tmp / "home"
        self.config = tmp / "config"
        self.log = tmp / "serve.log"
        self.mirror = mirror
        self.proc: subprocess.Popen[bytes] | None = None
        self.home.mkdir(exist_ok=True)
        shutil.copytree(REPO / "config", self.config, dirs_exist_ok=True)

    def write_sources(self, sources: dict[str, dict[str, Any]]) -> None:
        """Replace sources.yaml; ``{mirror}`` in a string is the mirror's URL."""
        text = yaml.safe_dump({"version": 1, "sources": sources}, allow_unicode=True, sort_keys=False)
        (self.config / "sources.yaml").write_text(text.replace("{mirror}", self.mirror.url), encoding="utf-8")

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Environment of a tbtwatch subprocess on this home and config."""
        env = subprocess_env(self.home)
        for var in list(env):
            if var.startswith("TBTWATCH_") and var not in {"TBTWATCH_HOME"}:
                del env[var]
        env["TBTWATCH_HOME"] = str(self.home)
        env["TBTWATCH_CONFIG_DIR"] = str(self.config)
        env.update(TEST_ENV)
        env.update(extra or {})
        return env

    def start(self, *args: str, extra: dict[str, str] | None = None) -> None:
        """Start ``tbtwatch serve ARGS``; its stderr is appended to :attr:`log`."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                tbtwatch_cmd("serve", *args), env=self.env(extra), stdout=out, stderr=out, cwd=REPO
            )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``signum`` and wait for the exit status."""
        assert self.proc is not None
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def cli(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``tbtwatch ARGS`` on this home (``extra``: more environment overrides)."""
        return subprocess.run(
            tbtwatch_cmd(*args), env=self.env(extra), capture_output=True, text=True, timeout=120, cwd=REPO
        )

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
        """Poll ``check`` until it returns something truthy; fail with the service log otherwise."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"serve exited ({self.proc.returncode}) waiting for {what}:\n{self.read_log()}")
            result = check()
            if result:
                return result
            time.sleep(0.3)
        pytest.fail(f"timed out waiting for {what}:\n{self.read_log()[-6000:]}")

    def read_log(self) -> str:
        """The service's log so far."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def mails(self) -> list[EmailMessage]:
        """Messages delivered to the maildir."""
        folder = self.home / "maildir" / "new"
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.iterdir()):
            msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def close(self) -> None:
        """Kill the service if a test left it running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
