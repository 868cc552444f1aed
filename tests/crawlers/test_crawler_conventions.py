"""Conventions every spider and setting must follow (Kingfisher Collect style checks)."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from scrapy.settings import default_settings
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from crawlers import settings as crawler_settings
from crawlers.base import BaseSpider
from crawlers.sources import load_sources
from crawlers.spiders import registry

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["Source", "Arguments", "Caveats"]
SPIDERS = sorted(registry())


def _sections(doc: str) -> dict[str, str]:
    """Top-level sections of a docstring: a line with only the section name, body indented below it."""
    text = inspect.cleandoc(doc)
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line in SECTIONS:
            current = line
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


@pytest.mark.parametrize("name", SPIDERS)
def test_docstring_has_source_arguments_caveats(name: str) -> None:
    spider = registry()[name]
    doc = spider.__doc__ or ""
    order = [line for line in inspect.cleandoc(doc).splitlines() if line in SECTIONS]
    assert order == SECTIONS, f"{name}: docstring sections must be exactly {SECTIONS} in order, got {order}"
    sections = _sections(doc)
    for section in SECTIONS:
        assert sections[section].strip(), f"{name}: section {section} is empty"
    documented = set(re.findall(r"^  (\w+)$", sections["Arguments"], re.MULTILINE))
    expected = {"base_url", "since", *spider.Options.model_fields}
    assert documented == expected, (
        f"{name}: Arguments documents {sorted(documented)}, expected {sorted(expected)}"
    )


@pytest.mark.parametrize("name", SPIDERS)
def test_module_is_named_after_spider(name: str) -> None:
    spider = registry()[name]
    assert spider.__module__ == f"crawlers.spiders.{name}"
    assert issubclass(spider, BaseSpider)
    assert spider.Options.model_config.get("extra") == "forbid", "unknown options must be refused"


def test_registry_matches_scrapy_spider_loader() -> None:
    loader = SpiderLoader.from_settings(get_project_settings())
    assert sorted(loader.list()) == SPIDERS


def test_every_spider_has_a_source_and_every_source_is_valid() -> None:
    sources = load_sources(ROOT / "config" / "sources.yaml")
    assert {s.spider for s in sources.values()} == set(SPIDERS)
    for name, source in sources.items():
        assert source.schedule.timezone == "Asia/Shanghai", name
        assert source.cadence.total_seconds() > 0


def test_every_non_default_setting_says_why() -> None:
    tree = ast.parse(Path(crawler_settings.__file__).read_text(encoding="utf-8"))
    lines = Path(crawler_settings.__file__).read_text(encoding="utf-8").splitlines()
    missing = []
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
        ):
            continue
        name = node.targets[0].id
        if not name.isupper():
            continue
        value = getattr(crawler_settings, name)
        if hasattr(default_settings, name) and getattr(default_settings, name) == value:
            continue
        above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
        if not above.startswith("#"):
            missing.append(name)
    assert not missing, f"settings without a one-line reason above them: {missing}"


def test_production_politeness() -> None:
    s = get_project_settings()
    assert s.getbool("ROBOTSTXT_OBEY")
    assert s.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 1
    assert s.getbool("AUTOTHROTTLE_ENABLED")
    assert s.getfloat("GOVERNMENT_MIN_DELAY") >= 2.0
    assert s.getfloat("DOWNLOAD_DELAY") >= 1.0
    assert not s.getbool("HTTPCACHE_ENABLED")
    assert re.fullmatch(r"tbtwatch/\S+ \(\+https?://\S+\)", s["USER_AGENT"]), s["USER_AGENT"]
    assert s.getint("DOWNLOAD_MAXSIZE") > 0 and s.getint("DOWNLOAD_TIMEOUT") > 0
    assert s.getint("RETRY_TIMES") >= 2 and s.getfloat("RETRY_BACKOFF_BASE") > 0
    assert not s.getbool("REMOTE_CONTROL_ENABLED")
