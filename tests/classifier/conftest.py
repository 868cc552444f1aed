"""Shared fixtures for the classifier tests: the bundled taxonomy, a classifier, a small trained model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from classifier.classify import Classifier
from classifier.doc import Doc
from classifier.model import TextModel
from classifier.risk import RiskConfig, load_risk
from classifier.taxonomy import Taxonomy, load_taxonomy
from classifier.train import train

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "classifier"


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    """The bundled config/clusters.yaml."""
    return load_taxonomy()


@pytest.fixture(scope="session")
def risk_config() -> RiskConfig:
    """The bundled config/risk.yaml."""
    return load_risk()


@pytest.fixture(scope="session")
def rules(taxonomy: Taxonomy, risk_config: RiskConfig) -> Classifier:
    """A rules-only classifier."""
    return Classifier(taxonomy, risk_config)


@pytest.fixture(scope="session")
def trained(taxonomy: Taxonomy) -> TextModel:
    """A model trained on the taxonomy seeds and a few weakly labelled notices (a few seconds)."""
    docs = [
        Doc(id="w1", title="Safety of electric toys", hs_codes=["950300"]),
        Doc(id="w2", title="Energy labelling of refrigerators", hs_codes=["841810"]),
        Doc(id="w3", title="Maximum residue limits in barley", hs_codes=["100310"], kind="sps"),
    ]
    return train(taxonomy, docs, holdout=0.0)


@pytest.fixture
def today() -> Iterator[date]:
    """A fixed 'today' for deadline-dependent risk grades."""
    yield date(2025, 6, 10)


def doc(title: str, **kw: object) -> Doc:
    """A document with defaults for tests."""
    return Doc(id=str(kw.pop("id", "G/TBT/N/EU/1")), title=title, **kw)  # type: ignore[arg-type]
