"""Evaluation on hand-labelled gold files, always side by side with a keyword-only baseline.

Gold formats:

* CSV with at least ``title, description, products_covered, hs_codes, ics_codes, gold_clusters``
  (ePing-style HS/ICS cells such as ``9503 - Toys; 8516 - ...``; ``gold_clusters`` semicolon-separated
  ids, may be empty); optional ``row``, ``symbol``, ``member``, ``split``.
* JSON lines with ``title, text, gold_clusters`` (a list); optional ``id``, ``language``, ``split``,
  ``origin``: news items.

Metrics are over (item, cluster) decisions: micro precision/recall/F1 pool every decision; macro
averages per-cluster F1 over the clusters that occur in the gold labels or in the predictions (a
cluster predicted but never in gold counts as F1 0). The baseline predicts a cluster when any of its
English keywords (case-insensitive, whole words, no plural handling) or Chinese keywords (substring)
occurs in the text: what a plain keyword alert would do.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.classify import Classifier
from classifier.doc import Doc
from classifier.errors import GoldFileError
from classifier.taxonomy import Taxonomy
from classifier.text import has_cjk
from tbtwatch import members, normalise, symbols
from tbtwatch.errors import SymbolError

CSV_REQUIRED = ("title", "description", "products_covered", "hs_codes", "ics_codes", "gold_clusters")
JSONL_REQUIRED = ("title", "text", "gold_clusters")


@dataclass(slots=True)
class GoldItem:
    """One labelled item."""

    doc: Doc
    gold: frozenset[str]
    split: str = ""
    origin: str = ""


def read_gold(path: Path, taxonomy: Taxonomy) -> list[GoldItem]:
    """Read a gold CSV or JSONL file; unknown cluster ids or missing columns raise :class:`GoldFileError`."""
    if not path.exists():
        raise GoldFileError(f"{path}: no such file")
    jsonl = path.suffix.lower() in (".jsonl", ".json", ".ndjson")
    items = _read_jsonl(path) if jsonl else _read_csv(path)
    for n, item in enumerate(items, 1):
        unknown = sorted(item.gold - set(taxonomy.ids))
        if unknown:
            raise GoldFileError(f"{path}: item {n} ({item.doc.id}) has unknown cluster id(s) {unknown}")
    return items


def _split_ids(value: str) -> frozenset[str]:
    return frozenset(p.strip() for p in re.split(r"[;,]", value or "") if p.strip())


def _read_csv(path: Path) -> list[GoldItem]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise GoldFileError(f"{path}: missing column(s) {missing}. Fix: CSV needs {list(CSV_REQUIRED)}.")
        out = []
        for n, row in enumerate(reader, 2):
            title = normalise.clean_text(row["title"])
            if not title:
                raise GoldFileError(f"{path}: line {n} has an empty title")
            sym = (row.get("symbol") or "").strip()
            kind, doc_type, doc_id = "tbt", "regular", f"row:{row.get('row') or n}"
            if sym:
                try:
                    parsed = symbols.parse(sym.split(",")[0])
                    kind, doc_type, doc_id = parsed.kind, parsed.doc_type, str(parsed)
                except SymbolError:
                    pass
            text = f"{title} {row['description']}"
            out.append(
                GoldItem(
                    doc=Doc(
                        id=doc_id,
                        title=title,
                        description=normalise.clean_text(row["description"]),
                        products=normalise.clean_text(row["products_covered"]),
                        hs_codes=normalise.split_hs(row["hs_codes"]),
                        ics_codes=normalise.split_ics(row["ics_codes"]),
                        member=members.resolve(row.get("member") or "") if row.get("member") else None,
                        kind=kind,
                        doc_type=doc_type,
                        language="zh" if has_cjk(text) else normalise.guess_language(text),
                    ),
                    gold=_split_ids(row["gold_clusters"]),
                    split=(row.get("split") or "").strip(),
                    origin="eping",
                )
            )
    return out


def _read_jsonl(path: Path) -> list[GoldItem]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise GoldFileError(f"{path}: line {n} is not JSON ({exc})") from exc
        if not isinstance(rec, dict) or any(k not in rec for k in JSONL_REQUIRED):
            raise GoldFileError(f"{path}: line {n} needs keys {list(JSONL_REQUIRED)}")
        gold = rec["gold_clusters"]
        if not isinstance(gold, list) or not all(isinstance(g, str) for g in gold):
            raise GoldFileError(f"{path}: line {n}: gold_clusters must be a list of cluster ids")
        text = str(rec["text"] or "")
        title = str(rec["title"] or "").strip() or text[:80] or "(untitled)"
        lang = str(rec.get("language") or ("zh" if has_cjk(title + text) else "en"))
        out.append(
            GoldItem(
                doc=Doc(
                    id=str(rec.get("id") or f"line:{n}"),
                    title=title,
                    description=text,
                    kind="news",
                    language=lang[:2],
                ),
                gold=frozenset(gold),
                split=str(rec.get("split") or ""),
                origin=str(rec.get("origin") or ""),
            )
        )
    return out


class KeywordBaseline:
    """Predicts a cluster when any of its keywords occurs (whole words in English, substrings in Chinese)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.patterns: list[tuple[str, re.Pattern[str] | None, tuple[str, ...]]] = []
        for c in taxonomy.clusters:
            # the cluster's keywords and those of a sector-wide measure of its sector
            sector = [s for s in taxonomy.sectors if c.id in s.members]
            en = [k for k in (*c.keywords_en, *(k for s in sector for k in s.keywords_en)) if not has_cjk(k)]
            zh = tuple(k for k in (*c.keywords_zh, *(k for s in sector for k in s.keywords_zh)) if has_cjk(k))
            pat = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in en) + r")\b", re.I) if en else None
            self.patterns.append((c.id, pat, zh))

    def predict(self, doc: Doc) -> set[str]:
        """Clusters with at least one keyword in the title, products or description."""
        text = "\n".join((doc.title, doc.title_zh, doc.products, doc.products_zh, doc.description))
        out = set()
        for cid, pat, zh in self.patterns:
            if (pat is not None and pat.search(text)) or any(k in text for k in zh):
                out.add(cid)
        return out


def scores(gold: Sequence[frozenset[str]], pred: Sequence[set[str] | frozenset[str]]) -> dict[str, Any]:
    """Micro and macro precision/recall/F1 and per-cluster figures."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        for c in p & g:
            tp[c] += 1
        for c in p - g:
            fp[c] += 1
        for c in g - p:
            fn[c] += 1
    clusters = sorted(set(tp) | set(fp) | set(fn))
    per = {}
    for c in clusters:
        per[c] = {
            **_prf(tp[c], fp[c], fn[c]),
            "support": tp[c] + fn[c],
            "tp": tp[c],
            "fp": fp[c],
            "fn": fn[c],
        }
    micro = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    n = len(clusters)
    macro = {
        k: round(sum(per[c][k] for c in clusters) / n, 4) if n else 0.0 for k in ("precision", "recall", "f1")
    }
    exact = sum(1 for g, p in zip(gold, pred, strict=True) if set(g) == set(p))
    return {
        "micro": micro,
        "macro": {**macro, "clusters": n},
        "exact_match": round(exact / len(gold), 4) if gold else 0.0,
        "per_cluster": per,
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def evaluate(
    classifier: Classifier,
    items: Sequence[GoldItem],
    *,
    text_only: bool = False,
    use_model: bool = True,
    by_language: bool | None = None,
) -> dict[str, Any]:
    """System and keyword-baseline figures on ``items`` (and per language for news when asked)."""
    docs = [classifier.text_only(it.doc) if text_only else it.doc for it in items]
    labels = classifier.classify_docs(docs, use_model=use_model)
    pred = [{c.cluster_id for c in lab.clusters} for lab in labels]
    baseline = KeywordBaseline(classifier.taxonomy)
    base_pred = [baseline.predict(d) for d in docs]
    gold = [it.gold for it in items]
    report: dict[str, Any] = {
        "items": len(items),
        "with_gold_clusters": sum(1 for g in gold if g),
        "text_only": text_only,
        "model": classifier.version if use_model else "rules",
        "system": scores(gold, pred),
        "baseline": scores(gold, base_pred),
    }
    report["gain_micro_f1"] = round(report["system"]["micro"]["f1"] - report["baseline"]["micro"]["f1"], 4)
    if by_language is None:
        by_language = any(it.doc.kind == "news" for it in items)
    if by_language:
        report["by_language"] = {}
        for lang in sorted({it.doc.language for it in items}):
            idx = [i for i, it in enumerate(items) if it.doc.language == lang]
            sub_gold = [gold[i] for i in idx]
            report["by_language"][lang] = {
                "items": len(idx),
                "system": _brief(scores(sub_gold, [pred[i] for i in idx])),
                "baseline": _brief(scores(sub_gold, [base_pred[i] for i in idx])),
            }
    report["errors"] = [
        {"id": it.doc.id, "gold": sorted(it.gold), "predicted": sorted(p)}
        for it, p in zip(items, pred, strict=True)
        if set(it.gold) != p
    ]
    return report


def _brief(s: dict[str, Any]) -> dict[str, Any]:
    return {"micro": s["micro"], "macro": s["macro"]}


def select(items: Sequence[GoldItem], split: str | None) -> list[GoldItem]:
    """Items of one split (``dev``, ``test``), or all when ``split`` is None or ``all``."""
    if not split or split == "all":
        return list(items)
    return [it for it in items if it.split == split]


Predictor = Callable[[Doc], set[str]]
