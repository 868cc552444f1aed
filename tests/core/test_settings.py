"""Settings: defaults, file, environment, secrets, and start-up errors that name file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from testutil import REPO

from tbtwatch.errors import ConfigError
from tbtwatch.settings import documented_settings, load_settings


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path, environ={})
    assert s.source is None
    assert s.store_path == tmp_path / "tbtwatch.sqlite3"
    assert s.smtp.host == "" and s.index.backend == "embedded"
    assert s.config_dir == REPO / "config"


def test_file_and_environment_override_in_order(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text(
        '[smtp]\nhost = "relay.example.org"\nport = 25\n', encoding="utf-8"
    )
    s = load_settings(
        tmp_path, environ={"TBTWATCH_SMTP__PORT": "2525", "TBTWATCH_ES_URL": "http://127.0.0.1:9200"}
    )
    assert (s.smtp.host, s.smtp.port, s.index.es_url) == ("relay.example.org", 2525, "http://127.0.0.1:9200")


def test_unknown_key_names_file_key_and_fix(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text("[smtp]\nhots = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    msg = str(info.value)
    assert str(tmp_path / "tbtwatch.toml") in msg and "smtp.hots" in msg and "host" in msg and "Fix" in msg


def test_unknown_section_and_wrong_type(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text("[smtpp]\nhost='x'\n[web]\nport = 'eighty'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={})
    msg = str(info.value)
    assert "unknown key 'smtpp'" in msg and "web.port" in msg and "'eighty'" in msg


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text("[smtp\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path, environ={})


def test_secrets_only_from_environment_and_masked(tmp_path: Path) -> None:
    (tmp_path / "tbtwatch.toml").write_text("[smtp]\npassword = 'hunter2'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TBTWATCH_SMTP_PASSWORD"):
        load_settings(tmp_path, environ={})
    (tmp_path / "tbtwatch.toml").unlink()
    s = load_settings(tmp_path, environ={"TBTWATCH_SMTP_PASSWORD": "hunter2"})
    assert s.secrets.smtp_password is not None
    assert s.secrets.smtp_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s.secrets) and "hunter2" not in str(s.secrets)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("TBTWATCH_NOPE__X", "1", "unknown section 'nope'"),
        ("TBTWATCH_SMTP__NOPE", "1", "unknown key 'smtp.nope'"),
        ("TBTWATCH_SMTP__PORT", "abc", "TBTWATCH_SMTP__PORT='abc' is not valid"),
        ("TBTWATCH_CRAWL__HTTP_CACHE", "maybe", "expected true or false"),
    ],
)
def test_bad_environment_overrides(tmp_path: Path, var: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, environ={var: value})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [key for key, _, _ in documented_settings() if f"`{key}`" not in readme]
    assert not missing, f"README.md lacks these settings: {missing}"
