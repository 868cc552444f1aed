"""``tbtwatch classifier ...``: train, evaluate, explain, relabel, build-seeds."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from tbtwatch.errors import TbtwatchError

# tbtwatch.cli imports this module to register it: its helpers are looked up when a command runs.
_CORE = "tbtwatch.cli"


def _core() -> Any:
    import importlib

    return importlib.import_module(_CORE)


def settings() -> Any:
    """Settings of this invocation (see :func:`tbtwatch.cli.settings`)."""
    return _core().settings()


def open_store(s: Any = None) -> Any:
    """The store of the current home (see :func:`tbtwatch.cli.open_store`)."""
    return _core().open_store(s)


def run_guarded(fn: Any) -> Any:
    """Run a command body with tbtwatch's error handling."""
    return _core().run_guarded(fn)


def emit_json(data: Any) -> None:
    """Print JSON on stdout."""
    _core().emit_json(data)


class _Console:
    def print(self, *args: Any, **kwargs: Any) -> None:
        _core().console.print(*args, **kwargs)


console = _Console()

app = typer.Typer(help="Cluster classifier: train, evaluate, explain.", no_args_is_help=True)

DEFAULT_HS_NOMENCLATURE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "hs_nomenclature.csv"


@app.command()
def train(
    workbook: Annotated[
        list[Path] | None, typer.Option("--workbook", help="ePing .xlsx to learn from as well (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the metadata and metrics as JSON")] = False,
    holdout: Annotated[
        float, typer.Option(help="share of weakly labelled notices kept aside for metrics")
    ] = 0.1,
) -> None:
    """Train the text model from the store plus any ePing workbooks; save it in the models folder."""
    from classifier.doc import Doc
    from classifier.taxonomy import load_taxonomy
    from classifier.train import train as train_model
    from tbtwatch.eping_workbook import open_workbook
    from tbtwatch.models import Notice

    def body() -> dict[str, Any]:
        s = settings()
        taxonomy = load_taxonomy(settings=s)
        docs: dict[str, Doc] = {}
        if s.store_path.exists():
            with open_store(s) as store:
                for n in store.iter_notices():
                    docs[n.id] = Doc.from_notice(n)
        from_store = len(docs)
        for path in workbook or []:
            with open_workbook(path) as wb:
                for item in wb.items(source="eping_workbook"):
                    if isinstance(item, Notice):
                        docs[item.id] = Doc.from_notice(item)
        model = train_model(taxonomy, list(docs.values()), holdout=holdout)
        target = model.save(s.models_dir)
        return {
            "artifact": str(target),
            "notices_from_store": from_store,
            "notices_total": len(docs),
            **model.meta,
        }

    data = run_guarded(body)
    if as_json:
        emit_json(data)
        return
    console.print(f"model {data['version']} saved to {data['artifact']}", highlight=False)
    console.print(
        f"examples {data['examples']} ({data['counts']}), {data['train_seconds']} s", highlight=False
    )
    weak = data["metrics"].get("holdout_weak_labels")
    if weak:
        m = weak["micro"]
        console.print(
            f"held-out weak labels ({data['metrics']['holdout_items']}): micro P {m['precision']:.3f} "
            f"R {m['recall']:.3f} F1 {m['f1']:.3f}",
            highlight=False,
        )


@app.command()
def evaluate(
    gold: Annotated[Path, typer.Option("--gold", help="gold CSV (ePing columns) or JSONL (news)")],
    text_only: Annotated[
        bool,
        typer.Option("--text-only", help="ignore HS and ICS codes and the code titles pasted beside them"),
    ] = False,
    split: Annotated[str, typer.Option(help="rows of this split only: all, dev or test")] = "all",
    rules_only: Annotated[bool, typer.Option("--rules-only", help="do not use the trained model")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Micro/macro P/R/F1 and per-cluster figures on a gold file, with the keyword-only baseline."""
    from classifier.classify import Classifier
    from classifier.evaluate import evaluate as run_eval
    from classifier.evaluate import read_gold, select

    def body() -> dict[str, Any]:
        s = settings()
        clf = Classifier.from_settings(s, use_model=not rules_only)
        items = select(read_gold(gold, clf.taxonomy), split)
        if not items:
            raise TbtwatchError(f"{gold}: no items in split {split!r}")
        report = run_eval(clf, items, text_only=text_only, use_model=not rules_only)
        return {"gold": str(gold), "split": split, **report}

    report = run_guarded(body)
    if as_json:
        emit_json(report)
        return
    _print_report(report)


def _print_report(r: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(
        f"{r['gold']} · split {r['split']} · {r['items']} items ({r['with_gold_clusters']} with clusters) · "
        f"{'text only' if r['text_only'] else 'with HS/ICS'} · {r['model']}",
        highlight=False,
    )
    table = Table("", "P", "R", "F1", title="micro / macro")
    for who in ("system", "baseline"):
        for avg in ("micro", "macro"):
            m = r[who][avg]
            table.add_row(f"{who} {avg}", f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}")
    console.print(table)
    console.print(f"gain over keyword baseline (micro F1): {r['gain_micro_f1']:+.3f}", highlight=False)
    for lang, sub in r.get("by_language", {}).items():
        console.print(
            f"  {lang}: {sub['items']} items, micro F1 {sub['system']['micro']['f1']:.3f} "
            f"(baseline {sub['baseline']['micro']['f1']:.3f})",
            highlight=False,
        )
    per = Table("cluster", "support", "P", "R", "F1", "baseline F1", title="per cluster")
    base = r["baseline"]["per_cluster"]
    for cid, m in sorted(r["system"]["per_cluster"].items(), key=lambda kv: -kv[1]["support"]):
        b = base.get(cid, {}).get("f1", 0.0)
        per.add_row(
            cid,
            str(m["support"]),
            f"{m['precision']:.2f}",
            f"{m['recall']:.2f}",
            f"{m['f1']:.2f}",
            f"{b:.2f}",
        )
    console.print(per)


@app.command()
def explain(
    notice_id: Annotated[str, typer.Argument(help="document symbol (any spacing/case) or news:<sha1>")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The labels and reasons for one stored notice: stored labels and a fresh classification."""
    from classifier.classify import Classifier
    from classifier.doc import Doc
    from tbtwatch import symbols

    def body() -> dict[str, Any]:
        s = settings()
        with open_store(s) as store:
            key = notice_id.strip()
            if not key.startswith(("news:", "nosymbol:")):
                with contextlib.suppress(TbtwatchError):  # not a symbol: look it up as given
                    key = symbols.normalise(key)
            notice = store.get(key)
            if notice is None:
                raise TbtwatchError(f"no notice {notice_id!r} in {store.path}")
            stored = store.get_labels(key)
        clf = Classifier.from_settings(s)
        doc = Doc.from_notice(notice)
        fresh = clf.classify([notice])[0]
        row = clf.model.predict_proba([doc])[0] if clf.model is not None else None
        evidence = {
            cid: {"score": round(sc, 4), "reasons": rs}
            for cid, (sc, rs) in sorted(clf.scores(doc, row).items(), key=lambda kv: -kv[1][0])
        }
        names = clf.taxonomy.names()
        return {
            "id": notice.id,
            "title": notice.title,
            "member": notice.member,
            "hs_codes": notice.hs_codes,
            "ics_codes": notice.ics_codes,
            "stored": stored.model_dump(mode="json") if stored else None,
            "current": fresh.model_dump(mode="json"),
            "names": {c.cluster_id: [names[c.cluster_id].zh, names[c.cluster_id].en] for c in fresh.clusters},
            "evidence": evidence,
            "min_score": clf.settings.min_score,
        }

    data = run_guarded(body)
    if as_json:
        emit_json(data)
        return
    console.print(f"[bold]{data['id']}[/] {data['title']}", highlight=False)
    console.print(
        f"HS {', '.join(data['hs_codes']) or '-'} · ICS {', '.join(data['ics_codes']) or '-'}",
        highlight=False,
    )
    cur = data["current"]
    console.print(
        f"risk: {cur['risk']} ({'; '.join(cur['risk_reasons'])}) · {cur['model_version']}", highlight=False
    )
    for c in cur["clusters"]:
        zh, en = data["names"][c["cluster_id"]]
        console.print(
            f"  {c['cluster_id']} {zh} / {en}: {c['score']:.2f}  {', '.join(c['reasons'])}", highlight=False
        )
    below = {k: v for k, v in data["evidence"].items() if v["score"] < data["min_score"]}
    if below:
        console.print(f"below min_score {data['min_score']}:", highlight=False)
        for cid, v in list(below.items())[:8]:
            console.print(f"  {cid}: {v['score']:.2f}  {', '.join(v['reasons'])}", highlight=False)
    if data["stored"] is None:
        console.print("(not labelled in the store yet)")


@app.command()
def relabel(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Classify every stored notice again (after a taxonomy edit or a new model)."""
    from classifier.classify import Classifier

    def body() -> dict[str, Any]:
        s = settings()
        clf = Classifier.from_settings(s)
        count = 0
        with open_store(s) as store:
            batch = []
            for n in store.iter_notices():
                batch.append(n)
                if len(batch) >= 1000:
                    store.save_labels(clf.classify(batch))
                    count += len(batch)
                    batch = []
            if batch:
                store.save_labels(clf.classify(batch))
                count += len(batch)
        return {"relabelled": count, "model_version": clf.version}

    data = run_guarded(body)
    if as_json:
        emit_json(data)
    else:
        console.print(
            f"relabelled {data['relabelled']} notices with {data['model_version']}", highlight=False
        )


@app.command("build-seeds")
def build_seeds(
    hs_nomenclature: Annotated[
        Path, typer.Option(help="HS 2022 nomenclature CSV (section,hscode,description,parent,level)")
    ] = DEFAULT_HS_NOMENCLATURE,
) -> None:
    """Regenerate classifier/data/hs_descriptions.tsv from the HS nomenclature (after editing HS prefixes)."""
    from classifier.taxonomy import load_taxonomy
    from classifier.weak import HS_DESCRIPTIONS, build_hs_descriptions

    def body() -> int:
        return build_hs_descriptions(hs_nomenclature, load_taxonomy(settings=settings()))

    rows = run_guarded(body)
    console.print(f"wrote {rows} HS descriptions to {HS_DESCRIPTIONS}", highlight=False)
