"""Hostile input against the HTML pages and forms (not in the OpenAPI document): never a 5xx.

A real uvicorn server serves a home of its own built from the real ePing export (the forms change its
recipients). Hypothesis generates query strings for the search page and exports, paths for notices and
signed links, and form bodies (with a valid CSRF pair, so they reach the handlers) for the self-service,
unsubscribe and admin forms, mixing known field names with stray ones and known-awkward values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_testlib import ADMIN_TOKEN, CASES, SIGNING_KEY, build_home, csrf_of, token_for

from tbtwatch.settings import Settings, load_settings
from tbtwatch.web.server import WebServer

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
AWKWARD = [
    "", " ", "0", "-1", "1.0", "²", "١", "9" * 30, "2263-01-01", "0001-01-01", "2025-02-30", "\x00",
    "'; DROP TABLE notices; --", "<script>alert(1)</script>", "(toys", '"unclosed', "AND", "NOT",
    "G/TBT/N/EU/1050/Add.1", "玩具", "锂电池 OR battery", "\u202e\ufeff", "𠀀🙂", "%00", "../../etc/passwd",
    "true", "false", "on", "relevance", "date", "high", "tbt", "news", "EU", "8507", "zh", "en",
]  # fmt: skip
SEARCH_FIELDS = [
    "q", "kind", "member", "cluster", "hs", "risk", "from", "to", "open", "sort", "page", "size",
    "facets", "lang", "stray",
]  # fmt: skip
FORM_FIELDS = [
    "name", "keywords", "hs_prefixes", "members", "clusters", "kinds", "min_risk", "position",
    "frequency", "language", "List-Unsubscribe", "token", "yaml", "stray",
]  # fmt: skip
values = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40))


def pairs(fields: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Name/value pairs: known names (some repeated) and now and then any text as a name."""
    names = st.one_of(st.sampled_from(fields), st.text(min_size=1, max_size=10))
    return st.lists(st.tuples(names, values), max_size=8)


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """Base URL of a server over a home of its own, and its settings."""
    home = build_home(Path(tmp_path_factory.mktemp("web-forms")) / "home")
    site_settings = load_settings(
        home, environ={"TBTWATCH_ADMIN_TOKEN": ADMIN_TOKEN, "TBTWATCH_SIGNING_KEY": SIGNING_KEY}
    )
    server = WebServer(site_settings, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server.url, site_settings
    finally:
        server.stop()


def _no_5xx(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.request.method, str(r.request.url)[:300], r.text[:300])


@FUZZ
@given(
    path=st.sampled_from(["/search", "/search/export.csv", "/search/export.xlsx", "/dashboard", "/"]),
    params=pairs(SEARCH_FIELDS),
)
def test_pages_answer_any_query_string(
    fuzz_site: tuple[str, Settings], path: str, params: list[tuple[str, str]]
) -> None:
    CASES["pages: query strings (hypothesis)"] += 1
    with httpx.Client(base_url=fuzz_site[0], timeout=60) as c:
        _no_5xx(c.get(path, params=params))


@FUZZ
@given(
    prefix=st.sampled_from(["/notices/", "/subscriptions/", "/unsubscribe/", "/api/notices/"]),
    tail=st.one_of(st.sampled_from(AWKWARD), st.text(min_size=1, max_size=60)),
)
def test_paths_with_any_id_or_token(fuzz_site: tuple[str, Settings], prefix: str, tail: str) -> None:
    CASES["pages: ids and tokens in paths (hypothesis)"] += 1
    with httpx.Client(base_url=fuzz_site[0], timeout=60) as c:
        _no_5xx(c.get(prefix + quote(tail, safe="/")))


@FUZZ
@given(
    form=st.sampled_from(
        [
            "/subscriptions/{token}/settings",
            "/subscriptions/{token}/add",
            "/subscriptions/{token}/delete",
            "/subscriptions/{token}/resubscribe",
            "/unsubscribe/{token}",
            "/admin/login",
            "/admin/recipients",
            "/admin/recipients/form-test/delete",
        ]
    ),
    fields=pairs(FORM_FIELDS),
    with_csrf=st.booleans(),
)
def test_forms_answer_any_body(
    fuzz_site: tuple[str, Settings], form: str, fields: list[tuple[str, str]], with_csrf: bool
) -> None:
    CASES["forms: bodies (hypothesis)"] += 1
    url, site_settings = fuzz_site
    token = token_for(site_settings, "browser@test.example.cn")
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as c:
        page = c.get(f"/subscriptions/{token}")
        if page.status_code != 200:  # unsubscribed by an earlier example: the login page has a form too
            page = c.get("/admin/login")
        body = [*fields, ("csrf_token", csrf_of(page.text))] if with_csrf else fields
        if form.startswith("/admin/recipients"):  # signed in, so the admin handlers read the body
            login = c.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf_of(page.text)})
            assert login.status_code == 303, login.text[:300]
        encoded = urlencode(body).encode()  # repeated names kept, as a browser sends them
        headers = {"content-type": "application/x-www-form-urlencoded"}
        _no_5xx(c.post(form.format(token=token), content=encoded, headers=headers))
