"""Labels that bring another label (``companions`` in ``config/clusters.yaml``).

Some clusters go together by the labelling policy rather than by words: a rule on vehicle components
(seat-belt anchorages, glazing, door locks: ``auto_parts``) made for passenger cars concerns the car makers
(``nev_vehicles``) as well. A companion is added when its source is labelled, one of its context phrases
occurs in the item (English on stemmed tokens, Chinese as substrings, like keywords) and the target is not
ruled out by one of its negative phrases ("child restraint systems" for cars); an entry may be limited to some
kinds of item (news on brake pads is mostly about the aftermarket, not car makers). Its score is the source's
times ``factor``; its reasons name the source and the context: ``with:auto_parts``, ``ctx:motor vehicle``.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifier.doc import Doc
from classifier.taxonomy import Taxonomy
from classifier.text import PhraseText, phrase_key

Label = tuple[str, float, list[str]]


class Companions:
    """The companions of a taxonomy, with their context phrases prepared for matching."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._rules = [(c, [(p, phrase_key(p)) for p in c.context]) for c in taxonomy.companions]

    def add(self, doc: Doc, kept: Sequence[Label], negated: set[str]) -> list[Label]:
        """The companion labels of ``kept`` (labels as ``(cluster id, score, reasons)``)."""
        if not self._rules:
            return []
        have = {cid: score for cid, score, _ in kept}
        text = PhraseText(doc.model_text())
        out: list[Label] = []
        for rule, phrases in self._rules:
            if rule.source not in have or rule.target in have or rule.target in negated:
                continue
            if doc.kind not in rule.kinds:
                continue
            found = next((p for p, key in phrases if text.has(key)), None)
            if found is None:
                continue
            score = have[rule.source] * rule.factor
            have[rule.target] = score
            out.append((rule.target, score, [f"with:{rule.source}", f"ctx:{found}"]))
        return out
