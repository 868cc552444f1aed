"""The SMTP relay is down for several digest cycles, then returns: every digest arrives, once.

``tbtwatch digest run`` runs as a subprocess each cycle (new notices arrive between cycles); the relay port
refuses connections for the first cycles, then a real aiosmtpd server listens on it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from testutil import REPO, subprocess_env, tbtwatch_cmd

sys.path[:0] = [str(REPO / "tests" / "alerts")]

from alerts_testlib import (  # noqa: E402
    NOW,
    SIGNING_KEY,
    Handler,
    SmtpServer,
    free_port,
    import_recipients,
    ingest,
    make_notice,
    write_settings,
)

from alerts.repository import AlertsRepository  # noqa: E402
from tbtwatch.store import Store  # noqa: E402

SYMBOL = re.compile(r"G/(?:TBT|SPS)/N/[A-Z]+/\d+")
RECIPIENTS = 8
DOWN_CYCLES = 3


def _digest_run(home: Path, cycle: int) -> dict[str, Any]:
    env = subprocess_env(home)
    env["TBTWATCH_SIGNING_KEY"] = SIGNING_KEY
    now = NOW + timedelta(minutes=cycle)
    done = subprocess.run(
        tbtwatch_cmd(
            "--home",
            str(home),
            "digest",
            "run",
            "--frequency",
            "immediate",
            "--now",
            now.isoformat(),
            "--json",
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report, dict)
    return report


def test_digests_wait_out_an_smtp_outage_and_arrive_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    write_settings(
        home,
        {
            "alerts": {"base_url": "https://tbt.example.cn", "from_address": "alerts@tbt.example.cn"},
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "rate_per_second": 1000.0,
                "timeout_seconds": 5.0,
                "max_concurrency": 2,
            },
        },
    )
    with Store.open(home / "tbtwatch.sqlite3") as store:
        repo = AlertsRepository(store)
        import_recipients(
            repo,
            {
                "recipients": [
                    {
                        "id": f"exp-{i}",
                        "type": "exporter",
                        "name": f"企业 {i}",
                        "addresses": [f"u{i}@e{i}.example.cn"],
                        "frequency": "immediate",
                        "subscriptions": [{"hs_prefixes": ["9503"]}],
                    }
                    for i in range(RECIPIENTS)
                ]
            },
        )
        notices: list[str] = []
        for cycle in range(DOWN_CYCLES):  # the relay refuses connections: nothing is lost or used up
            batch = [make_notice(f"G/TBT/N/EU/{1100 + cycle * 2 + j}", hs_codes=["950300"]) for j in range(2)]
            ingest(store, batch)
            notices += [n.id for n in batch]
            report = _digest_run(home, cycle)
            assert report["delivery"]["sent"] == 0 and "email" in report["delivery"]["halted"]
            assert report["delivery"]["failed"] == []
        counts = repo.outbox_counts()
        assert counts.get("pending") == RECIPIENTS * DOWN_CYCLES and not counts.get("sent")
        # one failed connection per worker and cycle: those messages wait a backoff, far from the limit
        attempts = [row.attempts for row in repo.outbox(limit=1000)]
        assert max(attempts) < 10 and sum(attempts) <= 2 * DOWN_CYCLES

    handler = Handler()
    server = SmtpServer(handler, port).start()
    try:
        report = _digest_run(home, DOWN_CYCLES)  # everything due goes now
        later = _digest_run(home, 60)  # an hour on: the messages that waited out a backoff
        again = _digest_run(home, 61)  # nothing left to send
    finally:
        server.stop()
    sent = report["delivery"]["sent"] + later["delivery"]["sent"]
    assert (
        sent == RECIPIENTS * DOWN_CYCLES and report["delivery"]["failed"] == later["delivery"]["failed"] == []
    )
    assert report["delivery"]["sent"] >= RECIPIENTS * DOWN_CYCLES - 2 * DOWN_CYCLES
    assert again["delivery"]["sent"] == 0 and again["messages"] == 0
    ids = Counter(handler.message_ids())
    assert len(ids) == RECIPIENTS * DOWN_CYCLES and set(ids.values()) == {1}, "each digest arrived once"
    pairs: Counter[tuple[str, str]] = Counter()
    for received in handler.received:
        body = received.message.get_body(("plain",))
        assert body is not None
        for nid in set(SYMBOL.findall(str(body.get_content()))):
            pairs[(received.rcpt_tos[0], nid)] += 1
    expected = {(f"u{i}@e{i}.example.cn", nid) for i in range(RECIPIENTS) for nid in notices}
    assert set(pairs) == expected and set(pairs.values()) == {1}
    with Store.open(home / "tbtwatch.sqlite3", readonly=True) as store:
        assert AlertsRepository(store).outbox_counts().get("sent") == RECIPIENTS * DOWN_CYCLES
        assert store.integrity_check() == "ok"
