"""A full or read-only home directory: the CLI (``import-eping``, ``digest run``) stops with a clear message
and no traceback, the store passes ``PRAGMA integrity_check`` and keeps what it had, and everything works
again once space returns or the file system is writable again.

The home lives on a small tmpfs mounted for the test (root can mount; a read-only directory does not stop
root, so a real read-only mount is used). Where mounting is not allowed, the disk-full case runs with a
file-size limit (RLIMIT_FSIZE) on the subprocesses instead, and the read-only case is skipped.
"""

from __future__ import annotations

import contextlib
import email
import json
import resource
import subprocess
import uuid
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest
from core.core_workbooks import row, write
from testutil import FIXTURES, subprocess_env, tbtwatch_cmd

from alerts.repository import AlertsRepository
from tbtwatch.store import Store

SIGNING_KEY = "test-signing-key-0123456789abcdef"
REAL_WORKBOOK = FIXTURES / "eping" / "eping_export_2025-06.xlsx"
RECIPIENTS = """
recipients:
  - id: exp-all
    type: exporter
    name: 全部通报企业
    addresses: [all@e.example.cn]
    frequency: immediate
    subscriptions:
      - kinds: [tbt, sps]
"""


def _mount(point: Path, size: str) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path | None]:
    """A 16 MB tmpfs (None when this machine does not let the test mount one)."""
    point = tmp_path / f"fs-{uuid.uuid4().hex[:8]}"
    if not _mount(point, "16m"):
        yield None
        return
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _runner(home: Path, fsize: int | None = None) -> Callable[..., subprocess.CompletedProcess[str]]:
    env = subprocess_env(home)
    env["TBTWATCH_SIGNING_KEY"] = SIGNING_KEY

    def limit() -> None:  # pragma: no cover - runs in the child
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    def run(*args: str, limited: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            tbtwatch_cmd("--home", str(home), *args),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=limit if limited else None,
        )

    return run


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 512):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * size)
    return filler


def _assert_clear_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert "error:" in done.stderr
    assert any(w in done.stderr for w in words), done.stderr


def _check_store(home: Path) -> dict[str, Any]:
    with Store.open(home / "tbtwatch.sqlite3", readonly=True) as store:
        assert store.integrity_check() == "ok"
        repo = AlertsRepository(store)
        return {
            "notices": store.count(),
            "alerts": len(repo.alerts_for()),
            "outbox": repo.outbox_counts(),
        }


def _maildir_notices(home: Path) -> list[str]:
    """Notice symbols named in the subjects and bodies of the delivered e-mails (one list entry per mail)."""
    out = []
    for path in sorted((home / "maildir" / "new").glob("*")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append(str(msg["Message-ID"]))
    return out


def _setup(tmp_path: Path, home: Path) -> tuple[Callable[..., subprocess.CompletedProcess[str]], Path]:
    home.mkdir(parents=True)
    (home / "tbtwatch.toml").write_text(
        '[alerts]\nbase_url = "https://tbt.example.cn"\nfrom_address = "alerts@tbt.example.cn"\n',
        encoding="utf-8",
    )
    recipients = tmp_path / "recipients.yaml"
    recipients.write_text(RECIPIENTS, encoding="utf-8")
    small = write(
        tmp_path / "small.xlsx", [row(**{"Document symbol": f"G/TBT/N/CHN/{4000 + i}"}) for i in range(15)]
    )
    return _runner(home), small


def _first_import(run: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path, small: Path) -> None:
    done = run("recipients", "import", str(tmp_path / "recipients.yaml"))
    assert done.returncode == 0, done.stderr
    done = run("import-eping", str(small), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 15


def _recover(run: Callable[..., subprocess.CompletedProcess[str]], home: Path) -> None:
    done = run("import-eping", str(REAL_WORKBOOK), "--json")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["new"] + counts["unchanged"] == 229 and counts["errors"] == 0
    done = run("digest", "run", "--frequency", "immediate", "--json")
    assert done.returncode == 0, done.stderr
    state = _check_store(home)
    assert state["notices"] == 15 + 229
    assert state["alerts"] == 15 + 229  # every notice matched the one recipient once
    assert state["outbox"].get("pending", 0) == 0 and state["outbox"].get("failed", 0) == 0
    assert _maildir_notices(home), "the digests reached the maildir"


def test_disk_full_home(tmp_path: Path, small_fs: Path | None) -> None:
    home = (small_fs or tmp_path) / "home"
    run, small = _setup(tmp_path, home)
    _first_import(run, tmp_path, small)
    before = _check_store(home)

    if small_fs is not None:
        filler = _fill(small_fs)
        full_run = run
    else:  # no mount: every file written by the subprocess is capped at its current size
        filler = None
        capped = _runner(home, fsize=(home / "tbtwatch.sqlite3").stat().st_size)
        full_run = capped
    done = full_run("import-eping", str(REAL_WORKBOOK), "--json", limited=filler is None)
    _assert_clear_failure(done, "disk", "full", "磁盘已满", "too large")
    done = full_run("digest", "run", "--frequency", "immediate", "--json", limited=filler is None)
    _assert_clear_failure(done, "disk", "full", "磁盘已满", "too large")
    if filler is not None:
        assert "磁盘已满" in done.stderr  # the hint names the cause and the fix
    after = _check_store(home)
    assert (
        after["notices"] >= before["notices"]
    )  # nothing lost (a batch may have landed before the disk filled)

    if filler is not None:
        filler.unlink()
    _recover(run, home)


def test_read_only_home(tmp_path: Path, small_fs: Path | None) -> None:
    if small_fs is None:
        pytest.skip("cannot mount a file system here, and a read-only directory does not stop root")
    home = small_fs / "home"
    run, small = _setup(tmp_path, home)
    _first_import(run, tmp_path, small)
    before = _check_store(home)

    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True, capture_output=True)
    try:
        done = run("import-eping", str(REAL_WORKBOOK), "--json")
        _assert_clear_failure(done, "只读", "read-only", "readonly")
        done = run("digest", "run", "--frequency", "immediate", "--json")
        _assert_clear_failure(done, "只读", "read-only", "readonly")
        assert "只读" in done.stderr
        with Store.open(home / "tbtwatch.sqlite3", readonly=True) as store:
            assert store.count() == before["notices"]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True, capture_output=True)
    assert _check_store(home) == before
    _recover(run, home)
