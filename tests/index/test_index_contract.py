"""The backend contract: every backend answers the shared cases like the reference scan, and like each other.

Cases live in ``tests/fixtures/index/contract_cases.yaml``. Elasticsearch runs against ``TBTWATCH_ES_URL``
or the noida-db emulator; a case needing a feature the server lacks is skipped with the reason.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from index.backend import SearchBackend, finish_facets
from index.documents import FACETS
from index.query import Query
from index.scan import matches, scan

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "tests/fixtures/index/contract_cases.yaml").read_text(
        encoding="utf-8"
    )
)


def _query(case: dict[str, Any]) -> Query:
    return Query(**case["query"])


def _skip_unsupported(backend: SearchBackend, case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if (
        case.get("needs") == "porter2"
        and backend.name == "elasticsearch"
        and not request.getfixturevalue("es_stems_porter2")
    ):
        pytest.skip(
            "this Elasticsearch (the noida-db emulator) stems `porter2` like Porter (international ->"
            " intern); real Elasticsearch uses Snowball English, as the embedded index does"
        )


def _reference_facets(q: Query, docs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    plan = q.plan()
    hits = [d for d in docs if matches(q, d, plan)]
    raw: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for d in hits:
        for name, field in FACETS.items():
            value = d.get(field)
            for v in value if isinstance(value, list) else [value]:
                if v is not None:
                    raw[name][str(v)] += 1
    return finish_facets(raw)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_backend_matches_reference_scan(
    backend: SearchBackend,
    case: dict[str, Any],
    corpus_docs: list[dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    _skip_unsupported(backend, case, request)
    q = _query(case)
    expected = scan(q, corpus_docs)
    assert len(expected) >= case.get("min", 0), "the case finds too little in the corpus to prove anything"
    assert len(expected) <= case.get("max", len(expected))

    results = backend.search(q)

    assert results.total == len(expected)
    page = expected[q.offset : q.offset + q.size]
    if q.effective_sort == "date":
        assert results.ids == page
        assert backend.ids(q) == expected
    else:
        assert len(results.ids) == len(page)
        assert set(results.ids) <= set(expected)
        assert sorted(backend.ids(q)) == sorted(expected)
        scores = [h.score for h in results.hits]
        assert all(s is not None for s in scores)
        assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_backend_facets_match_reference(
    backend: SearchBackend,
    case: dict[str, Any],
    corpus_docs: list[dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    _skip_unsupported(backend, case, request)
    q = _query(case)
    assert backend.search(q).facets == _reference_facets(q, corpus_docs)


@pytest.mark.elasticsearch
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_backends_return_the_same_ids(
    embedded_loaded: SearchBackend,
    es_loaded: SearchBackend,
    case: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    _skip_unsupported(es_loaded, case, request)
    q = _query(case)
    ours, theirs = embedded_loaded.search(q), es_loaded.search(q)
    assert ours.total == theirs.total
    assert ours.facets == theirs.facets
    if q.effective_sort == "date":
        assert ours.ids == theirs.ids
        assert embedded_loaded.ids(q) == es_loaded.ids(q)
        # same stored fields and the same highlighting code: identical hits, snippets included
        assert [(h.snippets, h.fields) for h in ours.hits] == [(h.snippets, h.fields) for h in theirs.hits]
    else:
        assert set(embedded_loaded.ids(q)) == set(es_loaded.ids(q))


def test_every_case_is_used_once() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    for c in CASES:
        assert set(c) <= {"id", "query", "min", "max", "needs"}, c["id"]
        Query(**c["query"])  # every case is a valid query
