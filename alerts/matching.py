"""Matching notices against subscriptions through inverted indexes, never a loop over every pair.

Each subscription is filed under one *anchor* criterion, the one a notice is least likely to satisfy
(a 6-digit HS prefix before a member, a member before a kind). For a notice, the candidates are the
subscriptions filed under the notice's clusters, HS codes, member, kind and the keywords found in its
text; only those are checked against the rest of their criteria. Cost follows the number of candidates,
not subscriptions x notices.

Criteria semantics:

- clusters: the notice's labels contain one of them (labels from the classifier; a notice without labels
  has no clusters);
- hs_prefixes: a notice HS code starts with the prefix, or the notice code is itself a shorter prefix of
  it (a notice on chapter 95 concerns a subscriber of 9503);
- keywords: Chinese keywords match as substrings; other keywords match whole words with a light plural
  rule (``toy`` finds "toys", ``battery`` finds "batteries"), phrases word by word; case-insensitive,
  in the title, description, products, keywords and the Chinese title/products;
- members, kinds: equality; min_risk: the notice's risk grade is at least this. An unlabelled notice has
  no grade and fails any min_risk; it still matches subscriptions on HS codes, keywords, members, kinds.

>>> index = SubscriptionIndex(repo.iter_subscriptions())              # doctest: +SKIP
>>> index.match(notices, store.get_labels_many([n.id for n in notices]))   # doctest: +SKIP
[Match(recipient_id=3, notice_id='G/TBT/N/EU/1050', subscription_id=7, reasons=('hs:9503',))]
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from alerts.recipients import RISK_LEVEL, normalise_keyword
from alerts.repository import StoredSubscription
from tbtwatch.models import Labels, Notice

_LATIN_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")

# Rough chance that a notice carries one value of each criterion: picks the anchor of a subscription.
_HS_WEIGHT = {2: 0.03, 3: 0.01, 4: 0.003, 5: 0.001, 6: 0.0005}
_WEIGHT = {"keyword": 0.01, "cluster": 0.04, "member": 0.05, "kind": 0.5}


def stem(word: str) -> str:
    """A light English plural rule, applied alike to keywords and notice text."""
    if len(word) <= 3 or word[-1] != "s":
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


def normalise_text(text: str) -> str:
    """Text as keywords are matched against it: NFKC, case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


class KeywordMatcher:
    """Finds which of many keywords occur in a text, by first word (Latin) or first CJK character."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self.latin: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.cjk: dict[str, list[tuple[int, str]]] = {}
        self._stems: dict[str, str] = {}
        for kw in sorted({normalise_keyword(k) for k in keywords}):
            cjk = _CJK_RUN.search(kw)
            if cjk:
                self.cjk.setdefault(kw[cjk.start()], []).append((cjk.start(), kw))
                continue
            words = tuple(stem(w) for w in _LATIN_WORD.findall(kw))
            if words:
                self.latin.setdefault(words[0], []).append((words, kw))

    def __bool__(self) -> bool:
        return bool(self.latin or self.cjk)

    def find(self, text: str) -> set[str]:
        """The keywords (normalised) occurring in ``text`` (already passed through :func:`normalise_text`)."""
        found: set[str] = set()
        if self.latin:
            stems = self._stems
            words = []
            for w in _LATIN_WORD.findall(text):
                s = stems.get(w)
                if s is None:
                    s = stems[w] = stem(w)
                words.append(s)
            latin = self.latin
            for i, w in enumerate(words):
                cands = latin.get(w)
                if cands:
                    for seq, kw in cands:
                        if len(seq) == 1 or tuple(words[i : i + len(seq)]) == seq:
                            found.add(kw)
        if self.cjk:
            cjk = self.cjk
            for run in _CJK_RUN.finditer(text):
                start = run.start()
                for j, ch in enumerate(run.group()):
                    hits = cjk.get(ch)
                    if hits:
                        for offset, kw in hits:
                            pos = start + j - offset
                            if pos >= 0 and text.startswith(kw, pos):
                                found.add(kw)
        return found


class Match(NamedTuple):
    """A recipient matched a notice: the first subscription that matched and why (all its subscriptions).

    A named tuple rather than a frozen dataclass: a busy notice makes hundreds of matches, and a tuple is
    built several times faster.
    """

    recipient_id: int
    notice_id: str
    subscription_id: int
    reasons: tuple[str, ...]


@dataclass(slots=True)
class _Rule:
    clusters: frozenset[str]
    hs: tuple[str, ...]
    hs_ext: frozenset[str]
    keywords: frozenset[str]
    members: frozenset[str]
    kinds: frozenset[str]
    min_risk: int


@dataclass(slots=True)
class _Features:
    clusters: frozenset[str]
    hs_prefixes: frozenset[str]
    hs_codes: frozenset[str]
    keywords: set[str]
    member: str
    kind: str
    risk: int


def _first(entry: tuple[int, int, list[str]]) -> int:
    return entry[0]


class SubscriptionIndex:
    """Subscriptions filed by anchor criterion; :meth:`match` finds every (recipient, notice) match."""

    def __init__(self, subscriptions: Iterable[StoredSubscription]) -> None:
        # Subscriptions with the same criteria (many exporters follow one HS heading, many warning points one
        # cluster) share one rule: it is checked and explained once per notice, then every owner gets the match.
        self.rules: list[_Rule] = []
        self.owners: list[list[tuple[int, int, int]]] = []  # per rule: (order, subscription id, recipient id)
        self.count = 0
        shape_of: dict[tuple[object, ...], int] = {}
        self.by_cluster: dict[str, list[int]] = {}
        self.by_hs: dict[str, list[int]] = {}
        self.by_hs_ext: dict[str, list[int]] = {}
        self.by_keyword: dict[str, list[int]] = {}
        self.by_member: dict[str, list[int]] = {}
        self.by_kind: dict[str, list[int]] = {}
        self.always: list[int] = []
        keywords: set[str] = set()
        for order, sub in enumerate(subscriptions):
            rule = _Rule(
                clusters=frozenset(sub.clusters),
                hs=tuple(sub.hs_prefixes),
                hs_ext=frozenset(p[:k] for p in sub.hs_prefixes for k in range(2, len(p))),
                keywords=frozenset(normalise_keyword(k) for k in sub.keywords),
                members=frozenset(sub.members),
                kinds=frozenset(sub.kinds),
                min_risk=RISK_LEVEL.get(sub.min_risk or "", 0),
            )
            key = (rule.clusters, rule.hs, rule.keywords, rule.members, rule.kinds, rule.min_risk)
            at = shape_of.get(key)
            if at is None:
                at = shape_of[key] = len(self.rules)
                keywords.update(rule.keywords)
                self._file(at, rule)
                self.rules.append(rule)
                self.owners.append([])
            self.owners[at].append((order, sub.id, sub.recipient_id))
            self.count += 1
        self.keywords = KeywordMatcher(keywords)

    def __len__(self) -> int:
        return self.count

    def _file(self, idx: int, rule: _Rule) -> None:
        options: list[tuple[float, str]] = []
        if rule.hs:
            options.append((sum(_HS_WEIGHT[len(p)] for p in rule.hs), "hs"))
        if rule.keywords:
            options.append((_WEIGHT["keyword"] * len(rule.keywords), "keyword"))
        if rule.clusters:
            options.append((_WEIGHT["cluster"] * len(rule.clusters), "cluster"))
        if rule.members:
            options.append((_WEIGHT["member"] * len(rule.members), "member"))
        if rule.kinds:
            options.append((_WEIGHT["kind"] * len(rule.kinds), "kind"))
        if not options:  # only a minimum risk: a candidate for every notice
            self.always.append(idx)
            return
        anchor = min(options)[1]
        if anchor == "hs":
            for p in rule.hs:
                self.by_hs.setdefault(p, []).append(idx)
            for p in rule.hs_ext:
                self.by_hs_ext.setdefault(p, []).append(idx)
        else:
            index, values = {
                "keyword": (self.by_keyword, rule.keywords),
                "cluster": (self.by_cluster, rule.clusters),
                "member": (self.by_member, rule.members),
                "kind": (self.by_kind, rule.kinds),
            }[anchor]
            for v in values:
                index.setdefault(v, []).append(idx)

    def features(self, notice: Notice, labels: Labels | None) -> _Features:
        """What the criteria look at in a notice."""
        codes = frozenset(notice.hs_codes)
        prefixes = frozenset(c[:k] for c in codes for k in range(2, min(len(c), 6) + 1))
        found: set[str] = set()
        if self.keywords:
            parts = [notice.title, notice.description, notice.products, " ; ".join(notice.keywords)]
            parts += [notice.title_zh or "", notice.products_zh or ""]
            found = self.keywords.find(normalise_text(" \n ".join(parts)))
        return _Features(
            clusters=frozenset(c.cluster_id for c in labels.clusters) if labels else frozenset(),
            hs_prefixes=prefixes,
            hs_codes=codes,
            keywords=found,
            member=notice.member or "",
            kind=notice.kind.value,
            risk=RISK_LEVEL[labels.risk.value] if labels else 0,
        )

    def candidates(self, f: _Features) -> set[int]:
        """Indexes of the subscriptions filed under something this notice has."""
        out: set[int] = set(self.always)
        for c in f.clusters:
            hit = self.by_cluster.get(c)
            if hit:
                out.update(hit)
        for p in f.hs_prefixes:
            hit = self.by_hs.get(p)
            if hit:
                out.update(hit)
        for code in f.hs_codes:
            hit = self.by_hs_ext.get(code)
            if hit:
                out.update(hit)
        for kw in f.keywords:
            hit = self.by_keyword.get(kw)
            if hit:
                out.update(hit)
        hit = self.by_member.get(f.member)
        if hit:
            out.update(hit)
        hit = self.by_kind.get(f.kind)
        if hit:
            out.update(hit)
        return out

    @staticmethod
    def _accepts(r: _Rule, f: _Features) -> bool:
        if r.min_risk and f.risk < r.min_risk:
            return False
        if r.kinds and f.kind not in r.kinds:
            return False
        if r.members and f.member not in r.members:
            return False
        if r.clusters and r.clusters.isdisjoint(f.clusters):
            return False
        if r.hs and not any(p in f.hs_prefixes for p in r.hs) and r.hs_ext.isdisjoint(f.hs_codes):
            return False
        return not (r.keywords and r.keywords.isdisjoint(f.keywords))

    @staticmethod
    def _reasons(r: _Rule, f: _Features, risk: str | None) -> list[str]:
        out = [f"cluster:{c}" for c in sorted(r.clusters & f.clusters)] if r.clusters else []
        if r.hs:
            out += [f"hs:{p}" for p in r.hs if p in f.hs_prefixes]
            if r.hs_ext:
                out += [f"hs:{c}" for c in sorted(r.hs_ext & f.hs_codes)]
        if r.keywords:
            out += [f"kw:{k}" for k in sorted(r.keywords & f.keywords)]
        if r.members:
            out.append(f"member:{f.member}")
        if r.kinds:
            out.append(f"kind:{f.kind}")
        if r.min_risk and risk:
            out.append(f"risk:{risk}")
        return out

    def match_one(self, notice: Notice, labels: Labels | None) -> list[Match]:
        """Every recipient matching one notice (one Match per recipient).

        A recipient's match names its first matching subscription (in the order they were given) and the
        reasons of all its matching subscriptions, in that order, without repeats.
        """
        f = self.features(notice, labels)
        found: dict[int, list[tuple[int, int, list[str]]]] = {}
        rules, owners = self.rules, self.owners
        accepts = self._accepts
        explain = self._reasons
        risk = labels.risk.value if labels else None
        for at in self.candidates(f):
            rule = rules[at]
            if not accepts(rule, f):
                continue
            reasons = explain(rule, f, risk)
            for order, sid, rid in owners[at]:
                entries = found.get(rid)
                if entries is None:
                    found[rid] = [(order, sid, reasons)]
                else:
                    entries.append((order, sid, reasons))
        nid = notice.id
        out: list[Match] = []
        for rid in sorted(found):
            entries = found[rid]
            if len(entries) == 1:
                out.append(Match(rid, nid, entries[0][1], tuple(entries[0][2])))
                continue
            entries.sort(key=_first)
            merged = list(entries[0][2])
            for _order, _sid, more in entries[1:]:
                merged.extend(r for r in more if r not in merged)
            out.append(Match(rid, nid, entries[0][1], tuple(merged)))
        return out

    def match(self, notices: Sequence[Notice], labels: Mapping[str, Labels]) -> list[Match]:
        """Every (recipient, notice) match of a batch.

        The cyclic garbage collector is paused meanwhile: a batch makes hundreds of thousands of small,
        acyclic objects (matches, reasons), and with the subscriptions' objects alive the collections they
        trigger cost nearly as much as the matching itself.
        """
        out: list[Match] = []
        with _gc_paused():
            for notice in notices:
                out.extend(self.match_one(notice, labels.get(notice.id)))
        return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
