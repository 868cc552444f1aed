"""Hostile input against the JSON API: schemathesis generates requests from ``/openapi.json``.

The app runs over a real store and tantivy index built from the real ePing export (a home of its own:
the admin endpoints are fuzzed with the token, so they create and remove recipients). Both valid and
invalid inputs are generated (schemathesis' positive and negative modes); every answer must not be a
5xx and must conform to the documented status codes, content types and response schemas. The number
of generated cases is printed in the terminal summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode
from web_testlib import ADMIN_TOKEN, CASES, SIGNING_KEY, build_home

from tbtwatch.settings import load_settings
from tbtwatch.web.app import create_app

#: Generated cases per operation (both modes share them): eight operations, twice (with and without the
#: admin token).
MAX_EXAMPLES = 100
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _openapi() -> dict[str, Any]:
    # the document does not depend on the home (nothing is read or created): any path will do
    return create_app(load_settings(Path("/nonexistent/tbtwatch-openapi"), environ={})).openapi()


schema = schemathesis.openapi.from_dict(_openapi())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


@pytest.fixture(scope="session")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app over a home of its own (the admin endpoints are fuzzed with the token)."""
    home = build_home(Path(tmp_path_factory.mktemp("web-fuzz")) / "home")
    settings = load_settings(
        home, environ={"TBTWATCH_ADMIN_TOKEN": ADMIN_TOKEN, "TBTWATCH_SIGNING_KEY": SIGNING_KEY}
    )
    return create_app(settings)


@schema.parametrize()
def test_api_answers_hostile_input_without_5xx_and_as_documented(case: Any, fuzz_app: Any) -> None:
    CASES["openapi with the admin token (schemathesis)"] += 1
    case.call_and_validate(app=fuzz_app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=CHECKS)


@schema.parametrize()
def test_api_without_the_admin_token(case: Any, fuzz_app: Any) -> None:
    CASES["openapi without a token (schemathesis)"] += 1
    case.call_and_validate(app=fuzz_app, checks=CHECKS)
