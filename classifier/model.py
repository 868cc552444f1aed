"""The text model: TF-IDF word and character n-grams, one calibrated linear classifier per cluster.

Features work across English, French, Spanish and Chinese without a language switch: word uni- and
bigrams of the first 2,000 characters (CJK ideographs are spaced out first, so for Chinese they are
character uni- and bigrams) plus character 3-4-grams within word boundaries of the first 160 characters
of title and products (robust to French/Spanish inflection and spelling variants, and cheap). Each
cluster gets a linear SVM (hinge loss, trained by SGD for 5 to 12 epochs, fewer on more data) whose decision
values become probabilities by sigmoid calibration on shuffled cross-validation folds
(``CalibratedClassifierCV``), wrapped in one-vs-rest.

The artifact (``<models_dir>/classifier.joblib`` plus a readable ``classifier.json``) records the
training data hash, the date, the taxonomy hash, the scikit-learn version and metrics. Loading one whose
taxonomy hash differs from the current ``clusters.yaml`` logs a warning and returns None: the caller
classifies with rules only until the model is retrained.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scikit-learn, SciPy and joblib are imported when a model is trained or loaded:
    # a crawl or an import without a trained model (rules only) does not pay a second of import time
    import scipy.sparse as sp
    from sklearn.multiclass import OneVsRestClassifier

from classifier.doc import Doc
from classifier.errors import ModelError
from classifier.taxonomy import Taxonomy
from classifier.text import fold, spaced_cjk

log = logging.getLogger(__name__)

ARTIFACT = "classifier.joblib"
#: the fewest examples of a cluster the model can be calibrated on (one per calibration fold)
MIN_EXAMPLES = 3
#: SGD passes: about UPDATES example updates, between MIN_EPOCHS and MAX_EPOCHS passes
UPDATES = 250_000
MIN_EPOCHS = 5
MAX_EPOCHS = 12
METADATA = "classifier.json"
FORMAT = 1


def _word_prep(text: str) -> str:
    return spaced_cjk(fold(text))


class TextFeatures:
    """Word n-grams of the whole text plus character n-grams of its focus (title, products, start)."""

    def __init__(self, focus_chars: int = 160, max_chars: int = 2000) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.focus_chars = focus_chars
        self.max_chars = max_chars
        self.word = TfidfVectorizer(
            preprocessor=_word_prep,
            token_pattern=r"(?u)\b\w+\b",
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=1,
            max_features=200_000,
            dtype=np.float32,
        )
        self.char = TfidfVectorizer(
            analyzer="char_wb",
            preprocessor=fold,
            ngram_range=(3, 4),
            sublinear_tf=True,
            min_df=2,
            max_features=100_000,
            dtype=np.float32,
        )

    def _texts(self, docs: Sequence[Doc]) -> tuple[list[str], list[str]]:
        # Long descriptions add little beyond their start and cost time: both views are capped.
        full = [d.model_text()[: self.max_chars] for d in docs]
        focus = [d.focus_text(0)[: self.focus_chars] for d in docs]
        return full, focus

    def fit_transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        """Fit both vectorizers and return the stacked features."""
        import scipy.sparse as sp

        full, focus = self._texts(docs)
        return sp.hstack([self.word.fit_transform(full), self.char.fit_transform(focus)], format="csr")

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        """Stacked features of new documents."""
        import scipy.sparse as sp

        full, focus = self._texts(docs)
        return sp.hstack([self.word.transform(full), self.char.transform(focus)], format="csr")


class TextModel:
    """A trained model: features, classifier, the cluster ids of its columns and its metadata."""

    def __init__(
        self,
        features: TextFeatures,
        classifier: OneVsRestClassifier,
        cluster_ids: list[str],
        meta: dict[str, Any],
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.cluster_ids = cluster_ids
        self.meta = meta
        self._linear: _Linear | None = _Linear.of(classifier, len(cluster_ids))

    @property
    def version(self) -> str:
        """Model version recorded with every label (``model-<date>-<hash>``)."""
        return str(self.meta.get("version", "model"))

    def predict_proba(self, docs: Sequence[Doc]) -> np.ndarray:
        """Calibrated probability per document (rows) and cluster (columns, in ``cluster_ids`` order)."""
        if not docs:
            return np.zeros((0, len(self.cluster_ids)), dtype=np.float32)
        x = self.features.transform(docs)
        linear = getattr(self, "_linear", None)  # absent on a TextModel pickled by older code
        if linear is not None:
            return linear.predict_proba(x)
        proba: np.ndarray = self.classifier.predict_proba(x)
        return proba

    def save(self, models_dir: Path) -> Path:
        """Write the artifact and its JSON metadata atomically; return the artifact path."""
        import joblib

        models_dir.mkdir(parents=True, exist_ok=True)
        target = models_dir / ARTIFACT
        payload = {
            "format": FORMAT,
            "features": self.features,
            "classifier": self.classifier,
            "cluster_ids": self.cluster_ids,
            "meta": self.meta,
        }
        fd, tmp = tempfile.mkstemp(dir=models_dir, prefix=".classifier-", suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump(payload, tmp, compress=1)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise ModelError(f"cannot write model to {target}: {exc}") from exc
        meta_tmp = models_dir / (METADATA + ".tmp")
        meta_tmp.write_text(json.dumps(self.meta, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(meta_tmp, models_dir / METADATA)
        return target


class _Linear:
    """The one-vs-rest of sigmoid-calibrated linear classifiers as three arrays, for fast prediction.

    ``OneVsRestClassifier.predict_proba`` calls, per cluster, each fold's SGD ``decision_function`` and its
    sigmoid calibrator and averages them: 225 small calls for 45 clusters and 5 folds. The same numbers
    come from one sparse-dense product: decision values ``X @ W + c``, probabilities
    ``1 / (1 + exp(A * d + B))`` (scikit-learn's sigmoid calibration), then the mean over each cluster's
    folds. Built from a fitted model; None when the model is not of that shape (sklearn is used then).
    """

    def __init__(
        self, w: np.ndarray, c: np.ndarray, a: np.ndarray, b: np.ndarray, avg: sp.csr_matrix
    ) -> None:
        self.w, self.c, self.a, self.b, self.avg = w, c, a, b, avg

    @classmethod
    def of(cls, classifier: OneVsRestClassifier, n_clusters: int) -> _Linear | None:
        import scipy.sparse as sp
        from sklearn.calibration import CalibratedClassifierCV

        rows: list[np.ndarray] = []
        c: list[float] = []
        a: list[float] = []
        b: list[float] = []
        owner: list[int] = []
        estimators = getattr(classifier, "estimators_", None)
        if estimators is None or len(estimators) != n_clusters:
            return None
        for j, est in enumerate(estimators):
            if not isinstance(est, CalibratedClassifierCV) or est.method != "sigmoid":
                return None
            for cc in est.calibrated_classifiers_:
                svm = cc.estimator
                cal = cc.calibrators[0] if len(cc.calibrators) == 1 else None
                coef = getattr(svm, "coef_", None)
                if cal is None or coef is None or coef.shape[0] != 1 or len(cc.classes) != 2:
                    return None
                rows.append(np.asarray(coef[0]))
                c.append(float(svm.intercept_[0]))
                a.append(float(cal.a_))
                b.append(float(cal.b_))
                owner.append(j)
        counts = np.bincount(owner, minlength=n_clusters).astype(np.float64)
        avg = sp.csr_matrix(
            (1.0 / counts[owner], (np.arange(len(owner)), owner)), shape=(len(owner), n_clusters)
        )
        w = np.ascontiguousarray(np.vstack(rows).T)
        return cls(w, np.array(c), np.array(a), np.array(b), avg)

    def predict_proba(self, x: sp.csr_matrix) -> np.ndarray:
        d = np.asarray(x @ self.w, dtype=np.float64) + self.c
        p = 1.0 / (1.0 + np.exp(self.a * d + self.b))
        out: np.ndarray = np.asarray(self.avg.T.dot(p.T).T)
        return out


def read_metadata(models_dir: Path) -> dict[str, Any] | None:
    """The JSON metadata of the stored model, or None when there is none."""
    path = models_dir / METADATA
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable model metadata ({exc})") from exc
    return data


def load_model(models_dir: Path, taxonomy: Taxonomy) -> TextModel | None:
    """The stored model if it matches ``taxonomy``; None (with a warning) when absent, stale or unusable."""
    path = models_dir / ARTIFACT
    if not path.exists():
        log.info("no classifier model in %s: classifying with rules only", models_dir)
        return None
    meta = read_metadata(models_dir)
    if meta is None:
        log.warning("model %s has no %s: ignored, classifying with rules only", path, METADATA)
        return None
    if meta.get("taxonomy_hash") != taxonomy.hash:
        log.warning(
            "model %s was trained on another cluster taxonomy (hash %s, now %s): classifying with rules only "
            "until `tbtwatch classifier train` is run",
            path,
            str(meta.get("taxonomy_hash"))[:12],
            taxonomy.hash[:12],
        )
        return None
    import joblib
    import sklearn

    if meta.get("sklearn") != sklearn.__version__:
        log.warning(
            "model %s was trained with scikit-learn %s, this is %s: rules only until retrained",
            path,
            meta.get("sklearn"),
            sklearn.__version__,
        )
        return None
    try:
        payload = joblib.load(path)
    except (
        OSError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        KeyError,
        IndexError,
        ImportError,
        pickle.UnpicklingError,
    ) as exc:
        log.warning("model %s cannot be read (%s): classifying with rules only", path, exc)
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        log.warning("model %s has an unknown format: classifying with rules only", path)
        return None
    if payload["cluster_ids"] != taxonomy.ids:
        log.warning("model %s has other cluster columns than the taxonomy: classifying with rules only", path)
        return None
    return TextModel(payload["features"], payload["classifier"], payload["cluster_ids"], payload["meta"])


def data_hash(texts: Sequence[str], labels: Sequence[Sequence[str]]) -> str:
    """SHA-256 over the training texts and labels, in order."""
    h = hashlib.sha256()
    for text, lab in zip(texts, labels, strict=True):
        h.update(text.encode("utf-8"))
        h.update(b"\x1f")
        h.update(";".join(sorted(lab)).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def fit(
    docs: Sequence[Doc],
    labels: Sequence[Sequence[str]],
    taxonomy: Taxonomy,
    *,
    alpha: float = 2e-5,
    epochs: int | None = None,
    cv: int = 5,
    ensemble: bool = True,
    extra_meta: dict[str, Any] | None = None,
) -> TextModel:
    """Train a model on documents and their cluster labels (every cluster needs ``MIN_EXAMPLES`` positives or
    more; calibration uses ``cv`` folds, fewer when a cluster has fewer examples)."""
    import sklearn
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import StratifiedKFold
    from sklearn.multiclass import OneVsRestClassifier

    if len(docs) != len(labels):
        raise ModelError("documents and labels differ in length")
    ids = taxonomy.ids
    col = {cid: i for i, cid in enumerate(ids)}
    y = np.zeros((len(docs), len(ids)), dtype=np.int8)
    for row, lab in enumerate(labels):
        for cid in lab:
            if cid not in col:
                raise ModelError(f"training label {cid!r} is not a cluster of the taxonomy")
            y[row, col[cid]] = 1
    thin = [ids[j] for j in range(len(ids)) if y[:, j].sum() < MIN_EXAMPLES]
    if thin:
        raise ModelError(f"clusters with fewer than {MIN_EXAMPLES} training examples: {', '.join(thin)}")
    # no more folds than the rarest cluster has examples (at least MIN_EXAMPLES, checked above): each fold
    # needs one
    cv = min(cv, int(y.sum(axis=0).min()))
    started = time.perf_counter()
    features = TextFeatures()
    x = features.fit_transform(docs)
    if epochs is None:
        # SGD needs a number of updates more than a number of passes: 12 passes over the ~6,000 seeds,
        # fewer over 50,000 notices (at least 5), which keeps training time roughly linear in the data.
        epochs = max(MIN_EPOCHS, min(MAX_EPOCHS, -(-UPDATES // max(1, len(docs)))))
    # A linear SVM trained by SGD (fixed epochs: fast and predictable on 50,000 notices), its decision
    # values mapped to probabilities by sigmoid calibration on cv folds.
    svm = SGDClassifier(
        loss="hinge", alpha=alpha, class_weight="balanced", max_iter=epochs, tol=None, random_state=0
    )
    # Five folds, not three: each fold's SVM then sees 80 % of the seeds, and a cluster's few Chinese
    # seeds are less often missing from one (three folds left the Chinese toys probe anywhere from 0.47 to
    # 0.87 depending on which three notices were added). Shuffled folds: the seeds come grouped by cluster
    # and language (a cluster's English names, then its Chinese ones), and unshuffled folds would
    # calibrate each fold's SVM on a kind of text it never saw.
    folds = StratifiedKFold(cv, shuffle=True, random_state=0)
    base = CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=ensemble)
    clf = OneVsRestClassifier(base, n_jobs=None)
    clf.fit(x, y)
    elapsed = time.perf_counter() - started
    now = datetime.now(UTC)
    dhash = data_hash([d.model_text() for d in docs], labels)
    meta: dict[str, Any] = {
        "version": f"model-{now:%Y%m%dT%H%M%S}-{dhash[:8]}",
        "trained_at": now.isoformat(timespec="seconds"),
        "training_data_hash": dhash,
        "taxonomy_hash": taxonomy.hash,
        "sklearn": sklearn.__version__,
        "examples": len(docs),
        "features": int(x.shape[1]),
        "train_seconds": round(elapsed, 2),
        "params": {
            "alpha": alpha,
            "epochs": epochs,
            "cv": cv,
            "ensemble": ensemble,
            "calibration": "sigmoid",
        },
    }
    meta.update(extra_meta or {})
    return TextModel(features, clf, list(ids), meta)
