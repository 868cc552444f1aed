"""``tbtwatch classifier ...`` through the real CLI (typer's CliRunner) and one real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clf_helpers import TRAIN_NOTICES, TrainedHome
from typer.testing import CliRunner

from classifier.model import TextModel
from tbtwatch.cli import app

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "classifier"
runner = CliRunner()


def _run(home: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--home", str(home), "classifier", *args])
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_csv_json(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "evaluate", "--gold", str(FIXTURES / "gold_small.csv"), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["items"] == 4 and report["with_gold_clusters"] == 3
    for who in ("system", "baseline"):
        assert set(report[who]["micro"]) == {"precision", "recall", "f1"}
        assert "per_cluster" in report[who]
    assert report["system"]["micro"]["f1"] == 1.0
    assert "gain_micro_f1" in report


def test_evaluate_split_text_only_and_table(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path,
        "evaluate",
        "--gold",
        str(FIXTURES / "gold_small.csv"),
        "--split",
        "test",
        "--text-only",
        "--json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["items"] == 2 and report["text_only"] is True
    code, out, _ = _run(tmp_path, "evaluate", "--gold", str(FIXTURES / "gold_small.csv"))
    assert code == 0
    assert "baseline micro" in out and "per cluster" in out


def test_evaluate_news_jsonl_reports_languages(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, "evaluate", "--gold", str(FIXTURES / "news_small.jsonl"), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert set(report["by_language"]) == {"en", "zh"}
    assert report["by_language"]["zh"]["system"]["micro"]["f1"] == 1.0


def test_evaluate_bad_gold_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("title,description\nx,y\n", encoding="utf-8")
    code, _, err = _run(tmp_path, "evaluate", "--gold", str(bad))
    assert code == 1 and "missing column" in err
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(
        '{"title": "t", "text": "x", "gold_clusters": ["no_such_cluster"]}\n', encoding="utf-8"
    )
    code, _, err = _run(tmp_path, "evaluate", "--gold", str(unknown))
    assert code == 1 and "no_such_cluster" in err
    code, _, err = _run(tmp_path, "evaluate", "--gold", str(tmp_path / "missing.csv"))
    assert code == 1 and "no such file" in err


def test_train_then_explain(trained_home: TrainedHome) -> None:
    # the session's one training ran `tbtwatch classifier train --holdout 0 --json` on a store of three
    # notices (conftest.trained_home); here its output, then explain and relabel with the saved model
    tmp_path = trained_home.home
    sym = "G/TBT/N/EU/77"
    code, out, err = trained_home.exit_code, trained_home.stdout, trained_home.stderr
    assert code == 0, err
    meta = json.loads(out)
    assert meta["notices_from_store"] == len(TRAIN_NOTICES) and Path(meta["artifact"]).exists()
    assert meta["counts"]["seeds"] > 1000
    code, out, err = _run(tmp_path, "explain", "g/tbt/n/eu/77", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["current"]["clusters"][0]["cluster_id"] == "toys"
    assert data["current"]["model_version"] == meta["version"]
    assert data["names"]["toys"][0] == "玩具产业集群"
    code, out, _ = _run(tmp_path, "explain", sym)
    assert code == 0 and "toys" in out and "risk:" in out
    code, _, err = _run(tmp_path, "explain", "G/TBT/N/EU/99")
    assert code == 1 and "no notice" in err
    code, out, _ = _run(tmp_path, "relabel", "--json")
    assert code == 0 and json.loads(out)["relabelled"] == len(TRAIN_NOTICES)


def test_subprocess_with_a_stale_model_falls_back(tmp_path: Path, tiny_model: TextModel) -> None:
    tiny_model.save(tmp_path / "models")
    meta_path = tmp_path / "models" / "classifier.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["taxonomy_hash"] = "0" * 64
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TBTWATCH_HOME": str(tmp_path)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tbtwatch",
            "classifier",
            "evaluate",
            "--gold",
            str(FIXTURES / "gold_small.csv"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"] == "rules"
    assert "another cluster taxonomy" in proc.stderr
