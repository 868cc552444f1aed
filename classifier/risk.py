"""Risk grade of a notice for Zhejiang exporters, with the signals that made it.

``score = match x (markets.weight x market + mandatory|voluntary + emergency + measures + deadline)
x doc_type``, clipped to [0, 1], where

* **match** is the best cluster score: a notice that touches no Zhejiang cluster is always ``low``;
* **market** is the notifying member's weight (EU, USA 1.0; major markets and ASEAN 0.8; EU member states,
  BRICS and Gulf 0.7; Belt-and-Road partners 0.6; others ``default_weight``); news, which has no member,
  takes the heaviest market its text names (欧盟, ASEAN, 金砖 ...);
* **mandatory** applies to TBT/SPS notifications (they notify technical regulations and conformity
  assessment procedures) unless the text only speaks of a voluntary standard, and to news that says so;
  **voluntary** gets a small weight instead;
* **emergency** for emergency notifications or wording;
* **measures**: bans, chemical limits, certification and labelling duties, summed up to ``measures_cap``;
* **deadline**: the comment deadline is still open (more when it closes within ``soon_days``);
* **doc_type**: a corrigendum weighs half, an addendum a little less than a new measure.

Weights and word lists live in ``config/risk.yaml``; the ``high``/``medium`` thresholds are
``ClassifierSettings.high_risk`` and ``medium_risk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from classifier.doc import Doc
from classifier.errors import TaxonomyError
from classifier.text import fold, tokens
from tbtwatch.models import Risk
from tbtwatch.settings import REPO_ROOT, Settings

RISK_FILE = "risk.yaml"
SIGNALS = ("mandatory", "voluntary", "emergency", "ban", "chemical_limits", "certification", "labelling")
MEASURES = ("ban", "chemical_limits", "certification", "labelling")
_TOP = frozenset({"version", "markets", "signals", "measures_cap", "deadline", "doc_types"})


@dataclass(frozen=True, slots=True)
class Terms:
    """Words that signal something, in English (stemmed token tuples by first token) and Chinese."""

    en: dict[str, tuple[tuple[str, ...], ...]]
    zh: tuple[str, ...]

    @classmethod
    def build(cls, en: list[str], zh: list[str]) -> Terms:
        """Index English terms by their first token."""
        first: dict[str, list[tuple[str, ...]]] = {}
        for term in en:
            toks = tuple(tokens(term))
            if toks:
                first.setdefault(toks[0], []).append(toks)
        return cls({k: tuple(v) for k, v in first.items()}, tuple(fold(t) for t in zh))

    def found(self, toks: list[str], folded: str) -> bool:
        """True when any term occurs in the tokens or the folded text."""
        if any(z in folded for z in self.zh):
            return True
        en = self.en
        for i, tok in enumerate(toks):
            for term in en.get(tok, ()):
                if len(term) == 1 or tuple(toks[i : i + len(term)]) == term:
                    return True
        return False


@dataclass(frozen=True, slots=True)
class MarketGroup:
    """A group of notifying members with its weight for Zhejiang exports."""

    name: str
    weight: float
    members: frozenset[str]
    terms: Terms


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The parsed ``risk.yaml``."""

    market_weight: float
    default_weight: float
    groups: tuple[MarketGroup, ...]
    signals: dict[str, tuple[float, Terms]]
    measures_cap: float
    soon_days: int
    soon_weight: float
    open_weight: float
    doc_types: dict[str, float]

    def market(self, member: str | None) -> tuple[float, str]:
        """(weight, group name) of a notifying member."""
        best = (self.default_weight, "other")
        if member:
            for g in self.groups:
                if member in g.members and g.weight > best[0]:
                    best = (g.weight, g.name)
        return best


def _terms(raw: dict[str, Any], where: str) -> Terms:
    en = raw.get("terms_en", []) or []
    zh = raw.get("terms_zh", []) or []
    if (
        not isinstance(en, list)
        or not isinstance(zh, list)
        or not all(isinstance(t, str) for t in [*en, *zh])
    ):
        raise TaxonomyError(f"{where}: terms_en and terms_zh must be lists of strings")
    return Terms.build(en, zh)


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 1:
        raise TaxonomyError(f"{where}: {raw!r} must be a number between 0 and 1")
    return float(raw)


def parse_risk(data: Any, source: str) -> RiskConfig:
    """Validate parsed ``risk.yaml``; errors name the file, the key and the fix."""
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: expected a mapping at the top")
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise TaxonomyError(f"{source}: unknown key(s) {unknown}. Fix: use only {sorted(_TOP)}.")
    try:
        markets = data["markets"]
        groups = []
        for name, g in markets["groups"].items():
            where = f"{source}: markets.groups.{name}"
            extra = set(g) - {"weight", "members", "terms_en", "terms_zh"}
            if extra:
                raise TaxonomyError(f"{where}: unknown key(s) {sorted(extra)}")
            members = g.get("members") or []
            if not all(isinstance(m, str) and m.isupper() for m in members):
                raise TaxonomyError(f"{where}: members must be WTO member codes such as EU, USA, KEN")
            groups.append(
                MarketGroup(name, _number(g["weight"], where), frozenset(members), _terms(g, where))
            )
        signals: dict[str, tuple[float, Terms]] = {}
        for name in SIGNALS:
            where = f"{source}: signals.{name}"
            raw = data["signals"][name]
            signals[name] = (_number(raw["weight"], where), _terms(raw, where))
        extra_signals = set(data["signals"]) - set(SIGNALS)
        if extra_signals:
            raise TaxonomyError(
                f"{source}: unknown signals {sorted(extra_signals)}. Fix: use {list(SIGNALS)}."
            )
        deadline = data["deadline"]
        soon_days = deadline["soon_days"]
        if not isinstance(soon_days, int) or soon_days < 1:
            raise TaxonomyError(f"{source}: deadline.soon_days must be a positive integer")
        return RiskConfig(
            market_weight=_number(markets["weight"], f"{source}: markets.weight"),
            default_weight=_number(markets["default_weight"], f"{source}: markets.default_weight"),
            groups=tuple(groups),
            signals=signals,
            measures_cap=_number(data["measures_cap"], f"{source}: measures_cap"),
            soon_days=soon_days,
            soon_weight=_number(deadline["soon_weight"], f"{source}: deadline.soon_weight"),
            open_weight=_number(deadline["open_weight"], f"{source}: deadline.open_weight"),
            doc_types={str(k): _number(v, f"{source}: doc_types.{k}") for k, v in data["doc_types"].items()},
        )
    except KeyError as exc:
        raise TaxonomyError(f"{source}: missing key {exc}. Fix: see the bundled config/risk.yaml.") from exc
    except (TypeError, AttributeError) as exc:
        raise TaxonomyError(f"{source}: malformed ({exc}). Fix: see the bundled config/risk.yaml.") from exc


def load_risk(path: str | Path | None = None, settings: Settings | None = None) -> RiskConfig:
    """Load and validate ``risk.yaml`` (from the config folder by default)."""
    p = Path(path) if path else (settings.config_dir if settings else REPO_ROOT / "config") / RISK_FILE
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaxonomyError(f"{p}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{p}: not valid YAML ({exc})") from exc
    return parse_risk(data, str(p))


class RiskGrader:
    """Grades a notice from its text, member, dates and cluster match."""

    def __init__(self, config: RiskConfig, high: float, medium: float) -> None:
        self.config = config
        self.high = high
        self.medium = medium

    def grade(self, doc: Doc, match: float, today: date | None = None) -> tuple[Risk, list[str], float]:
        """(grade, reasons, score); reasons name every signal that counted."""
        if match <= 0.0:
            return Risk.LOW, ["no cluster matched"], 0.0
        cfg = self.config
        text = "\n".join((doc.title, doc.title_zh, doc.products, doc.description))
        toks = tokens(text)
        folded = fold(text)
        reasons: list[str] = []
        if doc.member:
            weight, group = cfg.market(doc.member)
            reasons.append(f"market:{doc.member}({group} {weight:g})")
        else:
            weight, group = cfg.default_weight, "other"
            for g in cfg.groups:
                if g.weight > weight and g.terms.found(toks, folded):
                    weight, group = g.weight, g.name
            if group != "other":
                reasons.append(f"market:{group}({weight:g})")
        impact = cfg.market_weight * weight
        found = {name: terms.found(toks, folded) for name, (_, terms) in cfg.signals.items()}
        notification = doc.kind in ("tbt", "sps")
        mandatory = found["mandatory"] or (notification and not found["voluntary"])
        if mandatory:
            impact += cfg.signals["mandatory"][0]
            reasons.append("mandatory")
        elif found["voluntary"]:
            impact += cfg.signals["voluntary"][0]
            reasons.append("voluntary")
        if doc.doc_type == "emergency" or "emergency" in doc.notification_type.lower() or found["emergency"]:
            impact += cfg.signals["emergency"][0]
            reasons.append("emergency")
        measures = 0.0
        for name in MEASURES:
            if found[name]:
                measures += cfg.signals[name][0]
                reasons.append(name)
        impact += min(measures, cfg.measures_cap)
        if doc.comment_deadline is not None:
            days = (doc.comment_deadline - (today or date.today())).days
            if 0 <= days <= cfg.soon_days:
                impact += cfg.soon_weight
                reasons.append(f"deadline:{days}d")
            elif days > cfg.soon_days:
                impact += cfg.open_weight
                reasons.append(f"deadline:{days}d")
        factor = cfg.doc_types.get(doc.doc_type, 1.0)
        if factor != 1.0:
            reasons.append(f"doc_type:{doc.doc_type}({factor:g})")
        score = max(0.0, min(1.0, match * impact * factor))
        reasons.append(f"match:{match:.2f}")
        reasons.append(f"score:{score:.2f}")
        grade = Risk.HIGH if score >= self.high else Risk.MEDIUM if score >= self.medium else Risk.LOW
        return grade, reasons, score
