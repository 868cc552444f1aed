"""The demo's home rules: embedded defaults whatever the settings file says; a home with other recipients
is refused before anything runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from testutil import subprocess_env, tbtwatch_cmd

from tbtwatch.demo.mirror import DEMO_API_KEY
from tbtwatch.demo.pipeline import crawl_one, demo_environment
from tbtwatch.settings import load_settings


def test_demo_environment_forces_maildir_and_embedded_index(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text(
        '[smtp]\nhost = "relay.example.org"\n[index]\nbackend = "elasticsearch"\nes_url = "https://es.example.org"\n',
        encoding="utf-8",
    )
    before = dict(os.environ)
    with demo_environment({"TBTWATCH_ALERTS__BASE_URL": "http://127.0.0.1:8123"}):
        s = load_settings(tmp_path)
        assert s.smtp.host == ""  # the sample addresses never reach a relay
        assert s.index.backend == "embedded"
        assert s.alerts.base_url == "http://127.0.0.1:8123"
        assert s.secrets.eping_api_key is not None
        assert s.secrets.eping_api_key.get_secret_value() == DEMO_API_KEY
    assert dict(os.environ) == before  # restored
    assert load_settings(tmp_path).smtp.host == "relay.example.org"


def test_home_with_other_recipients_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = subprocess_env(home)
    added = subprocess.run(
        tbtwatch_cmd(
            "recipients",
            "add",
            "--id",
            "exp-real",
            "--name",
            "Real Exporter",
            "--email",
            "real@example.com",
            "--hs",
            "9503",
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    done = subprocess.run(
        tbtwatch_cmd("demo", "--no-web"), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "exp-real" in done.stderr and "TBTWATCH_HOME=" in done.stderr
    assert not (home / "maildir").exists() and not (home / "demo").exists()


def test_a_crawl_that_cannot_start_is_a_failed_summary(tmp_path: Path) -> None:
    summary = crawl_one(load_settings(tmp_path), "nowhere", "http://127.0.0.1:9")
    assert (summary.source, summary.status, summary.errors) == ("nowhere", "failed", 1)
    assert "unknown source 'nowhere'" in summary.messages[0] and summary.seconds >= 0
    assert summary.as_dict()["status"] == "failed" and "seconds" in summary.as_dict()
