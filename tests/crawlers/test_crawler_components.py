"""Middleware and extension behaviour in isolation: backoff of retries, the government delay floor."""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.extensions import PoliteAutoThrottle
from crawlers.middlewares import BackoffRetryMiddleware


class _Spider(Spider):
    name = "probe"


def _retry_mw(**settings: object) -> BackoffRetryMiddleware:
    crawler = get_crawler(
        _Spider, {"RETRY_TIMES": 3, "RETRY_BACKOFF_BASE": 0.5, "RETRY_BACKOFF_MAX": 3, **settings}
    )
    crawler.spider = _Spider.from_crawler(crawler)
    return BackoffRetryMiddleware.from_crawler(crawler)


def test_backoff_doubles_and_is_capped() -> None:
    mw = _retry_mw()
    request = Request("https://www.wto.org/x")
    waits = []
    for _ in range(3):
        result = mw.process_response(request, Response(request.url, status=503))
        assert isinstance(result, Request)
        waits.append(result.meta["backoff_wait"])
        request = result
    assert waits == [0.5, 1.0, 2.0]
    gave_up = mw.process_response(request, Response(request.url, status=503))
    assert isinstance(gave_up, Response)  # RETRY_TIMES reached: the 503 goes to the errback as an error
    capped = _retry_mw(RETRY_BACKOFF_BASE=10)
    retry = capped.process_response(Request("https://a.org"), Response("https://a.org", status=500))
    assert isinstance(retry, Request) and retry.meta["backoff_wait"] == 3


def test_retry_after_and_timeouts() -> None:
    from scrapy.exceptions import DownloadTimeoutError

    mw = _retry_mw()
    request = Request("https://www.wto.org/x")
    slow_down = mw.process_response(request, Response(request.url, status=429, headers={"Retry-After": "2"}))
    assert isinstance(slow_down, Request) and slow_down.meta["backoff_wait"] == 2
    timed_out = mw.process_exception(request, DownloadTimeoutError("took too long"))
    assert isinstance(timed_out, Request) and timed_out.meta["backoff_wait"] == 0.5
    not_retried = mw.process_response(request, Response(request.url, status=404))
    assert isinstance(not_retried, Response) and not_retried.status == 404


def test_backoff_wait_happens_once_before_download() -> None:
    mw = _retry_mw()
    request = Request("https://www.wto.org/x", meta={"backoff_wait": 0.2})
    started = time.monotonic()
    asyncio.run(mw.process_request(request))
    assert time.monotonic() - started >= 0.19
    assert "backoff_wait" not in request.meta
    started = time.monotonic()
    asyncio.run(mw.process_request(request))
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize(
    ("host", "floor"),
    [
        ("www.yidaiyilu.gov.cn", 2.0),
        ("api.wto.org", 2.0),
        ("wto.sacinfo.org.cn", 2.0),
        ("asean.org", 2.0),
        ("www.iso.org", 1.0),
        ("notgov.cn.example.com", 1.0),
    ],
)
def test_government_floor(host: str, floor: float) -> None:
    crawler = get_crawler(
        _Spider,
        {
            "AUTOTHROTTLE_ENABLED": True,
            "DOWNLOAD_DELAY": 1.0,
            "GOVERNMENT_MIN_DELAY": 2.0,
            "GOVERNMENT_DOMAINS": ["gov.cn", "wto.org", "sacinfo.org.cn", "asean.org"],
        },
    )
    throttle = PoliteAutoThrottle(crawler)
    throttle.mindelay = 1.0
    assert throttle.floor(host) == floor


def test_throttle_is_off_when_autothrottle_is_off() -> None:
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        PoliteAutoThrottle(get_crawler(_Spider, {"AUTOTHROTTLE_ENABLED": False}))
