"""The job functions in-process on a real home: a job past scheduler.job_timeout_seconds is reported to the
operator, retraining is stopped at that limit, nothing starts once the service is stopping, and one service
runs per home."""

from __future__ import annotations

import email
import logging
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from testutil import env_of_processes

from tbtwatch.errors import TbtwatchError
from tbtwatch.service import jobs, runtime
from tbtwatch.service.server import drain_jobs, service_lock
from tbtwatch.settings import REPO_ROOT, load_settings
from tbtwatch.store import Store


def _runtime(home: Path, timeout: int) -> runtime.Runtime:
    env = {
        "TBTWATCH_HOME": str(home),
        "TBTWATCH_CONFIG_DIR": str(REPO_ROOT / "config"),
        "TBTWATCH_SCHEDULER__JOB_TIMEOUT_SECONDS": str(timeout),
        "TBTWATCH_ALERTS__OPERATOR_EMAIL": "ops@example.org",
    }
    return runtime.install(runtime.Runtime(load_settings(home, environ=env)))


@pytest.fixture
def rt(home: Path) -> Iterator[runtime.Runtime]:
    """A job context on ``home`` with an operator address."""
    yield _runtime(home, 600)
    runtime.reset()


@pytest.fixture
def rt_short(home: Path) -> Iterator[runtime.Runtime]:
    """The same with a 1-second job timeout."""
    yield _runtime(home, 1)
    runtime.reset()


def _wait_for_mail(home: Path) -> list[Path]:
    folder = home / "maildir" / "new"
    for _ in range(300):  # the report is sent by the watchdog's thread
        if folder.is_dir() and any(folder.iterdir()):
            return list(folder.iterdir())
        time.sleep(0.1)
    raise AssertionError(f"no message in {folder}")


def _operator_subjects(home: Path) -> list[str]:
    with Store.open(home / "tbtwatch.sqlite3") as store:
        return [
            r[0] for r in store.conn.execute("SELECT subject FROM outbox WHERE recipient_id=0 ORDER BY id")
        ]


def test_a_job_past_its_timeout_is_reported_once(rt_short: runtime.Runtime, home: Path) -> None:
    rt = rt_short
    with jobs._job(rt, "digests:slow") as go:
        assert go and "digests:slow" in rt.running_jobs()
        time.sleep(1.6)
    assert rt.running_jobs() == {}
    [mail] = _wait_for_mail(home)
    assert _operator_subjects(home) == ["[tbtwatch] 任务超时 job overran: digests:slow"]
    message = email.message_from_bytes(mail.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage) and message["To"] == "ops@example.org"
    assert "Job digests:slow ran past 1 s (scheduler.job_timeout_seconds) and is still running." in (
        message.get_content()
    )


def test_retraining_is_stopped_at_the_job_timeout(rt_short: runtime.Runtime, home: Path) -> None:
    jobs.retrain()  # returns once the subprocess is stopped (training takes far longer than 1 s)
    assert env_of_processes(f"TBTWATCH_HOME={home}") == []
    assert _operator_subjects(home) == ["[tbtwatch] 任务超时 job overran: retrain"]
    assert (home / "logs" / "retrain.log").exists()
    assert not (home / "models").exists() or not any((home / "models").iterdir())


def test_alerts_jobs_run_on_an_empty_home(
    rt: runtime.Runtime, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tbtwatch.service.jobs")
    jobs.digests("immediate")
    jobs.digests("daily")
    jobs.reminders()
    jobs.health()
    jobs.crawl("no_such_source")
    assert "immediate digests: {" in caplog.text and "reminders: {" in caplog.text
    assert "source no_such_source is no longer configured" in caplog.text
    assert _operator_subjects(home) == []


def test_nothing_starts_once_the_service_is_stopping(
    rt: runtime.Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tbtwatch.service.jobs")
    rt.stopping.set()
    jobs.crawl("wto_news")
    jobs.digests("immediate")
    assert "crawl:wto_news not started: the service is stopping" in caplog.text
    assert "digests:immediate not started" in caplog.text


def test_one_service_per_home(rt: runtime.Runtime) -> None:
    with (
        service_lock(rt.settings),
        pytest.raises(TbtwatchError, match=r"another tbtwatch serve \(pid \d+\) is running on"),
        service_lock(rt.settings),
    ):
        pass
    with service_lock(rt.settings):  # released
        pass


def test_shutdown_waits_for_jobs_up_to_the_grace_then_abandons_in_process_ones(home: Path) -> None:
    env = {"TBTWATCH_HOME": str(home), "TBTWATCH_SCHEDULER__SHUTDOWN_GRACE_SECONDS": "1"}
    rt = runtime.Runtime(load_settings(home, environ=env))
    release = threading.Event()

    def job(job_id: str, seconds: float) -> None:
        with rt.running(job_id):
            release.wait(seconds)

    quick = threading.Thread(target=job, args=("health", 0.3))
    stuck = threading.Thread(target=job, args=("digests:daily", 30), daemon=True)
    quick.start()
    stuck.start()
    time.sleep(0.1)
    rt.stopping.set()
    assert drain_jobs(rt) == ["digests:daily"]
    assert rt.deadline.is_set()  # the grace is over: subprocess jobs were told to end
    assert "health" not in rt.running_jobs()  # it finished within the grace
    release.set()
    stuck.join(5)
    assert drain_jobs(rt) == []
