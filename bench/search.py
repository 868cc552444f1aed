"""Embedded search benchmark: build time, query latency and exact recall on synthetic notices; prints JSON.

    PYTHONPATH=. python bench/search.py [--notices 200000] [--queries 200] [--shared ../shared]

The notices are built from the real rows of the ePing export (``fixtures/eping/eping_export_2025-06.xlsx``
in the shared folder): each synthetic notice takes a real row's English title, description, products,
HS/ICS codes and member, gets its own symbol, dates and labels, and for most of them a Chinese title and
products made of sentences of the real Chinese pages (``fixtures/news/page_text_excerpts.json``) and the
Chinese keywords and product names of ``config/clusters.yaml``; one in ten is a Chinese news item.

Figures: ``build`` (index documents from notices and labels, then a full tantivy build and commit),
``latency`` over a mix of English words, Chinese 2-4 character words, phrases and filtered searches,
each with facets and snippets (one warm-up pass first), ``recall`` of Chinese substring and English
stem queries against a brute-force scan of every document (exact when recall and precision are 1).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from index import analysis
from index.documents import TEXT_FIELDS, build_document
from index.embedded import EmbeddedBackend
from index.query import Query
from tbtwatch.eping_workbook import open_workbook
from tbtwatch.models import ClusterLabel, DocType, Kind, Labels, Notice, Risk

REPO = Path(__file__).resolve().parents[1]
FETCHED = datetime(2025, 6, 12, tzinfo=UTC)


def _chinese_material(shared: Path, clusters: list[dict[str, Any]]) -> tuple[list[str], list[str], list[str]]:
    """Sentences of the real Chinese pages, Chinese keywords and product names of the clusters."""
    items = json.loads((shared / "fixtures/news/page_text_excerpts.json").read_text(encoding="utf-8"))[
        "items"
    ]
    sentences = []
    for item in items:
        if item.get("lang") == "zh":
            sentences += [
                s.strip() for s in re.split(r"[。！？\n]", item["text"]) if 8 <= len(s.strip()) <= 120
            ]
    keywords = sorted({str(k) for c in clusters for k in c.get("keywords_zh") or []})
    products = sorted({str(p) for c in clusters for p in c.get("products_zh") or []})
    return sentences, keywords, products


def synthesise(n: int, shared: Path, seed: int) -> tuple[list[Notice], dict[str, Labels], dict[str, Any]]:
    """``n`` notices and their labels built from the real rows (see the module docstring)."""
    rng = random.Random(seed)
    with open_workbook(shared / "fixtures/eping/eping_export_2025-06.xlsx") as wb:
        rows = [x for x in wb.items(source="bench") if isinstance(x, Notice)]
    clusters = yaml.safe_load((REPO / "config/clusters.yaml").read_text(encoding="utf-8"))["clusters"]
    sentences, zh_keywords, zh_products = _chinese_material(shared, clusters)
    en_keywords = sorted({str(k) for c in clusters for k in c.get("keywords_en") or []})
    cluster_ids = [str(c["id"]) for c in clusters]
    start = date(2012, 1, 1)
    notices: list[Notice] = []
    labels: dict[str, Labels] = {}
    for i in range(n):
        base = rows[i % len(rows)]
        day = start + timedelta(days=rng.randrange(5000))
        is_news = i % 10 == 9
        if is_news:
            nid = f"news:{i:040x}"
            sentence = rng.choice(sentences)
            fields: dict[str, Any] = {
                "id": nid,
                "base_id": nid,
                "kind": Kind.NEWS,
                "member": None,
                "title": f"{rng.choice(zh_keywords)}{rng.choice(zh_keywords)}：{sentence[:40]}",
                "description": "。".join(rng.sample(sentences, 3)),
                "products": "",
                "hs_codes": [],
                "ics_codes": [],
                "language": "zh",
                "comment_deadline": None,
            }
        else:
            nid = f"G/{base.kind.value.upper()}/N/{base.member}/{100000 + i}"
            title = base.title
            if rng.random() < 0.5:
                title = f"{title} — {rng.choice(en_keywords)}"
            fields = {
                "id": nid,
                "base_id": nid,
                "kind": base.kind,
                "member": base.member,
                "title": title,
                "description": base.description,
                "products": base.products,
                "hs_codes": list(base.hs_codes),
                "ics_codes": list(base.ics_codes),
                "language": "en",
                "comment_deadline": day + timedelta(days=60) if rng.random() < 0.7 else None,
            }
            if rng.random() < 0.6:
                fields["title_zh"] = (
                    f"{rng.choice(zh_keywords)}{rng.choice(zh_keywords)}技术要求（{rng.choice(sentences)[:24]}）"
                )
            if rng.random() < 0.4:
                fields["products_zh"] = "、".join(rng.sample(zh_products, 2))
        notice = Notice.model_construct(
            # every field given: model_construct's default factories are slow (signature inspection)
            doc_type=DocType.REGULAR,
            objectives=list(base.objectives),
            keywords=list(base.keywords),
            documents=[],
            joint_ids=[],
            regions_affected="",
            notification_type="",
            synthetic_id=False,
            adoption_on=None,
            entry_into_force_on=None,
            content_hash="",
            distributed_on=day,
            url="",
            source="bench",
            fetched_at=FETCHED,
            title_zh=fields.pop("title_zh", None),
            products_zh=fields.pop("products_zh", None),
            **fields,
        )
        notices.append(notice)
        picked = rng.sample(cluster_ids, rng.choice((0, 1, 1, 2, 3)))
        if picked:
            labels[nid] = Labels(
                notice_id=nid,
                clusters=[ClusterLabel(cluster_id=c, score=0.8) for c in picked],
                risk=rng.choice((Risk.HIGH, Risk.MEDIUM, Risk.LOW)),
            )
    material = {
        "zh_keywords": zh_keywords,
        "en_keywords": en_keywords,
        "cluster_ids": cluster_ids,
        "members": sorted({r.member for r in rows if r.member}),
        "rows": rows,
    }
    return notices, labels, material


def make_queries(count: int, material: dict[str, Any], rng: random.Random) -> list[tuple[str, Query]]:
    """A mix: English words, Chinese 2-4 character words, phrases, filtered searches; all with facets."""
    zh = [k for k in material["zh_keywords"] if 2 <= len(k) <= 4]
    words = sorted({w.lower() for r in material["rows"] for w in re.findall(r"[A-Za-z]{5,}", r.title)})
    phrases = sorted(
        {m.lower() for r in material["rows"] for m in re.findall(r"[A-Za-z]{4,} [A-Za-z]{4,}", r.title)}
    )
    out: list[tuple[str, Query]] = []
    for i in range(count):
        kind = i % 8
        if kind in (0, 1):
            out.append(("english_word", Query(text=rng.choice(words))))
        elif kind in (2, 3):
            out.append(("chinese_word", Query(text=rng.choice(zh))))
        elif kind == 4:
            text = (
                f'"{rng.choice(phrases)}"'
                if i % 16 == 4
                else f"“{rng.choice(zh)}{rng.choice(['技术', '要求', '标准'])}”"
            )
            out.append(("phrase", Query(text=text)))
        elif kind == 5:
            out.append(
                (
                    "word_member",
                    Query(text=rng.choice(words + zh), members=rng.sample(material["members"], 2)),
                )
            )
        elif kind == 6:
            lo = date(2012, 1, 1) + timedelta(days=rng.randrange(4000))
            out.append(
                (
                    "word_cluster_date",
                    Query(
                        text=rng.choice(zh + words),
                        clusters=[rng.choice(material["cluster_ids"])],
                        distributed_from=lo,
                        distributed_to=lo + timedelta(days=700),
                        sort="date",
                    ),
                )
            )
        else:
            out.append(
                (
                    "filters_only",
                    Query(members=[rng.choice(material["members"])], open_on=date(2020, 6, 1), sort="date"),
                )
            )
    return out


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def _han_haystack(docs: list[dict[str, Any]]) -> tuple[str, list[int]]:
    """Every document's text in one string (fields separated by a non-Han mark) and each document's start."""
    parts, starts, pos = [], [], 0
    for d in docs:
        text = "\x00".join(str(d[f]) for f in TEXT_FIELDS if d.get(f)) + "\x01"
        starts.append(pos)
        parts.append(text)
        pos += len(text)
    return "".join(parts), starts


def recall_chinese(backend: EmbeddedBackend, docs: list[dict[str, Any]], words: list[str]) -> dict[str, Any]:
    """Each word's hits against a brute-force substring scan of all documents."""
    hay, starts = _han_haystack(docs)
    rows = []
    for w in words:
        expected: set[str] = set()
        at = hay.find(w)
        while at >= 0:
            expected.add(docs[bisect.bisect_right(starts, at) - 1]["id"])
            at = hay.find(w, at + 1)
        found = set(backend.ids(Query(text=w)))
        rows.append(_compare(w, expected, found))
    return _summary(rows)


def recall_english(backend: EmbeddedBackend, docs: list[dict[str, Any]], words: list[str]) -> dict[str, Any]:
    """Each word's hits against a scan that stems every document's every field (cached per distinct text)."""
    terms = {w: analysis.english_terms(w)[0][1] for w in words}
    cache: dict[str, frozenset[str]] = {}
    expected: dict[str, set[str]] = {w: set() for w in words}
    wanted = set(terms.values())
    for d in docs:
        stems: set[str] = set()
        for f in TEXT_FIELDS:
            text = d.get(f)
            if text:
                if text not in cache:
                    cache[text] = frozenset(analysis.english_analyzer().analyze(text)) & wanted
                stems |= cache[text]
        for w, t in terms.items():
            if t in stems:
                expected[w].add(d["id"])
    rows = [_compare(w, expected[w], set(backend.ids(Query(text=w)))) for w in words]
    return _summary(rows)


def _compare(word: str, expected: set[str], found: set[str]) -> dict[str, Any]:
    hit = len(expected & found)
    return {
        "query": word,
        "expected": len(expected),
        "found": len(found),
        "recall": hit / len(expected) if expected else 1.0,
        "precision": hit / len(found) if found else 1.0,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "queries": len(rows),
        "exact": sum(1 for r in rows if r["recall"] == 1.0 and r["precision"] == 1.0),
        "min_recall": min(r["recall"] for r in rows),
        "min_precision": min(r["precision"] for r in rows),
        "matches_checked": sum(r["expected"] for r in rows),
        "not_exact": [r for r in rows if r["recall"] < 1.0 or r["precision"] < 1.0][:10],
    }


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    """Run the benchmark and print its JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20250612)
    ap.add_argument(
        "--shared", type=Path, default=Path(os.environ.get("TBTWATCH_SHARED", REPO.parent / "shared"))
    )
    ap.add_argument(
        "--index-dir", type=Path, default=None, help="where to build (default: a temporary folder)"
    )
    args = ap.parse_args()
    if not (args.shared / "fixtures/eping/eping_export_2025-06.xlsx").exists():
        sys.exit(f"no shared fixtures under {args.shared}: pass --shared /path/to/shared")

    t0 = time.perf_counter()
    notices, labels, material = synthesise(args.notices, args.shared, args.seed)
    synth_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        path = args.index_dir or Path(tmp) / "index"
        backend = EmbeddedBackend(path)
        t0 = time.perf_counter()
        docs = [build_document(n, labels.get(n.id)) for n in notices]
        docs_s = time.perf_counter() - t0
        t0 = time.perf_counter()

        def stream() -> Iterator[dict[str, Any]]:
            yield from docs

        indexed = backend.rebuild(stream())
        index_s = time.perf_counter() - t0
        searcher = backend._current().searcher()  # type: ignore[union-attr]
        build = {
            "notices": indexed,
            "documents_s": round(docs_s, 2),
            "tantivy_index_and_commit_s": round(index_s, 2),
            "total_s": round(docs_s + index_s, 2),
            "segments": searcher.num_segments,
            "index_mb": round(_dir_bytes(path) / 1e6, 1),
        }

        rng = random.Random(args.seed)
        queries = make_queries(args.queries, material, rng)
        for _kind, q in queries:  # warm-up: page cache and lazily opened files
            backend.search(q)
        times: dict[str, list[float]] = {}
        totals = []
        for kind, q in queries:
            t = time.perf_counter()
            r = backend.search(q)
            times.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
            totals.append(r.total)
        every = [v for vs in times.values() for v in vs]
        latency = {
            "queries": len(every),
            "p50_ms": round(statistics.median(every), 2),
            "p95_ms": round(_percentile(every, 95), 2),
            "p99_ms": round(_percentile(every, 99), 2),
            "max_ms": round(max(every), 2),
            "mean_ms": round(statistics.fmean(every), 2),
            "median_hits": statistics.median(totals),
            "by_kind": {
                k: {
                    "n": len(v),
                    "p50_ms": round(statistics.median(v), 2),
                    "p95_ms": round(_percentile(v, 95), 2),
                }
                for k, v in sorted(times.items())
            },
            "with": "facets (member, cluster, kind, risk, month) and snippets, page size 20",
        }

        zh_words = sorted({q.text for k, q in queries if k == "chinese_word"})[:40]
        zh_words += ["锂电池", "玩具", "电池", "标准", "技术性贸易措施", "浙江", "金砖国家"]
        en_words = sorted({q.text for k, q in queries if k == "english_word"})[:40]
        en_words += ["battery", "batteries", "requirements", "standards", "safety", "toys"]
        t0 = time.perf_counter()
        recall = {
            "chinese_substring": recall_chinese(backend, docs, zh_words),
            "english_stem": recall_english(backend, docs, en_words),
        }
        recall_s = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "benchmark": "bench/search.py (embedded tantivy backend)",
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "synthesis_s": round(synth_s, 2),
                "build": build,
                "targets": {"build_s": 60, "p50_ms": 5, "p95_ms": 20},
                "latency": latency,
                "recall": recall,
                "recall_check_s": round(recall_s, 1),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
