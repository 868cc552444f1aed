"""``tbtwatch demo`` end to end: a fresh home, the real subprocess crawls, the maildir, search, a rerun.

The first run on an empty home starts the web app on a free port (``--port 0 --json``): it sends the two
digests, whose links must point at that port (the socket is bound before the pipeline), serves ``/healthz``
and the links, and stops on Ctrl-C. The second run on the same home is ``demo --no-web --json`` (scripts,
CI): it must find nothing new and send nothing.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from testutil import subprocess_env, tbtwatch_cmd

from tbtwatch.demo.pipeline import SOURCES

pytestmark = pytest.mark.slow  # two full demo runs (seven crawl subprocesses each)

CJK = re.compile(r"[\u4e00-\u9fff]")
WARNING_POINT = "yiwu-warning@example.org"
EXPORTER = "export-8516@example.org"


@dataclass
class Runs:
    """The two demo runs on one home."""

    home: Path
    first: dict[str, Any]
    second: dict[str, Any]
    first_exit: int
    healthz: int
    mirror_robots: int
    #: every http(s) link of the digests (body and List-Unsubscribe) -> status while the web app ran
    links: dict[str, int]


def _read_json_document(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The indented JSON report the web mode prints before it blocks (ends with a lone closing brace)."""
    assert proc.stdout is not None and proc.stderr is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.rstrip("\n") == "}":
            break
    if not lines:
        proc.wait(timeout=60)
        pytest.fail(f"demo printed no report (exit {proc.returncode}): {proc.stderr.read()[-3000:]}")
    return dict(json.loads("".join(lines)))


def _digest_links(home: Path) -> list[str]:
    """The links of the web app in the delivered digests: the List-Unsubscribe URL and the body's links."""
    out: set[str] = set()
    for msg in _messages(home).values():
        out.update(re.findall(r"<(https?://[^>]+)>", str(msg["List-Unsubscribe"])))
        out.update(re.findall(r"https?://[^\s<>\"')\]]+", _plain(msg)))
    return sorted(out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    home = tmp_path_factory.mktemp("demo") / "home"
    env = subprocess_env(home)
    proc = subprocess.Popen(
        tbtwatch_cmd("demo", "--port", "0", "--json"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _read_json_document(proc)
        healthz = httpx.get(first["web"]["healthz"], timeout=10).status_code
        robots = httpx.get(first["mirror"] + "/robots.txt", timeout=10).status_code
        port = urlsplit(first["web"]["url"]).port
        # links to this demo's web app, opened while it runs (GETs: the unsubscribe page only asks to confirm)
        links = {
            url: httpx.get(url, timeout=10).status_code
            for url in _digest_links(home)
            if urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).port == port
        }
        links.update({url: 0 for url in _digest_links(home) if url not in links})  # elsewhere: not opened
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "Traceback" not in err, err[-3000:]

    second = subprocess.run(
        tbtwatch_cmd("demo", "--no-web", "--json"), env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Traceback" not in second.stderr, second.stderr[-3000:]
    yield Runs(home, first, json.loads(second.stdout), proc.returncode, healthz, robots, links)


def _messages(home: Path) -> dict[str, EmailMessage]:
    out: dict[str, EmailMessage] = {}
    for path in sorted((home / "maildir" / "new").iterdir()):
        with path.open("rb") as fh:
            msg = email.message_from_binary_file(fh, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out[msg["To"].addresses[0].addr_spec] = msg
    return out


def _plain(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_every_source_ran_without_errors(runs: Runs) -> None:
    report = runs.first
    assert report["ok"] is True
    assert [s["source"] for s in report["sources"]] == list(SOURCES)
    for s in report["sources"]:
        assert s["status"] == "ok", s
        assert s["errors"] == 0, s
        assert s["items"] > 0 and s["new"] > 0, s
        assert s["health"] == "ok", s
    by_source = {s["source"]: s for s in report["sources"]}
    assert by_source["eping_workbook"]["new"] == 229  # every row of the real workbook
    assert by_source["eping_api"]["quarantined"] == 5  # the constructed bad items
    totals = report["totals"]
    assert totals["tbt"] > 200 and totals["sps"] > 40 and totals["news"] > 20
    assert report["index"]["documents"] == totals["notices"]
    assert report["recipients"] == {"created": 2, "updated": 0, "unchanged": 0}


def test_two_digests_land_in_the_maildir(runs: Runs) -> None:
    assert runs.first["digests"]["sent"] == 2
    assert runs.first["maildir"]["new"] == 2
    messages = _messages(runs.home)
    assert set(messages) == {WARNING_POINT, EXPORTER}
    for msg in messages.values():
        assert CJK.search(str(msg["Subject"])), msg["Subject"]
        assert msg.get_content_type() == "multipart/alternative"
        assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}

    exporter = _plain(messages[EXPORTER])
    assert "G/TBT/N/USA/2145" in exporter  # portable electric heaters, HS 8516.29
    assert "HS 8516" in exporter
    assert "G/TBT/N/EU/1150" not in exporter

    point = _plain(messages[WARNING_POINT])
    assert "G/TBT/N/EU/1150" in point  # toy safety
    assert "玩具" in point
    assert "G/TBT/N/USA/2160" in point  # Christmas decorations, Yiwu small commodities


def _search(home: Path, text: str) -> dict[str, Any]:
    done = subprocess.run(
        tbtwatch_cmd("search", text, "--json", "--limit", "50"),
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_search_finds_chinese_and_english(runs: Runs) -> None:
    toys = _search(runs.home, "玩具")
    assert "G/TBT/N/EU/1150" in [h["id"] for h in toys["hits"]]  # through the SAMR Chinese title
    battery = _search(runs.home, "battery")
    ids = [h["id"] for h in battery["hits"]]
    assert "G/TBT/N/EU/1165" in ids
    assert any(i.startswith("news:") for i in ids)  # the WTO RSS item on battery regulations
    assert runs.first["searches"]["玩具"]["total"] == toys["total"]


def test_second_run_finds_nothing_new_and_sends_nothing(runs: Runs) -> None:
    report = runs.second
    assert report["mirror"] == runs.first["mirror"]  # same port: news URLs stay the same
    for s in report["sources"]:
        assert (s["new"], s["changed"], s["errors"], s["status"]) == (0, 0, 0, "ok"), s
    assert report["totals"]["notices"] == runs.first["totals"]["notices"]
    assert report["recipients"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert report["digests"]["sent"] == 0 and report["maildir"]["new"] == 0
    assert len(report["maildir"]["files"]) == 2
    assert len(_messages(runs.home)) == 2


def test_web_mode_serves_until_ctrl_c(runs: Runs) -> None:
    web = runs.first["web"]
    assert web["url"].startswith("http://127.0.0.1:")
    assert web["notice"].endswith("/notices/G/TBT/N/EU/1150")
    assert runs.healthz == 200
    assert runs.mirror_robots == 200  # the mirror stays up while the web app runs
    assert runs.first_exit == 0
    assert runs.second["web"] is None  # --no-web


def test_digest_links_point_at_the_port_the_web_app_got(runs: Runs) -> None:
    """``--port 0``: the digests are rendered before the web app starts, yet carry its real port."""
    port = urlsplit(runs.first["web"]["url"]).port
    assert port and port != 8000
    mirror = urlsplit(runs.first["mirror"]).port  # news items link to their page on the local mirror
    ours = [u for u in runs.links if urlsplit(u).hostname == "127.0.0.1" and urlsplit(u).port != mirror]
    assert ours, runs.links
    assert all(urlsplit(u).port == port for u in ours), ours  # nothing at another port (8000 before the fix)
    unsubscribe = [u for u in ours if "/unsubscribe/" in u]
    assert len(unsubscribe) == 2, ours  # one List-Unsubscribe link per digest
    assert {runs.links[u] for u in ours} == {200}, runs.links


def test_human_report_is_chinese_first(runs: Runs) -> None:
    from rich.console import Console

    from tbtwatch.demo.report import print_report

    console = Console(record=True, width=120)
    print_report(runs.first, console)
    text = console.export_text()
    first_line = text.splitlines()[0]
    assert first_line.startswith("tbtwatch 离线演示 offline demo")
    for word in ("来源 source", "隔离", "摘要邮件 digests", "收件人 recipients", "检索索引 search index"):
        assert word in text
    assert runs.first["maildir"]["path"] in text
    assert "eping_workbook" in text


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            tbtwatch_cmd("demo", "--port", str(port)),
            env=subprocess_env(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "home" / "tbtwatch.sqlite3").exists()  # refused before anything ran
