"""Weak supervision: training examples without hand labels.

* **Seeds** from the taxonomy, so the model is useful before any data exists: each cluster's English
  and Chinese names, products and keywords (in small groups), and the HS 2022 descriptions of its HS
  prefixes and their subheadings (``classifier/data/hs_descriptions.tsv``, derived once from the shared
  HS nomenclature by ``tbtwatch classifier build-seeds``, so the service does not need ``../shared``).
* **Negative seeds**: HS headings that belong to no cluster ("Cereals; barley"), labelled with nothing.
* **Weakly labelled notices**: a notice whose HS codes match cluster prefixes (at heading level or finer)
  is an example of those clusters; one whose codes are all specific and match no cluster is a negative
  example; notices with only chapter codes or no codes are not used.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from classifier.doc import Doc
from classifier.errors import ModelError
from classifier.rules import RuleMatcher
from classifier.taxonomy import Taxonomy

log = logging.getLogger(__name__)

HS_DESCRIPTIONS = Path(__file__).resolve().parent / "data" / "hs_descriptions.tsv"


def build_hs_descriptions(nomenclature_csv: Path, taxonomy: Taxonomy, out: Path = HS_DESCRIPTIONS) -> int:
    """Write the compact HS description file: every chapter and heading, and the subheadings of every
    heading a cluster prefix touches. Returns the number of rows written."""
    try:
        with nomenclature_csv.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ModelError(f"cannot read HS nomenclature {nomenclature_csv}: {exc}") from exc
    if not rows or not {"hscode", "description"} <= set(rows[0]):
        raise ModelError(f"{nomenclature_csv}: expected columns hscode and description")
    headings = {p[:4] for c in taxonomy.clusters for p in c.hs_prefixes if len(p) >= 4}
    chapters = {p for c in taxonomy.clusters for p in c.hs_prefixes if len(p) == 2}
    kept = []
    for r in rows:
        code = r["hscode"].strip()
        if not code.isdigit():
            continue
        if len(code) <= 4 or code[:4] in headings or code[:2] in chapters:
            kept.append((code, " ".join(r["description"].split())))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write("# HS 2022 descriptions (github.com/datasets/harmonized-system, ODC-PDDL), derived by\n")
        fh.write(
            "# `tbtwatch classifier build-seeds`: chapters, headings, subheadings under cluster prefixes.\n"
        )
        for code, desc in kept:
            fh.write(f"{code}\t{desc}\n")
    return len(kept)


def read_hs_descriptions(path: Path = HS_DESCRIPTIONS) -> dict[str, str]:
    """HS code -> description from the bundled file (empty, with a warning, when it is missing)."""
    if not path.exists():
        log.warning("HS description seeds %s are missing: run `tbtwatch classifier build-seeds`", path)
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, _, desc = line.partition("\t")
        out[code] = desc
    return out


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


#: Neutral regulatory frames, the same for every cluster: product names in headline-like context, so that
#: the words around a product ("欧盟", "修订", "draft regulation") carry no weight and do not dilute it.
_FRAMES_ZH = (
    "欧盟修订{}要求",
    "美国发布{}新规",
    "{}技术法规草案",
    "关于{}的WTO通报",
    "海湾国家更新{}标准",
    "{}强制性标准征求意见",
)
_FRAMES_EN = (
    "Draft technical regulation on {}",
    "Amendment of the standard for {}",
    "{}: new requirements notified to the WTO",
    "Proposed rule concerning {}",
)


def _framed(products: Sequence[str], keywords: Sequence[str], frames: Sequence[str]) -> list[str]:
    """Each product (and Chinese keyword) in one frame, frames taken in turn."""
    items = list(dict.fromkeys([*products, *keywords]))
    return [frames[i % len(frames)].format(item) for i, item in enumerate(items)]


def seed_examples(taxonomy: Taxonomy, hs: dict[str, str] | None = None) -> list[tuple[Doc, list[str]]]:
    """Seed documents per cluster from names, products, keywords and HS descriptions (en and zh)."""
    hs = read_hs_descriptions() if hs is None else hs
    out: list[tuple[Doc, list[str]]] = []
    missing: list[str] = []
    for c in taxonomy.clusters:
        texts: list[str] = [c.name_en, c.name_zh]
        texts += list(c.products_en) + list(c.products_zh) + list(c.products_other)
        texts += ["; ".join(g) for g in _chunks(c.keywords_en, 3)]
        texts += ["、".join(g) for g in _chunks(c.keywords_zh, 3)]
        # Chinese seeds are fewer and shorter than the English ones (no HS descriptions): each Chinese
        # keyword also on its own, after the cluster's short name, as Chinese headlines pair them.
        short_zh = c.name_zh.removesuffix("产业集群")
        texts += [f"{short_zh}{kw}" for kw in c.keywords_zh if kw not in short_zh]
        texts += _framed(c.products_zh, c.keywords_zh, _FRAMES_ZH) + _framed(c.products_en, (), _FRAMES_EN)
        texts.append(f"{c.name_en}. {'; '.join(c.products_en)}. {'; '.join(c.keywords_en)}")
        texts.append(f"{c.name_zh}。{'、'.join(c.products_zh)}。{'、'.join(c.keywords_zh)}")
        for prefix in c.hs_prefixes:
            desc = hs.get(prefix)
            if desc is None:
                missing.append(f"{c.id}:{prefix}")
                continue
            texts.append(desc)
            # subheadings of a heading, at most a few, to teach the product vocabulary
            subs = [
                d for code, d in hs.items() if len(code) == 6 and code.startswith(prefix) and code != prefix
            ]
            texts += subs[:12]
        for i, text in enumerate(texts):
            out.append((Doc(id=f"seed:{c.id}:{i}", title=text, kind="news"), [c.id]))
    if missing and hs:
        log.warning(
            "no HS description for %s: run `tbtwatch classifier build-seeds`", ", ".join(missing[:10])
        )
    return out


def negative_examples(taxonomy: Taxonomy, hs: dict[str, str] | None = None) -> list[tuple[Doc, list[str]]]:
    """HS headings no cluster prefix touches, labelled with no cluster."""
    hs = read_hs_descriptions() if hs is None else hs
    prefixes = [p for c in taxonomy.clusters for p in c.hs_prefixes]
    out: list[tuple[Doc, list[str]]] = []
    for code, desc in hs.items():
        if len(code) != 4:
            continue
        if any(code.startswith(p) or p.startswith(code) for p in prefixes):
            continue
        out.append((Doc(id=f"neg:{code}", title=desc, kind="news"), []))
    return out


def weak_labels(doc: Doc, matcher: RuleMatcher) -> list[str] | None:
    """Clusters a document's HS codes give it, [] for a confident negative, None when unusable."""
    specific = [c for c in doc.hs_codes if len(c) >= 4]
    if not specific:
        return None
    found = matcher.hs(specific)
    strong = [cid for cid, (score, _) in found.items() if score >= 0.75]
    return sorted(strong)


def weak_examples(docs: Iterable[Doc], matcher: RuleMatcher) -> list[tuple[Doc, list[str]]]:
    """Notices with usable HS codes, with their weak labels."""
    out = []
    for d in docs:
        labels = weak_labels(d, matcher)
        if labels is not None:
            out.append((d, labels))
    return out
