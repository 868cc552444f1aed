"""Shared fixtures for the classifier tests: the bundled taxonomy, a classifier, a small trained model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from clf_helpers import TRAIN_NOTICES, TrainedHome
from typer.testing import CliRunner

from classifier.classify import Classifier
from classifier.doc import Doc
from classifier.model import TextModel, fit, load_model
from classifier.risk import RiskConfig, load_risk
from classifier.taxonomy import Taxonomy, load_taxonomy
from tbtwatch.cli import app
from tbtwatch.models import Notice
from tbtwatch.settings import load_settings
from tbtwatch.store import Store

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
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> TrainedHome:
    """The one full training of the test session (taxonomy seeds + three notices), through the real CLI;
    the CLI test checks its output, the model tests use the model it saved."""
    home = tmp_path_factory.mktemp("trained_home")
    store = Store.open(load_settings(home, environ={}).store_path)
    for sym, kind, title, hs in TRAIN_NOTICES:
        store.upsert(
            Notice(id=sym, base_id=sym, kind=kind, member="EU", title=title, hs_codes=hs, source="test")
        )
    store.close()
    result = CliRunner().invoke(app, ["--home", str(home), "classifier", "train", "--holdout", "0", "--json"])
    return TrainedHome(home, result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def trained(trained_home: TrainedHome, taxonomy: Taxonomy) -> TextModel:
    """The model the session's CLI training saved (seeds and three weakly labelled notices)."""
    assert trained_home.exit_code == 0, trained_home.stderr
    model = load_model(load_settings(trained_home.home, environ={}).models_dir, taxonomy)
    assert model is not None
    return model


@pytest.fixture(scope="session")
def tiny_model(taxonomy: Taxonomy) -> TextModel:
    """A model fitted on three short texts per cluster (well under a second), for the tests of the artifact,
    its metadata and the fall-backs to rules, where what the model predicts does not matter."""
    docs: list[Doc] = []
    labels: list[list[str]] = []
    for c in taxonomy.clusters:
        for i, text in enumerate((c.name_en, c.name_zh, (c.products_en or c.keywords_en)[0])):
            docs.append(Doc(id=f"tiny:{c.id}:{i}", title=text))
            labels.append([c.id])
    return fit(docs, labels, taxonomy)


@pytest.fixture
def today() -> Iterator[date]:
    """A fixed 'today' for deadline-dependent risk grades."""
    yield date(2025, 6, 10)


def doc(title: str, **kw: object) -> Doc:
    """A document with defaults for tests."""
    return Doc(id=str(kw.pop("id", "G/TBT/N/EU/1")), title=title, **kw)  # type: ignore[arg-type]
