"""Fixtures of the crawler tests: the mirror server on 127.0.0.1 and a crawl helper with test-only politeness.

Crawls run exactly as in production (``crawlers.runner.run_crawl``: a ``scrapy crawl`` subprocess writing to a
SQLite store in ``tmp_path``); only the delays are lowered, through Scrapy ``-s`` overrides and the
``TBTWATCH_CRAWL__MIN_DELAY_SECONDS`` variable, never in the production defaults.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "crawlers"
API_KEY = "test-key-not-a-secret"
sys.path.insert(0, str(HERE))

from crawl_mockserver import API_ITEMS, MIRROR_LAYERS, MockServer  # noqa: E402

#: Politeness for tests only: no delays, short backoff, a few parallel requests to the local server.
TEST_SCRAPY_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "RETRY_BACKOFF_BASE": "0.05",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
}


@pytest.fixture(scope="session")
def mirror() -> Iterator[MockServer]:
    """The mirror server (a subprocess): the test overlay on the demo's site, with the ePing API over the
    constructed items, pages of 10."""
    server = MockServer(MIRROR_LAYERS, eping_items=API_ITEMS, api_key=API_KEY, max_page_size=10)
    with server:
        yield server


@pytest.fixture
def crawl_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh tbtwatch home with test politeness and the test API key; returns the home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TBTWATCH_HOME", str(home))
    monkeypatch.setenv("TBTWATCH_CRAWL__MIN_DELAY_SECONDS", "0")
    monkeypatch.setenv("TBTWATCH_EPING_API_KEY", API_KEY)
    monkeypatch.delenv("TBTWATCH_CONFIG_DIR", raising=False)
    return home


@pytest.fixture
def faults_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crawl_env: Path) -> Path:
    """A config folder with the shipped files and sources.yaml plus the fault sources."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    faults = yaml.safe_load((FIXTURES / "faults_sources.yaml").read_text(encoding="utf-8"))
    shipped["sources"].update(faults["sources"])
    (config / "sources.yaml").write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("TBTWATCH_CONFIG_DIR", str(config))
    return config


@pytest.fixture
def crawl(mirror: MockServer, crawl_env: Path) -> Callable[..., Any]:
    """``crawl(source, **kwargs)`` against the mirror; returns the CrawlSummary."""
    from crawlers.runner import run_crawl
    from tbtwatch.settings import load_settings

    def run(source: str, *, settings: dict[str, str] | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", mirror.url)
        kwargs.setdefault("timeout", 120)
        return run_crawl(
            source, load_settings(), scrapy_settings={**TEST_SCRAPY_SETTINGS, **(settings or {})}, **kwargs
        )

    return run
