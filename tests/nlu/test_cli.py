"""``python -m nlu``: the classify contract, identical results in both environments, export, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nlu.data import load_examples, split
from nlu.pipeline import Pipeline
from nlu.resources import ROOT

RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}


def run(python: Path | str, args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "nlu", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=300,
    )


def test_classify_answers_every_line_in_order_and_survives_bad_lines(model_dir: Path) -> None:
    lines = [
        json.dumps({"id": 1, "text": "3栋电梯又坏咗"}, ensure_ascii=False),
        "not json",
        json.dumps({"id": "b", "text": 42}),
        "",
        json.dumps({"id": 3, "text": "谢谢"}, ensure_ascii=False),
        "[1, 2]",
    ]
    done = run(sys.executable, ["classify", "--model", str(model_dir)], "\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["id"], "error" in o) for o in out] == [
        (1, False),
        (None, True),
        ("b", True),
        (3, False),
        (None, True),
    ]
    assert out[0]["category"] == "elevator"
    assert out[0]["locations"] == [{"text": "3栋", "start": 0, "end": 2}]
    assert set(out[0]) >= {"id", "is_demand", "demand_confidence", "category", "urgent", "pii"}


@pytest.mark.skipif(not RASA_PY.exists(), reason="needs .venv-rasa")
def test_the_rasa_environment_gives_identical_results(model_dir: Path, pipe: Pipeline) -> None:
    texts = [ex.text for ex in split(load_examples(), "test")][:300]
    stdin = "".join(
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
    )
    done = run(RASA_PY, ["classify", "--model", str(model_dir)], stdin)
    assert done.returncode == 0, done.stderr
    theirs = [json.loads(line) for line in done.stdout.splitlines()]
    ours = [{"id": i, **r.as_dict()} for i, r in enumerate(pipe.classify(texts))]
    assert theirs == ours


def test_export_writes_labelled_records() -> None:
    done = run(sys.executable, ["export", "--split", "test"], "")
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == len(split(load_examples(), "test"))
    assert {"id", "text", "is_demand", "category", "urgent", "locations"} <= set(records[0])


def test_evaluate_prints_the_metrics_and_writes_reports(model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "small.jsonl"
    records = [ex.as_record() for ex in split(load_examples(), "test")[:40]]
    data.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    import io

    from nlu.evaluate import evaluate

    out = io.StringIO()
    report = evaluate(data, model=model_dir, reports=tmp_path / "reports", out=out)
    text = out.getvalue()
    for label in (
        "demand F1",
        "category macro-F1",
        "urgent recall",
        "location F1 exact",
        "messages/s",
    ):
        assert label in text
    assert (tmp_path / "reports" / "nlu-evaluate-small.json").is_file()
    assert report["systems"]["ours"]["messages"] == 40
