"""Benchmark: 5-fold cross-validation on data/nlu, our pipeline next to Rasa's default pipeline.

    .venv-rasa/bin/python -m benchmarks.bench_nlu_cv [--folds 5] [--no-baseline]

Folds are stratified by intent with a stable hash of the text (nlu.data.folds), so every run uses the
same folds. In each fold both systems train on the same examples and are scored on the same held-out
fold with the metrics of ``nlu evaluate``; the table gives the mean and the range over folds. Rasa's
default pipeline (JiebaTokenizer + CountVectorsFeaturizer + DIETClassifier, defaults) takes about an
hour per fold on two shared cores. "ours+rasa_default" averages the two systems' demand probability and
category distribution (nlu.evaluate.combine): the "both combined" option. Writes
reports/bench_nlu_cv.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nlu import metrics
from nlu.data import folds, load_examples
from nlu.evaluate import METRIC_ROWS, combine, predict, predict_baseline
from nlu.pipeline import load_pipeline, train_pipeline
from nlu.resources import ROOT


def run_fold(train: list, test: list, baseline: bool, tmp: Path) -> dict[str, Any]:
    records = [ex.as_record() for ex in test]
    texts = [ex.text for ex in test]
    out: dict[str, Any] = {}
    started = time.perf_counter()
    pipe = load_pipeline(train_pipeline(tmp / "ours", train))
    seconds = time.perf_counter() - started
    preds, rate = predict(pipe, texts)
    out["ours"] = {
        **metrics.score(records, preds),
        "train_seconds": seconds,
        "messages_per_second": rate,
    }
    if baseline:
        from nlu.baseline import RasaNluModel, quiet_rasa

        quiet_rasa()
        model = RasaNluModel.train(train, tmp / "baseline")
        bpreds, brate = predict_baseline(model, texts)
        out["rasa_default"] = {
            **metrics.score(records, bpreds),
            "train_seconds": model.train_seconds,
            "messages_per_second": brate,
        }
        both = [combine(o, b) for o, b in zip(preds, bpreds, strict=True)]
        out["ours+rasa_default"] = {
            **metrics.score(records, both),
            "train_seconds": seconds + model.train_seconds,
            "messages_per_second": 1 / (1 / rate + 1 / brate),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    examples = load_examples()
    results: list[dict[str, Any]] = []
    for k, (train, test) in enumerate(folds(examples, args.folds)):
        with tempfile.TemporaryDirectory(prefix=f"minwei-cv{k}-") as tmp:
            fold = run_fold(train, test, not args.no_baseline, Path(tmp))
        results.append(fold)
        summary = ", ".join(
            f"{name} cat {r['category_macro_f1']:.4f} demand {r['demand']['f1']:.4f}"
            for name, r in fold.items()
        )
        print(
            f"fold {k + 1}/{args.folds}: {len(train)} train, {len(test)} test — {summary}",
            file=sys.stderr,
        )
    systems = list(results[0])
    print(f"{args.folds}-fold cross-validation on data/nlu ({len(examples)} examples)\n")
    header = " | ".join(f"{s} mean (min–max)" for s in systems)
    print(f"| metric | {header} |")
    print("|---|" + "---|" * len(systems))
    table: dict[str, dict[str, list[float]]] = {}
    for label, get in METRIC_ROWS:
        cells = []
        for s in systems:
            values = [float(get(fold[s])) for fold in results]
            table.setdefault(s, {})[label] = values
            mean = statistics.mean(values)
            fmt = "{:.4f}" if mean <= 1.0 else "{:.1f}"
            cells.append(
                f"{fmt.format(mean)} ({fmt.format(min(values))}–{fmt.format(max(values))})"
            )
        print(f"| {label} | {' | '.join(cells)} |")
    if "rasa_default" in systems:
        ours = statistics.mean(table["ours"]["category macro-F1 (gold demands)"])
        base = statistics.mean(table["rasa_default"]["category macro-F1 (gold demands)"])
        print(f"\ncategory macro-F1: ours − Rasa default = {100 * (ours - base):+.1f} points")
    out = ROOT / "reports" / "bench_nlu_cv.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"folds": results}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    print(f"\nreport: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
