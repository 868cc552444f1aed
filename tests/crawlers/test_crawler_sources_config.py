"""config/sources.yaml: validation with messages that name the file, the key and the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawlers.errors import SourcesError, SpiderArgumentError
from crawlers.sources import load_sources, parse_duration
from tbtwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _with(change: dict[str, Any], source: str = "wto_news") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(yaml.safe_dump(SHIPPED))
    data["sources"][source].update(change)
    return data


def test_shipped_file_loads() -> None:
    sources = load_sources(ROOT / "config")
    assert sources["eping_api"].schedule.cron == "15 */4 * * *"
    assert sources["bricspic"].schedule.every == timedelta(days=1)
    assert sources["samr_daily"].cadence == timedelta(days=4)
    assert sources["feeds"].options["feeds"][0]["region"] == "ASEAN"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"scheduel": {"interval": "1d"}},
            "unknown key 'sources.wto_news.scheduel'. Fix: remove it, or use one of:",
        ),
        ({"schedule": {"interval": "1d", "cron": "0 * * * *"}}, "give exactly one of 'interval'"),
        ({"schedule": {"cron": "61 * * * *"}}, "cron '61 * * * *' is not valid"),
        ({"schedule": {"interval": "soon"}}, "is not a duration like 30m"),
        ({"schedule": {"interval": "1d", "timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"expected_cadence": "often"}, "key 'sources.wto_news.expected_cadence' is invalid"),
        ({"base_url": "www.wto.org"}, "is not an absolute http(s) URL"),
        ({"spider": "wto_nouvelles"}, "unknown spider 'wto_nouvelles'. Fix: use one of: bricspic"),
        (
            {"options": {"yeras": [2025]}},
            "unknown key 'sources.wto_news.options.yeras'. Fix: remove it, or use one of: data_path",
        ),
        ({"options": {"years": "last"}}, "key 'sources.wto_news.options.years' is invalid"),
    ],
)
def test_bad_entries_name_file_key_and_fix(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    path = _write(tmp_path, _with(change))
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert isinstance(info.value, ConfigError)  # start-up stops on it like on any configuration error


def test_missing_keys_are_named(tmp_path: Path) -> None:
    data = _with({})
    del data["sources"]["wto_news"]["expected_cadence"]
    with pytest.raises(
        SourcesError, match=r"key 'sources.wto_news.expected_cadence' is missing. Fix: add it"
    ):
        load_sources(_write(tmp_path, data))


def test_nested_feed_option_errors_are_named(tmp_path: Path) -> None:
    data = yaml.safe_load(yaml.safe_dump(SHIPPED))
    data["sources"]["feeds"]["options"]["feeds"][0]["lang"] = "en"
    data["sources"]["feeds"]["options"]["feeds"][1]["member"] = "XYZ"
    with pytest.raises(SourcesError) as info:
        load_sources(_write(tmp_path, data))
    message = str(info.value)
    assert "unknown key 'sources.feeds.options.feeds.0.lang'" in message
    assert "language" in message  # the fix lists the feed's keys
    assert "'XYZ' is not a WTO member code" in message


def test_top_level_problems(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="unknown key 'defaults'"):
        load_sources(_write(tmp_path, {**SHIPPED, "defaults": {}}))
    with pytest.raises(SourcesError, match="'version' is invalid"):
        load_sources(_write(tmp_path, {**SHIPPED, "version": 2}))
    with pytest.raises(SourcesError, match="not valid YAML"):
        (tmp_path / "bad.yaml").write_text("sources: [unclosed", encoding="utf-8")
        load_sources(tmp_path / "bad.yaml")
    with pytest.raises(SourcesError, match="no such file"):
        load_sources(tmp_path / "missing.yaml")
    with pytest.raises(SourcesError, match=r"source name 'sources\.Bad-Name' is not valid"):
        data = yaml.safe_load(yaml.safe_dump(SHIPPED))
        data["sources"]["Bad-Name"] = data["sources"]["wto_news"]
        load_sources(_write(tmp_path, data))


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    data = _with({"scheduel": 1})
    data["sources"]["bricspic"]["options"]["max_row"] = 5
    with pytest.raises(SourcesError) as info:
        load_sources(_write(tmp_path, data))
    assert "sources.wto_news.scheduel" in str(info.value) and "sources.bricspic.options.max_row" in str(
        info.value
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        (" 1w ", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0d", "1y", "", "d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_spider_arguments_are_checked(tmp_path: Path) -> None:
    from crawlers.spiders.eping_api import EpingApiSpider
    from crawlers.spiders.wto_news import WtoNewsSpider

    sources = ROOT / "config" / "sources.yaml"
    spider = WtoNewsSpider(sources_file=str(sources), years="2013,2014", since="2013-05-01")
    assert spider.options.years == [2013, 2014]
    assert spider.allowed_domains == ["www.wto.org"]
    mirror = WtoNewsSpider(sources_file=str(sources), base_url="http://127.0.0.1:8765/")
    assert mirror.base_url == "http://127.0.0.1:8765" and mirror.allowed_domains == ["127.0.0.1"]
    assert EpingApiSpider(sources_file=str(sources), domains="sps").options.domains == ["sps"]
    with pytest.raises(
        SpiderArgumentError, match=r"has no argument 'yeers'. Fix: use base_url, since, source"
    ):
        WtoNewsSpider(sources_file=str(sources), yeers="2013")
    with pytest.raises(SpiderArgumentError, match=r"since='01/06/2025' is not a date. Fix: give YYYY-MM-DD"):
        WtoNewsSpider(sources_file=str(sources), since="01/06/2025")
    with pytest.raises(SpiderArgumentError, match="base_url"):
        WtoNewsSpider(sources_file=str(sources), base_url="ftp://example.org")
    with pytest.raises(SpiderArgumentError, match="invalid options"):
        EpingApiSpider(sources_file=str(sources), window_days="0")
    with pytest.raises(SpiderArgumentError, match="crawled by spider 'yidaiyilu', not 'wto_news'"):
        WtoNewsSpider(sources_file=str(sources), source="yidaiyilu")
    with pytest.raises(SpiderArgumentError, match=r"source 'nowhere' is not in sources.yaml"):
        WtoNewsSpider(sources_file=str(sources), source="nowhere")
