"""`tbtwatch sources status` without a running service, bad sources.yaml refused at start, `serve --once`, and
`serve` with the web app answering /healthz until SIGINT."""

from __future__ import annotations

import json
import re
import signal
import socket
from datetime import UTC, datetime

import httpx
import pytest
from apscheduler.triggers.cron import CronTrigger
from service_helpers import Service

from crawlers.errors import SourcesError
from crawlers.sources import load_sources

GOOD = {
    "spider": "feeds",
    "schedule": {"interval": "1h"},
    "expected_cadence": "1d",
    "options": {"feeds": [{"name": "ok", "url": "{mirror}/feeds.example.org/ok.xml", "language": "en"}]},
}
CRON = {**GOOD, "schedule": {"cron": "0 7,13,19 * * *", "timezone": "Asia/Shanghai"}}
OFF = {**GOOD, "enabled": False}


def test_status_before_any_run_computes_next_runs_from_the_schedules(service: Service) -> None:
    shipped = service.cli("sources", "status", "--json")  # the bundled sources.yaml, no ePing API key
    assert shipped.returncode == 0, shipped.stderr
    by_name = {r["source"]: r for r in json.loads(shipped.stdout)}
    assert by_name["eping_api"]["crawled_as"] == "eping_workbook" and "crawled_as" not in by_name["wto_news"]
    assert all(r["health"]["state"] == "never run" for r in by_name.values())

    service.write_sources({"svc_cron": CRON, "svc_off": OFF})
    before = datetime.now(UTC)
    done = service.cli("sources", "status", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["source"]: r for r in json.loads(done.stdout)}
    cron = rows["svc_cron"]
    assert cron["last_run"] is None and cron["health"]["state"] == "never run"
    assert cron["next_run_from"] == "schedule" and cron["schedule"] == "cron 0 7,13,19 * * * (Asia/Shanghai)"
    expected = CronTrigger.from_crontab("0 7,13,19 * * *", timezone="Asia/Shanghai").get_next_fire_time(
        None, before
    )
    assert datetime.fromisoformat(cron["next_run"]) == expected
    assert rows["svc_off"]["enabled"] is False and rows["svc_off"]["health"]["state"] == "disabled"
    assert rows["svc_off"]["next_run"] is None

    text = service.cli("sources", "status")
    assert text.returncode == 0 and "健康 health" in text.stdout and "未运行 never run" in text.stdout


def test_a_bad_sources_file_stops_serve_and_status(service: Service) -> None:
    service.write_sources({"svc_good": {**GOOD, "max_silence": "2h"}})
    for args in (("serve", "--no-web"), ("sources", "status")):
        done = service.cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "unknown key 'sources.svc_good.max_silence'" in done.stderr and "Fix:" in done.stderr
        assert str(service.config / "sources.yaml") in done.stderr
    assert not (service.home / "scheduler.sqlite").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"run_timeout": "soon"}, "key 'sources.svc_good.run_timeout' is invalid"),
        ({"run_timeout": "0s"}, "key 'sources.svc_good.run_timeout' is invalid"),
        ({"schedule": {"interval": "0m"}}, "key 'sources.svc_good.schedule.interval' is invalid"),
        ({"schedule": {"cron": "61 * * * *"}}, "key 'sources.svc_good.schedule' is invalid"),
    ],
    ids=["words", "zero", "zero-interval", "bad-cron"],
)
def test_bad_schedule_fields_are_refused(service: Service, change: dict[str, object], message: str) -> None:
    service.write_sources({"svc_good": {**GOOD, **change}})
    with pytest.raises(SourcesError, match=re.escape(message)):
        load_sources(service.config, check_options=False)


def test_serve_once_crawls_checks_and_runs_digests(service: Service) -> None:
    # svc_short cannot even start in 1 s: killed, and recorded as a failed run though it never opened one
    short = {**GOOD, "run_timeout": "1s"}
    service.write_sources({"svc_good": GOOD, "svc_short": short, "svc_off": OFF})
    done = service.cli("serve", "--once", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["crawls"] == {"svc_good": "ok", "svc_off": "not run", "svc_short": "failed"}
    assert report["health"]["svc_good"]["state"] == "ok" and "svc_off" not in report["health"]
    assert "immediate" in report["digests"]["due"] and report["digests"]["delivery"]["failed"] == []
    assert not (service.home / "scheduler.sqlite").exists()  # --once does not touch the job store
    status = json.loads(service.cli("sources", "status", "--json").stdout)
    short_run = next(r for r in status if r["source"] == "svc_short")["last_run"]
    assert short_run["status"] == "failed" and "run timeout of 1 s" in short_run["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_the_web_app_and_stops_on_sigint(service: Service) -> None:
    service.write_sources({"svc_off": OFF})
    port = _free_port()
    service.start(extra={"TBTWATCH_WEB__PORT": str(port)})
    service.wait_for("the web app", lambda: f"web http://127.0.0.1:{port}" in service.read_log(), timeout=60)
    response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert response.status_code == 200
    assert service.stop(signal.SIGINT) == 0
    assert "SIGINT received: shutting down" in service.read_log()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
