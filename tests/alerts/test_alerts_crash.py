"""The sending process SIGKILLed in the middle of a batch and restarted: every message is delivered, and a
duplicate is possible only for the one message in flight (DESIGN.md invariant 3). The sender runs as a real
subprocess (``python -m tbtwatch digest run``) against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from alerts_testlib import (
    NOW,
    SIGNING_KEY,
    Handler,
    SmtpServer,
    import_recipients,
    ingest,
    labels,
    make_notice,
)

from alerts.recipients import Frequency
from alerts.repository import AlertsRepository
from alerts.service import build_digests
from tbtwatch.models import Risk
from tbtwatch.settings import REPO_ROOT, Settings
from tbtwatch.store import Store

N = 60


def _command(home: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tbtwatch",
        "--home",
        str(home),
        "digest",
        "run",
        "--frequency",
        "immediate",
        "--now",
        NOW.isoformat(),
        "--json",
    ]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TBTWATCH_")}
    env.update(
        {"PYTHONPATH": str(REPO_ROOT), "TBTWATCH_HOME": str(home), "TBTWATCH_SIGNING_KEY": SIGNING_KEY}
    )
    return env


def test_killed_sender_resumes_from_the_outbox(
    home: Path,
    make_settings: Callable[..., Settings],
    store: Store,
    repo: AlertsRepository,
    smtp_server: Callable[..., SmtpServer],
) -> None:
    handler = Handler(data_delay=0.03)  # about 30 messages a second: the kill lands mid-batch
    server = smtp_server(handler)
    settings = make_settings(
        {
            "alerts": {"base_url": "https://tbt.example.cn", "from_address": "alerts@tbt.example.cn"},
            "smtp": {
                "host": "127.0.0.1",
                "port": server.port,
                "security": "none",
                "max_concurrency": 1,
                "rate_per_second": 1000.0,
                "timeout_seconds": 5.0,
            },
        }
    )
    import_recipients(
        repo,
        {
            "recipients": [
                {
                    "id": f"exp-{i:03d}",
                    "type": "exporter",
                    "name": f"企业 {i}",
                    "addresses": [f"u{i}@e{i}.example.cn"],
                    "frequency": "immediate",
                    "subscriptions": [{"hs_prefixes": ["9503"]}],
                }
                for i in range(N)
            ]
        },
    )
    toy = make_notice("G/TBT/N/EU/1050", title="Toy safety", hs_codes=["950300"])
    ingest(store, [toy], [labels(toy.id, ["toys"], Risk.HIGH)])
    assert build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW).messages == N
    queued = {r.message_id for r in repo.outbox(limit=1000)}

    proc = subprocess.Popen(_command(home), env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while handler.count() < N // 4:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sender never got going"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    at_kill = handler.count()
    counts = repo.outbox_counts()
    assert 0 < counts["pending"] < N, counts
    assert counts["sent"] <= at_kill, "nothing is marked sent before the server accepted it"

    restart = subprocess.run(_command(home), env=_env(home), capture_output=True, text=True, timeout=120)
    assert restart.returncode == 0, restart.stderr
    received = Counter(handler.message_ids())
    assert set(received) == queued, "every pending message is delivered"
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= 1, f"only the message in flight may be sent twice, got {duplicates} duplicates"
    assert repo.outbox_counts() == {"pending": 0, "sent": N, "failed": 0}
