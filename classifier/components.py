"""Clusters whose products are parts of another's (``components`` in ``config/clusters.yaml``).

A headlamp or a door lock in a motor-vehicle rule is an auto part (criteria 2 and 3 of the gold README): the
early-warning point for lamps or locks does not want a UN Regulation on headlamps or the Korean motor vehicle
safety standard on door latches. When the whole's cluster scores ``min_score`` or more and one of the context
phrases is in the title (English on stemmed tokens, Chinese as substrings, like keywords), each part's score is
damped like a negated cluster's and the part is treated as negated (no companion brings it back).
"""

from __future__ import annotations

from collections.abc import Mapping

from classifier.doc import Doc
from classifier.taxonomy import Taxonomy
from classifier.text import PhraseText, phrase_key


class Components:
    """The components of a taxonomy, with their context phrases prepared for matching."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._rules = [(c.whole, c.parts, [phrase_key(p) for p in c.context]) for c in taxonomy.components]

    def parts(self, doc: Doc, scored: Mapping[str, tuple[float, object]], min_score: float) -> set[str]:
        """The clusters of ``scored`` (cluster id -> (score, ...)) that are parts of a whole scoring
        ``min_score`` or more, in its context."""
        out: set[str] = set()
        title = PhraseText(doc.title)
        for whole, parts, keys in self._rules:
            if whole not in scored or scored[whole][0] < min_score or not any(p in scored for p in parts):
                continue
            if any(title.has(key) for key in keys):
                out.update(p for p in parts if p in scored)
        return out
