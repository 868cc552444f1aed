"""``tbtwatch demo`` (registered in :mod:`tbtwatch.cli`)."""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tbtwatch.cli import console, emit_json, err_console, run_guarded, settings
from tbtwatch.errors import TbtwatchError
from tbtwatch.settings import AlertsSettings, Settings

if TYPE_CHECKING:
    from crawlers.runner import CrawlSummary

log = logging.getLogger(__name__)


class PortInUseError(TbtwatchError):
    """The web app's port is taken."""


def bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (0: a free port), for the web app to serve on later; raise
    :class:`PortInUseError` when it cannot be bound. Bound before the crawls, so a taken port fails in a
    second rather than after the pipeline, and the digests' links carry the real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        taken = exc.errno == errno.EADDRINUSE
        why = "已被占用 is already in use" if taken else f"无法监听 cannot be listened on ({exc.strerror})"
        raise PortInUseError(
            f"网页端口 web port {host}:{port} {why}. "
            f"Fix: pass --port with a free port (e.g. --port {port + 1}), or --no-web."
        ) from None
    return sock


def _web_base(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    return f"http://{shown}:{port}"


def demo_cmd(
    no_web: Annotated[
        bool, typer.Option("--no-web", help="run the pipeline, print the report and exit (scripts, CI)")
    ] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="web app port (default: web.port)", min=0, max=65535)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """离线演示 offline demo: 本地镜像抓取内置数据，给两个示例收件人发摘要邮件，启动网页.

    Serves the bundled fixtures on 127.0.0.1 as a mirror of every source, crawls them through the ingest path
    (classify, index, match), sends the digests of two sample recipients to the maildir, prints where to look
    and serves the web app until Ctrl-C.
    """
    from tbtwatch.demo.mirror import Mirror
    from tbtwatch.demo.pipeline import (
        SOURCES,
        check_home,
        demo_environment,
        run_pipeline,
        start_mirror,
    )
    from tbtwatch.demo.report import build_report, maildir_names

    started = time.perf_counter()
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        # production advice (set a signing key, serve links over HTTPS) that a local demo cannot follow
        for name in ("alerts.tokens", "alerts.render"):
            logging.getLogger(name).setLevel(logging.ERROR)
    base = settings()
    host = base.web.host
    web_port = base.web.port if port is None else port
    extra: dict[str, str] = {}
    sock: socket.socket | None = None
    if not no_web:
        sock = run_guarded(lambda: bind_port(host, web_port))
        web_port = int(sock.getsockname()[1])  # the real one when --port 0 asked for any free port
        if base.alerts.base_url == AlertsSettings().base_url:
            # links in the digests point at the web app this demo starts
            extra["TBTWATCH_ALERTS__BASE_URL"] = _web_base(host, web_port)

    def progress(result: CrawlSummary) -> None:
        if not as_json:
            err_console.print(
                f"  {result.source}: {result.items} 条 items, {result.new} 新 new, {result.errors} 错误 errors"
                f" ({result.seconds:.1f} s)",
                highlight=False,
            )

    def pipeline() -> tuple[Settings, Mirror, dict[str, Any]]:
        with demo_environment(extra):
            s = settings()  # again, now with the demo's variables
            check_home(s)
            s.home.mkdir(parents=True, exist_ok=True)
            mirror = start_mirror(s)
            if not as_json:
                err_console.print(
                    f"本地镜像 mirror {mirror.url}; 抓取 crawling {len(SOURCES)} sources ...", highlight=False
                )
            try:
                before = maildir_names(s.maildir)
                result = run_pipeline(s, mirror, on_done=progress)
                web_url = None if no_web else _web_base(host, web_port)
                report = build_report(
                    s,
                    result,
                    maildir_before=before,
                    web_url=web_url,
                    seconds=time.perf_counter() - started,
                )
            except BaseException:
                mirror.stop()
                raise
        return s, mirror, report

    try:
        try:
            s, mirror, report = run_guarded(pipeline)
        except KeyboardInterrupt:
            # the crawl subprocesses got the same Ctrl-C and recorded their runs as they stopped
            err_console.print("已中断 interrupted", highlight=False)
            raise typer.Exit(130) from None
        try:
            if sock is None:
                _print(report, as_json)
            else:
                _serve(s, host, sock, report, as_json)
        finally:
            mirror.stop()
    finally:
        if sock is not None:
            sock.close()
    if not report["ok"]:
        raise typer.Exit(1)


def _print(report: dict[str, Any], as_json: bool) -> None:
    from tbtwatch.demo.report import print_report

    if as_json:
        emit_json(report)
    else:
        print_report(report, console)


def _serve(s: Settings, host: str, sock: socket.socket, report: dict[str, Any], as_json: bool) -> None:
    """Start the web app on ``sock`` (bound before the pipeline, so the report and the digests already carry
    its port), print the report with its URLs, and block until Ctrl-C (the mirror stays up so the news
    items' links keep working)."""
    from tbtwatch.web.server import WebServer

    server = WebServer(s, host=host, sock=sock)
    run_guarded(server.start)
    _print(report, as_json)
    sys.stdout.flush()
    stop = threading.Event()
    # Ctrl-C and SIGTERM end the wait (handled here, not as KeyboardInterrupt: a shell that starts the demo
    # in the background ignores SIGINT, and uvicorn's own handlers are only installed in the main thread)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
        err_console.print("停止 stopping ...", highlight=False)
    finally:
        server.stop()
