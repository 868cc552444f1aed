"""Fault injection into the real service (issue 8, items 1-3): ``tbtwatch serve`` as a subprocess on a test home,
against the crawler mirror (tests/crawlers/crawl_mockserver.py, with its ePing API serving synthetic notices)
and a real aiosmtpd relay on 127.0.0.1 (``smtp.security = none``).

1. SIGKILL of ``serve --once`` (crawl -> ingest -> match -> send) at seeded random points: when the store has
   grown by a random number of notices, when the relay has taken a random number of messages, or at a random
   time. Half the kills hit the service only (its crawl runs in its own session and lives on, as after an OOM
   kill), half every process of the home, the crawl too (power loss, systemd's control-group kill).
   After a restart and one more full cycle: every expected (recipient, notice) pair arrived, every served
   notice is in the store and the index, duplicates only inside messages in flight at a kill, the store
   passes ``PRAGMA integrity_check`` and no crawl process is left.
2. The relay is down for several cycles, then returns: every digest arrives exactly once.
3. ``serve`` with the web app: one source answers 500, another hangs past its run timeout; the other sources,
   the digests and the web app (/healthz, /api/search) carry on, and the operator alarm fires once per
   episode of each failing source.

Kill count: ``TBTWATCH_FAULT_RUNS`` (default 5, to keep the suite near 4 minutes on a loaded 2-core machine: a
crawl through the service takes 10 s or more, as its politeness delays cannot be lowered below 5 s from outside;
20 kills take about 6 minutes), seed ``TBTWATCH_FAULT_SEED``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen
from zoneinfo import ZoneInfo

import pytest
from testutil import REPO, env_of_processes

sys.path[:0] = [
    str(REPO / "tests" / "crawlers"),
    str(REPO / "tests" / "alerts"),
    str(REPO / "tests" / "service"),
]

from alerts_testlib import Handler, SmtpServer, free_port  # noqa: E402
from crawl_mockserver import MIRROR_LAYERS, OVERLAY, MockServer  # noqa: E402
from reliability_testlib import SUMMARY  # noqa: E402
from service_faultlib import (  # noqa: E402
    API_KEY,
    FIRST_DAY,
    ITEMS,
    account,
    eping_source,
    expected_pairs,
    last_digest_minute,
    pair_figures,
    served,
    smtp_env,
    store_state,
)
from service_helpers import Service  # noqa: E402
from test_reliability_sigkill import _recipients_file as recipients_yaml  # noqa: E402  (same exporters)
from test_reliability_sigkill import stored_count  # noqa: E402

from tbtwatch.store import Store  # noqa: E402


@contextlib.contextmanager
def _service_with_exporters(tmp_path: Path, layers: tuple[Path, ...] = MIRROR_LAYERS) -> Iterator[Service]:
    """The mirror serving the synthetic ePing items, a service home on it with the fault exporters imported;
    the service is killed on the way out if a test left it running."""
    server = MockServer(layers, eping_synthetic=ITEMS, api_key=API_KEY)
    with server:
        svc = Service(tmp_path, server)
        try:
            recipients_yaml(tmp_path / "recipients.yaml")
            done = svc.cli("recipients", "import", str(tmp_path / "recipients.yaml"))
            assert done.returncode == 0, done.stderr
            yield svc
        finally:
            svc.close()


SEED = int(os.environ.get("TBTWATCH_FAULT_SEED", "8"))
KILLS = int(os.environ.get("TBTWATCH_FAULT_RUNS", "5"))
DAYS_PER_RUN = 10
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _outbox(home: Path) -> list[tuple[str, str, int]]:
    """(Message-ID, status, attempts) of every outbox message."""
    conn = sqlite3.connect(f"file:{home / 'tbtwatch.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        return [
            (str(r[0]), str(r[1]), int(r[2]))
            for r in conn.execute("SELECT message_id, status, attempts FROM outbox")
        ]
    finally:
        conn.close()


def _cycle(svc: Any, extra: dict[str, str], summary: dict[str, Any]) -> None:
    """One ``serve --once`` cycle to its end; a non-zero exit is noted as a failure."""
    summary["runs"] += 1
    svc.start("--once", "--json", extra=extra)
    assert svc.proc is not None
    code = svc.proc.wait(180)
    svc.proc = None
    if code != 0:
        summary["failures"].append(f"cycle {summary['runs']} exited {code}")


def _kill_point(point: str, rng: random.Random, home: Path, handler: Handler) -> Callable[[], bool]:
    """When to kill: once the store has 1-20 notices more (``stored``: mid-ingest or later), the relay has
    taken 1-25 messages more (``sent``: mid-send), or after 0.5-10 s (``time``)."""
    if point == "stored":
        stored = stored_count(home) + rng.randint(1, 2 * DAYS_PER_RUN)
        return lambda: stored_count(home) >= stored
    if point == "sent":
        sent = handler.count() + rng.randint(1, 25)
        return lambda: handler.count() >= sent
    deadline = time.monotonic() + rng.uniform(0.5, 10.0)
    return lambda: time.monotonic() >= deadline


def _wait_exit_or_kill(
    svc: Any, kill_when: Callable[[], bool], *, with_crawl: bool, limit: float = 180
) -> bool:
    """Wait for the running service; SIGKILL it once ``kill_when()`` holds: the service process only (an OOM
    kill: its crawl, in its own session, lives on), or ``with_crawl`` every process of the home too (power
    loss, or systemd's control-group kill). True when it was killed; a service still running after
    ``limit`` seconds fails the test."""
    proc = svc.proc
    assert proc is not None
    end = time.monotonic() + limit
    while proc.poll() is None:
        if kill_when():
            pids = env_of_processes(f"TBTWATCH_HOME={svc.home}") if with_crawl else []
            proc.kill()
            for pid in pids:
                if pid != proc.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            proc.wait(30)
            svc.proc = None
            return True
        if time.monotonic() > end:
            pytest.fail(f"serve --once still running after {limit} s:\n{svc.read_log()[-4000:]}")
        time.sleep(0.01)
    svc.proc = None
    return False


def _wait_for_fresh_minute(home: Path) -> float:
    """Sleep until no immediate digest was built in the current minute (one per recipient a minute), so the
    next cycle may build one for every recipient; seconds slept."""
    slept = 0.0
    while last_digest_minute(home) == datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"):
        time.sleep(0.5)
        slept += 0.5
    return slept


def _wait_no_crawls(home: Path, timeout: float = 120) -> list[int]:
    """Wait for the crawl processes of ``home`` to end; the pids still running after ``timeout``."""
    end = time.monotonic() + timeout
    left = env_of_processes(f"TBTWATCH_HOME={home}")
    while left and time.monotonic() < end:
        time.sleep(0.3)
        left = env_of_processes(f"TBTWATCH_HOME={home}")
    return left


@pytest.mark.slow
def test_sigkilled_service_delivers_everything(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    handler = Handler(data_delay=0.02)
    smtp = SmtpServer(handler, free_port()).start()
    extra = smtp_env(smtp.port, TBTWATCH_SMTP__MAX_CONCURRENCY="1")
    summary: dict[str, Any] = {
        "seed": SEED,
        "runs": 0,
        "kills": 0,
        "kills_by_point": {"stored": 0, "sent": 0, "time": 0},
        "clean_runs": 0,
        "kills_with_crawl": 0,
        "orphan_crawls_at_kill": 0,
        "failures": [],
    }
    SUMMARY["sigkill_service"] = summary
    started = time.monotonic()
    try:
        with _service_with_exporters(tmp_path) as svc:
            until = FIRST_DAY
            window = 0
            while summary["kills"] < KILLS and summary["runs"] < 3 * KILLS:
                window += 1
                until = min(
                    FIRST_DAY + timedelta(days=window * DAYS_PER_RUN - 1), FIRST_DAY + timedelta(days=199)
                )
                svc.write_sources({"eping_api": eping_source(until, page_size=100)})
                point = rng.choice(["stored", "sent", "time"])
                when = _kill_point(point, rng, svc.home, handler)
                with_crawl = rng.random() < 0.5
                summary["runs"] += 1
                svc.start("--once", "--json", extra=extra)
                if _wait_exit_or_kill(svc, when, with_crawl=with_crawl):
                    summary["kills"] += 1
                    summary["kills_by_point"][point] += 1
                    if with_crawl:
                        summary["kills_with_crawl"] += 1
                    elif env_of_processes(f"TBTWATCH_HOME={svc.home}"):
                        summary["orphan_crawls_at_kill"] += 1
                else:
                    summary["clean_runs"] += 1
            # recovery: restart, one more full cycle (in a minute without digests yet)
            summary["recovery_wait_seconds"] = _wait_for_fresh_minute(svc.home)
            _cycle(svc, extra, summary)
            left = _wait_no_crawls(svc.home, timeout=30)
    finally:
        smtp.stop()

    state = store_state(svc.home)
    notices = served(until)
    expected = expected_pairs(notices)
    acc = account(handler)
    summary.update(
        {
            "seconds": round(time.monotonic() - started, 1),
            "notices": {
                "served": len(notices),
                "stored": len(state["stored"]),
                "indexed": len(state["indexed"]),
            },
            "pairs": pair_figures(expected, acc),
            "messages": {"received": sum(acc.messages.values()), "duplicated": acc.duplicated_messages},
            "stage_backlog_left": state["backlog"],
            "outbox": state["outbox"],
            "open_runs": state["open_runs"],
            "integrity_check": state["integrity"],
            "crawl_processes_left": left,
        }
    )
    (tmp_path / "fault-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
    assert state["integrity"] == "ok"
    assert notices <= state["stored"], sorted(notices - state["stored"])[:5]
    assert state["stored"] <= state["indexed"], sorted(state["stored"] - state["indexed"])[:5]
    assert state["backlog"] == 0
    assert set(state["outbox"]) == {"sent"}, state["outbox"]
    assert expected <= set(acc.delivered), sorted(expected - set(acc.delivered))[:5]
    assert set(acc.delivered) <= expected, sorted(set(acc.delivered) - expected)[:5]
    assert acc.duplicated_pairs <= acc.in_duplicated_messages, "a pair came twice outside a message in flight"
    assert acc.duplicated_messages <= summary["kills"], "more duplicates than messages in flight"
    assert not left, f"crawl processes left: {left}"
    assert not acc.operator, acc.operator
    assert not summary["failures"], summary["failures"]
    assert summary["kills"] >= KILLS


DOWN_CYCLES = 3


@pytest.mark.slow
def test_relay_down_for_several_cycles_then_every_digest_arrives_once(tmp_path: Path) -> None:
    handler = Handler()
    port = free_port()  # nothing listens there yet: the relay is down
    smtp: SmtpServer | None = None
    extra = smtp_env(port)
    until = FIRST_DAY + timedelta(days=29)
    summary: dict[str, Any] = {
        "runs": 0,
        "kills": 0,
        "down_cycles": DOWN_CYCLES,
        "attempts_while_down": 0,
        "failures": [],
    }
    SUMMARY["relay_down"] = summary
    started = time.monotonic()
    try:
        with _service_with_exporters(tmp_path) as svc:
            svc.write_sources({"eping_api": eping_source(until)})
            for i in range(DOWN_CYCLES):
                _cycle(svc, extra, summary)
                if i == 0:  # the later cycles only retry: a crawl takes 10 s and adds nothing here
                    svc.write_sources({"eping_api": {**eping_source(until), "enabled": False}})
                box = _outbox(svc.home)
                # queued, nothing given up; a relay that cannot be reached stops the run after the messages
                # in flight (they use up an attempt, the others wait without using one)
                assert box and all(s == "pending" and n <= i + 1 for _, s, n in box), box[:3]
                tried = sum(n for _, _, n in box)
                assert tried > summary["attempts_while_down"], "the relay was not tried"
                summary["attempts_while_down"] = tried
            queued = {mid for mid, _, _ in _outbox(svc.home)}
            smtp = SmtpServer(handler, port).start()
            _cycle(svc, extra, summary)
            _cycle(svc, extra, summary)  # one more: nothing is sent twice
    finally:
        if smtp is not None:
            smtp.stop()
    box = _outbox(svc.home)
    acc = account(handler)
    expected = expected_pairs(served(until))
    summary.update(
        {
            "seconds": round(time.monotonic() - started, 1),
            "digests_queued_while_down": len(queued),
            "pairs": pair_figures(expected, acc),
            "messages": {"received": sum(acc.messages.values()), "duplicated": acc.duplicated_messages},
            "outbox": dict(Counter(s for _, s, _ in box)),
            "attempts": dict(Counter(n for _, _, n in box)),
        }
    )
    assert set(acc.messages) == queued == {mid for mid, _, _ in box}
    assert all(n == 1 for n in acc.messages.values()), "a digest arrived twice"
    assert all(s == "sent" for _, s, _ in box), box[:3]
    assert expected == set(acc.delivered) and not acc.duplicated_pairs
    assert not acc.operator and not summary["failures"], (acc.operator, summary["failures"])


def _sources_with_faults() -> dict[str, dict[str, Any]]:
    feed = "{mirror}/feeds.example.org/"
    return {
        "eping_api": eping_source(FIRST_DAY + timedelta(days=29)),
        "svc_feed": {
            "spider": "feeds",
            "description": "a good feed",
            "schedule": {"interval": "20s"},
            "expected_cadence": "1h",
            "options": {"feeds": [{"name": "ok", "url": feed + "ok.xml", "language": "en"}]},
        },
        "svc_500": {
            "spider": "feeds",
            "description": "a feed answering 500",
            "schedule": {"interval": "5s"},
            "expected_cadence": "1h",
            "options": {"feeds": [{"name": "down", "url": feed + "down.xml", "language": "en"}]},
        },
        "svc_hang": {
            "spider": "yidaiyilu",
            "description": "a list page whose article takes a minute to answer",
            "schedule": {"interval": "5s"},
            "expected_cadence": "1h",
            "base_url": "{mirror}",
            "run_timeout": "8s",
            "options": {"aliases": ["hang"], "max_pages": 1},
        },
    }


def _get(url: str) -> tuple[int, Any]:
    try:
        with urlopen(url, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as exc:
        return exc.code, None
    except OSError as exc:
        return 0, str(exc)


def _runs(home: Path, source: str) -> list[tuple[str, str | None]]:
    """(status, finished_at) of the source's runs, oldest first."""
    path = home / "tbtwatch.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return [
            (str(r[0]), r[1])
            for r in conn.execute(
                "SELECT status, finished_at FROM source_runs WHERE source=? ORDER BY id", (source,)
            )
        ]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _failed(home: Path, source: str) -> int:
    return sum(1 for s, f in _runs(home, source) if f and s in ("failed", "errors"))


@pytest.mark.slow
def test_failing_and_hanging_sources_leave_the_rest_running(tmp_path: Path) -> None:
    down = tmp_path / "mirror"  # one more layer on top of the crawler tests' mirror: a feed answering 500
    feeds = down / "feeds.example.org"
    feeds.mkdir(parents=True)
    shutil.copy(OVERLAY / "feeds.example.org" / "ok.xml", feeds / "down.xml")
    route = feeds / "down.xml.route.json"
    route.write_text('{"status": 500}', encoding="utf-8")
    handler = Handler()
    smtp = SmtpServer(handler, free_port()).start()
    web = free_port()
    extra = smtp_env(
        smtp.port,
        TBTWATCH_WEB__PORT=str(web),
        TBTWATCH_SCHEDULER__IMMEDIATE_EVERY_MINUTES="1",
        TBTWATCH_SCHEDULER__MAX_PARALLEL_CRAWLS="4",  # no source waits for a slot taken by the hung one
        # a run of a source answering 500 takes 25 s (retries with backoff): one failure is an episode
        TBTWATCH_SCHEDULER__FAILURES_BEFORE_ALARM="1",
    )
    until = FIRST_DAY + timedelta(days=29)
    summary: dict[str, Any] = {"runs": 1, "kills": 0, "failures": [], "web_checks_during_hang": 0}
    SUMMARY["failing_sources"] = summary
    started = time.monotonic()
    expected = expected_pairs(served(until))
    base = f"http://127.0.0.1:{web}"
    try:
        with _service_with_exporters(tmp_path, (down, *MIRROR_LAYERS)) as svc:
            svc.write_sources(_sources_with_faults())
            svc.start(extra=extra)
            svc.wait_for("the web app", lambda: _get(base + "/healthz")[0] == 200)

            # while a crawl of the hanging source is stuck, the web app answers and finds the notices
            def web_during_hang() -> bool:
                runs = _runs(svc.home, "svc_hang")
                if not runs or runs[-1][1] is not None:
                    return False
                health, _ = _get(base + "/healthz")
                status, body = _get(base + "/api/search?q=toys&size=5")
                if health != 200 or status != 200:
                    summary["failures"].append(f"web during the hang: healthz {health}, search {status}")
                    return True
                summary["web_checks_during_hang"] += 1
                return summary["web_checks_during_hang"] >= 3 and int(body["total"]) > 0

            svc.wait_for("the web app during a hung crawl", web_during_hang, timeout=120)
            svc.wait_for(
                "failures to pile up after the alarms",
                lambda: _failed(svc.home, "svc_500") >= 2 and _failed(svc.home, "svc_hang") >= 3,
                timeout=120,
            )
            # a second episode of the 500s: recovered (one note), failing again (one more alarm)
            route.unlink()
            svc.wait_for(
                "the recovery note",
                lambda: any("svc_500" in s and "恢复" in s for s in account(handler).operator),
            )
            route.write_text('{"status": 500}', encoding="utf-8")
            svc.wait_for(
                "the second alarm",
                lambda: sum("svc_500" in s and "告警" in s for s in account(handler).operator) >= 2,
            )
            # the digests go out on their schedule (every minute) while the broken sources keep failing
            svc.wait_for(
                "every digest",
                lambda: expected <= set(account(handler).delivered),
                timeout=150,
            )
            oks = sum(1 for s, f in _runs(svc.home, "svc_feed") if f and s == "ok")
            assert svc.stop() == 0, svc.read_log()[-4000:]
            left = _wait_no_crawls(svc.home, timeout=30)
    finally:
        smtp.stop()
    acc = account(handler)
    alarms = Counter(
        (src, kind)
        for s in acc.operator
        for src in ("svc_500", "svc_hang", "svc_feed", "eping_api")
        for kind in ("alarm", "recovered")
        if f": {src}" in s and (("告警" in s) if kind == "alarm" else ("恢复" in s))
    )
    summary.update(
        {
            "seconds": round(time.monotonic() - started, 1),
            "pairs": pair_figures(expected, acc),
            "operator_messages": acc.operator,
            "good_feed_runs": oks,
            "failed_runs": {s: _failed(svc.home, s) for s in ("svc_500", "svc_hang")},
            "crawl_processes_left": left,
        }
    )
    assert alarms == {("svc_500", "alarm"): 2, ("svc_500", "recovered"): 1, ("svc_hang", "alarm"): 1}, alarms
    assert all(s.startswith("[tbtwatch] 数据源") for s in acc.operator), acc.operator
    assert expected == set(acc.delivered) and not acc.duplicated_pairs
    assert oks >= 3, "the good feed stopped being crawled"
    assert summary["failed_runs"]["svc_500"] >= 3 and summary["failed_runs"]["svc_hang"] >= 3
    assert not left and not summary["failures"], (left, summary["failures"])


def test_once_closes_the_runs_of_a_killed_service(tmp_path: Path) -> None:
    """A crawl killed with its service leaves its run open; ``serve --once`` (a home run by cron) closes it
    as ``stopped`` once it is older than the run timeout and the grace, like ``serve`` does at start."""
    svc = Service(tmp_path, MockServer(MIRROR_LAYERS))  # the mirror is not needed
    svc.write_sources({"eping_api": {**eping_source(FIRST_DAY), "enabled": False}})
    long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
    recent = (datetime.now(UTC) - timedelta(seconds=30)).isoformat(timespec="seconds")
    with Store.open(svc.home / "tbtwatch.sqlite3") as store, store.transaction():
        store.conn.executemany(
            "INSERT INTO source_runs (source, started_at) VALUES (?, ?)",
            [("eping_api", long_ago), ("eping_api", recent)],
        )
    svc.start("--once", "--json", extra=smtp_env(free_port()))
    assert svc.proc is not None and svc.proc.wait(120) == 0, svc.read_log()[-3000:]
    svc.proc = None
    runs = _runs(svc.home, "eping_api")
    assert runs[0][0] == "stopped" and runs[0][1] is not None, runs
    assert runs[1][1] is None, "a run that may still be going was closed"


@pytest.mark.parametrize(
    ("delay", "grace", "closed"),
    [(None, "2", False), (8, "30", True)],
    ids=["hung-request-abandoned", "slow-request-closed"],
)
def test_a_crawl_outliving_its_killed_service_stops_itself(
    tmp_path: Path, delay: int | None, grace: str, closed: bool
) -> None:
    """Only the service is SIGKILLed while a crawl waits on a request: the crawl (in its own session) notices
    that its parent is gone and stops, instead of running on unwatched; its run is recorded ``stopped``.

    A request that hangs (a minute) is abandoned after the stop grace; one that answers within the grace (a
    slow one, ``delay`` seconds) is waited for and the spider closes normally."""
    layers: tuple[Path, ...] = MIRROR_LAYERS
    if delay is not None:
        slow = tmp_path / "slow"  # one more layer on top: the hanging page answers after `delay` seconds
        (slow / "p").mkdir(parents=True)
        (slow / "p" / "HANG1.html.route.json").write_text(json.dumps({"delay": delay}), encoding="utf-8")
        layers = (slow, *MIRROR_LAYERS)
    server = MockServer(layers)
    with server:
        svc = Service(tmp_path, server)
        svc.write_sources(
            {
                "svc_hang": {
                    **_sources_with_faults()["svc_hang"],
                    "run_timeout": "120s",  # the service would stop it only after 2 minutes
                }
            }
        )
        svc.start("--once", extra=smtp_env(free_port(), TBTWATCH_CRAWL__STOP_GRACE_SECONDS=grace))
        svc.wait_for("the crawl", lambda: len(env_of_processes(f"TBTWATCH_HOME={svc.home}")) >= 2)
        # the kill must land while the article request is in flight (the server logs it on arrival), not
        # before the crawl has asked for it: then nothing would hang and the spider would just close
        svc.wait_for(
            "the hung request",
            lambda: (
                _runs(svc.home, "svc_hang")
                and any(r["path"].endswith("/HANG1.html") for r in server.requests())
            ),
        )
        assert svc.proc is not None
        svc.proc.kill()
        svc.proc.wait(30)
        svc.proc = None
        killed = time.monotonic()
        left = _wait_no_crawls(svc.home, timeout=60)
        lived = time.monotonic() - killed
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    SUMMARY.setdefault("orphan_crawl", {"runs": 0, "kills": 0, "failures": []})
    SUMMARY["orphan_crawl"]["runs"] += 1
    SUMMARY["orphan_crawl"]["kills"] += 1
    SUMMARY["orphan_crawl"][f"seconds_after_kill_{'closed' if closed else 'abandoned'}"] = round(lived, 1)
    assert not left, f"the crawl of a killed service still runs {lived:.0f} s later"
    log = (svc.home / "logs" / "crawl-svc_hang.log").read_text(encoding="utf-8", errors="replace")
    assert "is gone: stopping the crawl" in log
    assert ("without closing the spider" in log) is not closed, log[-3000:]
    # its run is "stopped" (as at a service shutdown), closed by the crawl itself: not a failure of the source
    runs = _runs(svc.home, "svc_hang")
    assert [status for status, _ in runs] == ["stopped"] and runs[0][1] is not None, runs
    one_failure_alarms = {"TBTWATCH_SCHEDULER__FAILURES_BEFORE_ALARM": "1"}
    shown = svc.cli("sources", "status", "--json", extra=one_failure_alarms)
    assert shown.returncode == 0, shown.stderr
    row = next(r for r in json.loads(shown.stdout) if r["source"] == "svc_hang")
    assert row["last_run"]["status"] == "stopped", row
    assert "service that started this crawl is gone" in row["last_run"]["message"], row
    assert ("abandoned" in row["last_run"]["message"]) is not closed, row
    assert row["health"]["failures_in_a_row"] == 0 and row["health"]["state"] != "failing", row
    assert row["health"]["alarm"] is None, row
