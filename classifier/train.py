"""Assemble weakly supervised training data and train, evaluate and save the text model."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from classifier.doc import Doc
from classifier.evaluate import scores
from classifier.model import TextModel, fit
from classifier.rules import RuleMatcher
from classifier.taxonomy import Taxonomy
from classifier.weak import negative_examples, read_hs_descriptions, seed_examples, weak_examples

log = logging.getLogger(__name__)


@dataclass
class TrainingSet:
    """Training documents with labels, and the weakly labelled notices held out for metrics."""

    docs: list[Doc] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)
    holdout: list[tuple[Doc, list[str]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _in_holdout(doc_id: str, fraction: float) -> bool:
    digest = hashlib.sha1(doc_id.encode("utf-8")).digest()
    return digest[0] / 256.0 < fraction


def build_training_set(taxonomy: Taxonomy, notices: Iterable[Doc], *, holdout: float = 0.1) -> TrainingSet:
    """Seeds, negative seeds and weakly labelled notices (a stable ``holdout`` share of them kept aside)."""
    hs = read_hs_descriptions()
    ts = TrainingSet()
    seeds = seed_examples(taxonomy, hs)
    negatives = negative_examples(taxonomy, hs)
    weak = weak_examples(notices, RuleMatcher(taxonomy))
    for doc, lab in [*seeds, *negatives]:
        ts.docs.append(doc)
        ts.labels.append(lab)
    for doc, lab in weak:
        if holdout > 0 and _in_holdout(doc.id, holdout):
            ts.holdout.append((doc, lab))
        else:
            # The model must learn from text: the HS codes it was labelled by are not features anyway.
            ts.docs.append(doc)
            ts.labels.append(lab)
    ts.counts = {
        "seeds": len(seeds),
        "negative_seeds": len(negatives),
        "weak_notices": len(weak) - len(ts.holdout),
        "weak_positive": sum(1 for _, lab in weak if lab),
        "holdout": len(ts.holdout),
    }
    return ts


def train(
    taxonomy: Taxonomy, notices: Iterable[Doc], *, holdout: float = 0.1, alpha: float = 2e-5
) -> TextModel:
    """Train on seeds plus weakly labelled notices; metrics on the held-out weak labels go in the metadata."""
    ts = build_training_set(taxonomy, notices, holdout=holdout)
    log.info("training on %d examples (%s)", len(ts.docs), ts.counts)
    model = fit(ts.docs, ts.labels, taxonomy, alpha=alpha, extra_meta={"counts": ts.counts})
    metrics: dict[str, Any] = {"holdout_items": len(ts.holdout)}
    if ts.holdout:
        proba = model.predict_proba([d for d, _ in ts.holdout])
        pred = [
            {model.cluster_ids[j] for j in range(len(model.cluster_ids)) if row[j] >= 0.5} for row in proba
        ]
        s = scores([frozenset(lab) for _, lab in ts.holdout], pred)
        metrics["holdout_weak_labels"] = {"micro": s["micro"], "macro": s["macro"]}
    model.meta["metrics"] = metrics
    return model
