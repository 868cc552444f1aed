"""Request metrics in the Prometheus text format (no client library: a few counters and a histogram).

:class:`MetricsMiddleware` counts requests by method, route template and status, and observes their
latency; :func:`render` adds the gauges read at scrape time (notices, outbox, index documents, runs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Latency buckets in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Registry:
    """Request counters and latency histograms, per (method, route, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = {}
        self.latency: dict[tuple[str, str], list[float]] = {}  # bucket counts, then sum, then count
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        with self._lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            hist = self.latency.setdefault((method, route), [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += seconds
            hist[-1] += 1

    def lines(self) -> list[str]:
        """The request metrics as exposition lines."""
        with self._lock:
            requests = dict(self.requests)
            latency = {k: list(v) for k, v in self.latency.items()}
        out = [
            "# HELP tbtwatch_http_requests_total HTTP requests by method, route and status.",
            "# TYPE tbtwatch_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(requests.items()):
            out.append(
                f'tbtwatch_http_requests_total{{method="{method}",route="{_esc(route)}",status="{status}"}} {n}'
            )
        out += [
            "# HELP tbtwatch_http_request_duration_seconds HTTP request latency.",
            "# TYPE tbtwatch_http_request_duration_seconds histogram",
        ]
        for (method, route), hist in sorted(latency.items()):
            labels = f'method="{method}",route="{_esc(route)}"'
            for i, bound in enumerate(BUCKETS):
                out.append(
                    f'tbtwatch_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {int(hist[i])}'
                )
            out.append(f'tbtwatch_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {int(hist[-1])}')
            out.append(f"tbtwatch_http_request_duration_seconds_sum{{{labels}}} {hist[-2]:.6f}")
            out.append(f"tbtwatch_http_request_duration_seconds_count{{{labels}}} {int(hist[-1])}")
        out += [
            "# HELP tbtwatch_process_start_time_seconds Start time of the web process.",
            "# TYPE tbtwatch_process_start_time_seconds gauge",
            f"tbtwatch_process_start_time_seconds {self.started:.3f}",
        ]
        return out


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def gauge(name: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    """Exposition lines of one gauge with labelled samples."""
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(labels.items()))
        out.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")
    return out


class MetricsMiddleware:
    """Times every HTTP request and records it under its route template (never the raw path)."""

    def __init__(self, app: ASGIApp, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.registry.observe(scope["method"], template, status, time.perf_counter() - started)
