"""The demo pipeline: mirror up, sample recipients in, every source crawled, digests out.

Each step uses the production path: crawls are ``crawlers.runner.run_crawl`` subprocesses (the same as
``tbtwatch crawl``) writing through the ingest path (classify, index, match alerts); recipients are imported
with :meth:`AlertsRepository.import_recipients` (``tbtwatch recipients import``); digests are built and
delivered by :func:`alerts.service.run_digests` (``tbtwatch digest run``). Only three things are the demo's
own: the sites are a local mirror, politeness is relaxed for that loopback mirror only (robots.txt is still
read and obeyed), and the digest clock is fixed at :data:`DEMO_NOW`, the morning after the newest bundled
notification, so the notices are fresh and open for comment.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tbtwatch.demo.mirror import DEMO_API_KEY, SITE_DIR, Mirror
from tbtwatch.errors import TbtwatchError
from tbtwatch.settings import SECRET_ENV, Settings

if TYPE_CHECKING:
    from crawlers.runner import CrawlSummary

log = logging.getLogger(__name__)

#: The digest clock: 09:00 in Shanghai the day after the newest notification in the bundled fixtures.
DEMO_NOW = datetime(2025, 6, 13, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
#: The sample recipients (a warning point for toys / Yiwu small commodities, an HS 8516 exporter).
RECIPIENTS_FILE = Path(__file__).resolve().parent / "recipients.yaml"
#: Every source of the bundled config/sources.yaml, in start order. samr_daily goes first: its Chinese
#: titles must be in the store before the ePing notices they translate are indexed.
SOURCES = ("samr_daily", "wto_news", "eping_api", "eping_workbook", "yidaiyilu", "bricspic", "feeds")
#: Sources that start only once these others have finished.
AFTER: dict[str, tuple[str, ...]] = {"eping_api": ("samr_daily",), "eping_workbook": ("samr_daily",)}
#: Spider arguments that keep each crawl on what the mirror holds (otherwise the shipped options apply).
SOURCE_ARGS: dict[str, dict[str, Any]] = {
    "wto_news": {"spider_args": {"years": "2013"}},
    "eping_api": {"since": "2025-06-01", "spider_args": {"until": "2025-06-30"}},
}
#: Politeness for the loopback mirror only (Scrapy -s overrides of this run; the production defaults and
#: every site's robots.txt rules stay as they are).
LOOPBACK_SCRAPY_SETTINGS: dict[str, str] = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "RETRY_BACKOFF_BASE": "0.05",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "4",
}
#: Crawls run in parallel subprocesses, one per core of a small machine.
WORKERS = 2
#: A crawl of the mirror that takes longer than this has hung.
CRAWL_TIMEOUT_SECONDS = 120
STATE_FILE = "demo/state.json"
#: Settings the demo always runs with, whatever the home's tbtwatch.toml says: mail goes to the maildir
#: (never to a relay: the sample addresses are not real) and the index is the embedded one in the home.
EMBEDDED_DEFAULTS = {"TBTWATCH_SMTP__HOST": "", "TBTWATCH_INDEX__BACKEND": "embedded"}


class DemoError(TbtwatchError):
    """The demo cannot run in this home."""


@dataclass
class PipelineResult:
    """Everything the pipeline did, for the report."""

    mirror_url: str
    now: datetime
    recipients: dict[str, int]
    sources: list[CrawlSummary]
    digests: dict[str, Any]
    phases: dict[str, float]


class Phases:
    """Wall time per phase: ``with phases("crawl"): ...``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


@contextmanager
def demo_environment(extra: dict[str, str] | None = None) -> Iterator[None]:
    """The demo's ePing key (and ``extra`` variables) in this process's environment, which the crawl
    subprocesses inherit; the previous values come back afterwards."""
    wanted = {SECRET_ENV["eping_api_key"]: DEMO_API_KEY, **EMBEDDED_DEFAULTS, **(extra or {})}
    before = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def saved_mirror_port(home: Path) -> int:
    """The mirror port of the last demo run (0: none). News items are identified by their URL, which
    holds the port: serving the mirror on the same port again keeps a rerun from finding them anew."""
    try:
        data = json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
        port = int(data.get("mirror_port", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0
    return port if 1024 <= port < 65536 else 0


def save_mirror_port(home: Path, port: int) -> None:
    """Remember the mirror port for the next run."""
    path = home / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mirror_port": port}) + "\n", encoding="utf-8")


def start_mirror(settings: Settings) -> Mirror:
    """The mirror, started on the port of the last run when it is free."""
    mirror = Mirror(SITE_DIR, port=saved_mirror_port(settings.home)).start()
    if mirror.fell_back:
        log.warning("the last mirror port is taken: news items will be stored again under new URLs")
    save_mirror_port(settings.home, mirror.port)
    return mirror


def demo_recipient_keys() -> set[str]:
    """Ids of the sample recipients."""
    import yaml

    data = yaml.safe_load(RECIPIENTS_FILE.read_text(encoding="utf-8"))
    return {str(r["id"]) for r in data["recipients"]}


def check_home(settings: Settings) -> None:
    """Refuse a home that holds recipients of its own: the demo's notices would be matched and sent to them.
    An empty home, or one the demo made, is fine."""
    if not settings.store_path.exists():
        return
    from alerts.repository import AlertsRepository
    from tbtwatch.store import Store

    with Store.open(settings.store_path) as store:
        keys = {r.key for r in AlertsRepository(store).list_recipients()}
    others = sorted(keys - demo_recipient_keys())
    if others:
        shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
        raise DemoError(
            f"{settings.home} 已有其他收件人 has recipients of its own ({shown}); the demo would alert them. "
            "Fix: run the demo in its own home, e.g. TBTWATCH_HOME=/tmp/tbtwatch-demo tbtwatch demo."
        )


def import_recipients(settings: Settings) -> dict[str, int]:
    """Create or update the sample recipients (by id: a rerun leaves them unchanged)."""
    from alerts.clusters import cluster_names
    from alerts.recipients import load_recipients_file
    from alerts.repository import AlertsRepository
    from tbtwatch.store import Store

    recipients = load_recipients_file(RECIPIENTS_FILE, known_clusters=set(cluster_names(settings.config_dir)))
    with Store.open(settings.store_path) as store:
        return AlertsRepository(store).import_recipients(recipients)


def crawl_one(settings: Settings, source: str, base_url: str) -> CrawlSummary:
    """Crawl one source of the mirror through ``run_crawl``; a failure becomes a failed summary."""
    from crawlers.runner import CrawlSummary, run_crawl
    from tbtwatch.errors import TbtwatchError

    start = time.perf_counter()
    try:
        return run_crawl(
            source,
            settings,
            base_url=base_url,
            scrapy_settings=LOOPBACK_SCRAPY_SETTINGS,
            timeout=CRAWL_TIMEOUT_SECONDS,
            **SOURCE_ARGS.get(source, {}),
        )
    except TbtwatchError as exc:
        log.error("crawl of %s failed: %s", source, exc)
        return CrawlSummary(
            source, errors=1, status="failed", seconds=time.perf_counter() - start, messages=[str(exc)]
        )


def crawl_all(
    settings: Settings,
    base_url: str,
    *,
    workers: int = WORKERS,
    on_done: Callable[[CrawlSummary], None] | None = None,
) -> list[CrawlSummary]:
    """Crawl every source, ``workers`` at a time, each after the sources it waits for (:data:`AFTER`)."""
    waiting = list(SOURCES)
    done: dict[str, CrawlSummary] = {}
    running: dict[Future[CrawlSummary], str] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-crawl") as pool:
        while waiting or running:
            for source in list(waiting):
                if len(running) >= workers:
                    break
                if all(dep in done for dep in AFTER.get(source, ())):
                    waiting.remove(source)
                    running[pool.submit(crawl_one, settings, source, base_url)] = source
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                result = future.result()
                done[running.pop(future)] = result
                if on_done is not None:
                    on_done(result)
    return [done[s] for s in SOURCES]


def send_digests(settings: Settings, now: datetime) -> dict[str, Any]:
    """Build the daily digests due at ``now``, queue and deliver them (``tbtwatch digest run``)."""
    from alerts.recipients import Frequency
    from alerts.service import run_digests
    from tbtwatch.store import Store

    with Store.open(settings.store_path) as store:
        return run_digests(settings, store, frequency=Frequency.DAILY, now=now).as_dict()


def run_pipeline(
    settings: Settings,
    mirror: Mirror,
    *,
    now: datetime = DEMO_NOW,
    workers: int = WORKERS,
    on_done: Callable[[CrawlSummary], None] | None = None,
) -> PipelineResult:
    """Recipients, crawls and digests against a started mirror, timed per phase."""
    phases = Phases()
    with phases("recipients"):
        recipients = import_recipients(settings)
    with phases("crawl"):
        sources = crawl_all(settings, mirror.url, workers=workers, on_done=on_done)
    with phases("digest"):
        digests = send_digests(settings, now)
    return PipelineResult(mirror.url, now, recipients, sources, digests, phases.seconds)
