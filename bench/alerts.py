"""Alerts benchmark: matching 100,000 subscriptions x 1,000 notices, and 10,000 digests delivered; prints JSON.

    python bench/alerts.py [--subscriptions 100000] [--notices 1000] [--digests 10000]

``matching``: subscriptions drawn (seeded) from the HS headings and subheadings under the clusters
(``classifier/data/hs_descriptions.tsv``), the members of the real ePing export and the cluster taxonomy
(``config/clusters.yaml``): HS prefixes, keywords (English and Chinese), clusters, members, kinds, a minimum
risk, alone and combined. The cost follows the number of matches (``matches_per_notice``). Notices are the real export rows with their own
symbols and classifier-style labels. Figures: index build, then matching (target < 2 s).

``delivery``: one exporter per digest (immediate frequency, one address) matches one of a few notices; the
digests are built, rendered and queued in the outbox, then sent by the SMTP sender to a real aiosmtpd server
on 127.0.0.1 (``smtp.max_concurrency`` connections, no rate limit in the way). Target < 2 minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "alerts")]

from alerts_testlib import (  # noqa: E402
    NOW,
    SIGNING_KEY,
    Handler,
    SmtpServer,
    free_port,
    write_settings,
)

from alerts.matching import SubscriptionIndex  # noqa: E402
from alerts.recipients import Frequency, parse_recipients  # noqa: E402
from alerts.repository import AlertsRepository, StoredSubscription  # noqa: E402
from alerts.service import build_digests, send_pending  # noqa: E402
from alerts.stage import AlertsStage  # noqa: E402
from tbtwatch.eping_workbook import open_workbook  # noqa: E402
from tbtwatch.ingest import Ingestor  # noqa: E402
from tbtwatch.models import ClusterLabel, Labels, Notice, Risk  # noqa: E402
from tbtwatch.settings import load_settings  # noqa: E402
from tbtwatch.store import Store  # noqa: E402

REAL = REPO / "tests" / "fixtures" / "eping" / "eping_export_2025-06.xlsx"
SYMBOL = re.compile(r"^(G/(?:TBT|SPS)/N/[A-Z]+)/\d+")
HS_SEEDS = REPO / "classifier" / "data" / "hs_descriptions.tsv"
RISKS = [Risk.LOW, Risk.MEDIUM, Risk.HIGH]


def real_notices() -> list[Notice]:
    """The notices of the real ePing export."""
    with open_workbook(REAL) as wb:
        return [n for n in wb.items(source="bench") if isinstance(n, Notice)]


def clusters() -> list[dict[str, Any]]:
    """The cluster taxonomy."""
    data = yaml.safe_load((REPO / "config" / "clusters.yaml").read_text(encoding="utf-8"))
    return list(data if isinstance(data, list) else data["clusters"])


def make_notices(real: list[Notice], count: int, cluster_ids: list[str], rng: random.Random) -> list[Notice]:
    """``count`` notices cycling over the real ones, each with its own symbol."""
    out = []
    for i in range(count):
        n = real[i % len(real)]
        m = SYMBOL.match(n.id)
        nid = f"{m.group(1)}/{900000 + i}" if m else f"{n.id}-{i}"
        out.append(n.model_copy(update={"id": nid, "base_id": nid}))
    return out


def make_labels(notices: list[Notice], cluster_ids: list[str], rng: random.Random) -> dict[str, Labels]:
    """Classifier-style labels: one to three clusters and a risk grade per notice."""
    out = {}
    for n in notices:
        picked = rng.sample(cluster_ids, rng.choice((0, 1, 1, 2)))  # some notices touch no cluster
        out[n.id] = Labels(
            notice_id=n.id,
            clusters=[ClusterLabel(cluster_id=c, score=0.9, reasons=["bench"]) for c in picked],
            risk=rng.choice(RISKS),
            risk_reasons=["bench"],
        )
    return out


def make_subscriptions(
    count: int, real: list[Notice], taxonomy: list[dict[str, Any]], rng: random.Random
) -> list[StoredSubscription]:
    """A seeded mix of subscription shapes over real values."""
    # exporters' products spread over the HS headings and subheadings of the clusters (the classifier seeds)
    hs = sorted(
        {
            line.split("\t", 1)[0]
            for line in HS_SEEDS.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#") and len(line.split("\t", 1)[0]) in (4, 6)
        }
    )
    members = sorted({n.member for n in real if n.member})
    cluster_ids = [str(c["id"]) for c in taxonomy]
    keywords = sorted(
        {str(k) for c in taxonomy for k in (c.get("keywords_en") or []) + (c.get("keywords_zh") or [])}
    )
    subs = []
    for sid in range(1, count + 1):
        shape = rng.random()
        crit: dict[str, Any] = {}
        if shape < 0.60:  # an exporter's products
            crit["hs_prefixes"] = rng.sample(hs, rng.randint(1, 3))
        elif shape < 0.80:  # keywords
            crit["keywords"] = rng.sample(keywords, rng.randint(1, 3))
        elif shape < 0.84:  # a cluster, one kind
            crit["clusters"] = [rng.choice(cluster_ids)]
            crit["kinds"] = [rng.choice(("tbt", "sps"))]
        elif shape < 0.89:  # a cluster, high risk only
            crit["clusters"] = [rng.choice(cluster_ids)]
            crit["min_risk"] = "high"
        elif shape < 0.99:  # products in some markets
            crit["hs_prefixes"] = [c[:4] for c in rng.sample(hs, rng.randint(1, 2))]
            crit["members"] = rng.sample(members, rng.randint(1, 3))
        else:  # a warning point: every notice of its clusters
            crit["clusters"] = rng.sample(cluster_ids, rng.randint(1, 2))
        subs.append(
            StoredSubscription(
                id=sid,
                recipient_id=sid // 2 + 1,  # two subscriptions per recipient
                name="",
                clusters=tuple(crit.get("clusters", ())),
                hs_prefixes=tuple(crit.get("hs_prefixes", ())),
                keywords=tuple(crit.get("keywords", ())),
                members=tuple(crit.get("members", ())),
                kinds=tuple(crit.get("kinds", ())),
                min_risk=crit.get("min_risk"),
            )
        )
    return subs


def bench_matching(subscriptions: int, notices: int, seed: int) -> dict[str, Any]:
    """Index build and match time."""
    rng = random.Random(seed)
    real = real_notices()
    taxonomy = clusters()
    cluster_ids = [str(c["id"]) for c in taxonomy]
    subs = make_subscriptions(subscriptions, real, taxonomy, rng)
    batch = make_notices(real, notices, cluster_ids, rng)
    labels = make_labels(batch, cluster_ids, rng)
    t = time.perf_counter()
    index = SubscriptionIndex(subs)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    matches = index.match(batch, labels)
    match_s = time.perf_counter() - t
    return {
        "subscriptions": subscriptions,
        "notices": notices,
        "index_build_s": round(build_s, 3),
        "match_s": round(match_s, 3),
        "matches": len(matches),
        "matches_per_notice": round(len(matches) / max(notices, 1), 1),
        "target_match_s": 2.0,
        "ok": match_s < 2.0,
    }


def bench_delivery(digests: int, tmp: Path) -> dict[str, Any]:
    """Build, render, queue and send ``digests`` immediate digests through a real SMTP server."""
    handler = Handler()
    server = SmtpServer(handler, free_port()).start()
    try:
        home = tmp / "home"
        home.mkdir()
        write_settings(
            home,
            {
                "alerts": {"base_url": "https://tbt.example.cn", "from_address": "alerts@tbt.example.cn"},
                "smtp": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "security": "none",
                    "rate_per_second": 100000.0,
                    "timeout_seconds": 30.0,
                },
            },
        )
        settings = load_settings(home, environ={"TBTWATCH_SIGNING_KEY": SIGNING_KEY})
        store = Store.open(settings.store_path)
        repo = AlertsRepository(store)
        real = real_notices()[:20]
        hs = [n.hs_codes[0] for n in real if n.hs_codes]
        t = time.perf_counter()
        repo.import_recipients(
            parse_recipients(
                {
                    "recipients": [
                        {
                            "id": f"exp-{i:05d}",
                            "type": "exporter",
                            "name": f"企业 {i}",
                            "addresses": [f"u{i}@e{i % 997}.example.cn"],
                            "frequency": "immediate",
                            "subscriptions": [{"hs_prefixes": [hs[i % len(hs)][:4]]}],
                        }
                        for i in range(digests)
                    ]
                }
            )
        )
        import_s = time.perf_counter() - t
        with Ingestor(store, source="bench", stages=[AlertsStage()]) as ing:
            ing.add_all(real)
        pairs = len(repo.alerts_for())
        t = time.perf_counter()
        report = build_digests(settings, store, frequency=Frequency.IMMEDIATE, now=NOW)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        sent = send_pending(settings, store, now=NOW)
        send_s = time.perf_counter() - t
        store.close()
        total = build_s + send_s
        return {
            "digests": digests,
            "alert_pairs": pairs,
            "recipients_import_s": round(import_s, 2),
            "messages_queued": report.messages,
            "build_render_queue_s": round(build_s, 2),
            "send_s": round(send_s, 2),
            "sent": sent.sent,
            "received_by_server": handler.count(),
            "smtp_connections": settings.smtp.max_concurrency,
            "total_s": round(total, 2),
            "messages_per_s": round(sent.sent / send_s) if send_s else None,
            "target_total_s": 120.0,
            "ok": total < 120.0 and handler.count() == report.messages == digests,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--notices", type=int, default=1_000)
    parser.add_argument("--digests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    matching = bench_matching(args.subscriptions, args.notices, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        delivery = bench_delivery(args.digests, Path(tmp))
    print(
        json.dumps(
            {
                "benchmark": "alerts",
                "matching": matching,
                "delivery": delivery,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
