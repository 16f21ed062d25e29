"""``python -m nlu evaluate``: score our pipeline (and optionally Rasa's default pipeline) on labelled
JSON lines; print the tables, write a JSON report and confusion-matrix PNGs under ``reports/``.

Our model is trained in the same run on every example of ``data/nlu`` whose text is not in the
evaluation file (so an exported ``--split test`` file is scored by a model trained on the rest),
unless ``--model`` names a trained model. ``--compare-baseline`` trains Rasa's default Chinese
pipeline (nlu/baseline.py) on exactly the same examples and scores it side by side.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from nlu import metrics
from nlu.data import Example, load_examples
from nlu.errors import InvalidInput
from nlu.pipeline import Pipeline, load_pipeline, train_pipeline
from nlu.resources import ROOT

REPORTS_DIR = ROOT / "reports"


#: The metrics of a system's scores, as table rows: label and how to read it from the scores.
METRIC_ROWS: list[tuple[str, Callable[[dict[str, Any]], float]]] = [
    ("demand precision", lambda s: s["demand"]["precision"]),
    ("demand recall", lambda s: s["demand"]["recall"]),
    ("demand F1", lambda s: s["demand"]["f1"]),
    ("category macro-F1 (gold demands)", lambda s: s["category_macro_f1"]),
    ("category accuracy (gold demands)", lambda s: s["category_accuracy"]),
    ("category macro-F1 (end to end)", lambda s: s["category_macro_f1_end_to_end"]),
    ("category ECE (top-1 confidence vs accuracy, gold demands)", lambda s: s["category_ece"]),
    ("demand ECE (P(demand) vs frequency)", lambda s: s["demand_ece"]),
    ("urgent recall", lambda s: s["urgent"]["recall"]),
    ("urgent precision", lambda s: s["urgent"]["precision"]),
    ("location F1 exact", lambda s: s["locations_exact"]["f1"]),
    ("location F1 overlap", lambda s: s["locations_overlap"]["f1"]),
    ("messages/s", lambda s: s["messages_per_second"]),
    ("training seconds", lambda s: s["train_seconds"]),
]


def read_records(path: Path) -> list[dict[str, Any]]:
    """Labelled records; each needs ``text``, ``is_demand``, ``category``, ``urgent``, ``locations``."""
    records = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as e:
                raise InvalidInput(f"{path}:{number}: not JSON: {e}") from e
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise InvalidInput(f"{path}:{number}: need an object with a string 'text'")
            record.setdefault("category", None)
            record.setdefault("urgent", False)
            record.setdefault("locations", [])
            if "is_demand" not in record:
                raise InvalidInput(f"{path}:{number}: 'is_demand' missing")
            records.append(record)
    return records


def predict(pipe: Pipeline, texts: Sequence[str]) -> tuple[list[dict[str, Any]], float]:
    """Our predictions (``category_any`` = best category even for non-demands) and messages/s."""
    started = time.perf_counter()
    results = pipe.classify(list(texts))
    seconds = time.perf_counter() - started
    out = []
    for r in results:
        d = r.as_dict()
        d["category_any"] = r.ranking[0][0] if r.ranking else None
        out.append(d)
    return out, len(texts) / seconds if seconds else 0.0


def predict_baseline(model: Any, texts: Sequence[str]) -> tuple[list[dict[str, Any]], float]:
    from nlu.baseline import prediction_from_parse

    model.load()
    started = time.perf_counter()
    parses = model.parse(list(texts))
    seconds = time.perf_counter() - started
    out = []
    for parse in parses:
        d = prediction_from_parse(parse)
        ranking = [
            i["name"][len("demand_") :]
            for i in parse.get("intent_ranking") or []
            if str(i.get("name", "")).startswith("demand_")
        ]
        d["category_any"] = d["category"] or (ranking[0] if ranking else None)
        d["intent_ranking"] = [
            [str(i.get("name")), float(i.get("confidence") or 0.0)]
            for i in parse.get("intent_ranking") or []
        ]
        out.append(d)
    return out, len(texts) / seconds if seconds else 0.0


def combine(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """ "Both combined": the mean of our and DIET's demand probability and category distribution
    (DIET's demand intents renormalised); urgency and locations stay ours."""
    base_demand = {
        name[len("demand_") :]: p
        for name, p in base["intent_ranking"]
        if name.startswith("demand_")
    }
    p_base = sum(base_demand.values())
    p_demand = (float(ours["demand_confidence"]) + p_base) / 2
    scores: dict[str, float] = {}
    for code, p in ours["ranking"]:
        scores[code] = scores.get(code, 0.0) + float(p) / 2
    for code, p in base_demand.items():
        scores[code] = scores.get(code, 0.0) + (p / p_base if p_base else 0.0) / 2
    best = max(scores, key=lambda c: scores[c]) if scores else None
    is_demand = p_demand >= 0.5
    return {
        "is_demand": is_demand,
        "demand_confidence": p_demand,
        "category": best if is_demand else None,
        "category_any": best,
        "urgent": bool(ours["urgent"]) and is_demand,
        "locations": ours["locations"],
    }


def training_examples_for(records: Sequence[dict[str, Any]]) -> list[Example]:
    held_out = {r["text"] for r in records}
    return [ex for ex in load_examples() if ex.text not in held_out]


def evaluate(
    data: Path,
    *,
    model: Path | None = None,
    compare_baseline: bool = False,
    reports: Path = REPORTS_DIR,
    out: TextIO = sys.stdout,
) -> dict[str, Any]:
    records = read_records(data)
    texts = [r["text"] for r in records]
    systems: dict[str, dict[str, Any]] = {}
    train_examples = training_examples_for(records)
    with tempfile.TemporaryDirectory(prefix="minwei-eval-") as tmp:
        if model is None:
            started = time.perf_counter()
            model = train_pipeline(Path(tmp) / "ours", train_examples)
            train_seconds = time.perf_counter() - started
            trained_on = len(train_examples)
        else:
            train_seconds = float("nan")
            trained_on = 0
        started = time.perf_counter()
        pipe = load_pipeline(model)
        load_seconds = time.perf_counter() - started
        pipe.classify(texts[:10])  # warm up
        preds, rate = predict(pipe, texts)
        systems["ours"] = {
            **metrics.score(records, preds),
            "messages_per_second": round(rate, 1),
            "train_seconds": round(train_seconds, 1),
            "load_seconds": round(load_seconds, 2),
            "trained_on": trained_on,
            "version": pipe.version,
        }
        if compare_baseline:
            from nlu.baseline import RasaNluModel, quiet_rasa

            quiet_rasa()
            base = RasaNluModel.train(train_examples, Path(tmp) / "baseline")
            bpreds, brate = predict_baseline(base, texts)
            systems["rasa_default"] = {
                **metrics.score(records, bpreds),
                "messages_per_second": round(brate, 1),
                "train_seconds": round(base.train_seconds, 1),
                "load_seconds": round(base.load_seconds, 2),
                "trained_on": len(train_examples),
            }
            both = [combine(o, b) for o, b in zip(preds, bpreds, strict=True)]
            systems["ours+rasa_default"] = {
                **metrics.score(records, both),
                "messages_per_second": round(1 / (1 / rate + 1 / brate), 1),
                "train_seconds": round(train_seconds + base.train_seconds, 1),
                "load_seconds": round(load_seconds + base.load_seconds, 2),
                "trained_on": len(train_examples),
            }
    report = {"data": str(data), "messages": len(records), "systems": systems}
    reports.mkdir(parents=True, exist_ok=True)
    stem = data.stem
    (reports / f"nlu-evaluate-{stem}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    pngs = []
    for name, scores in systems.items():
        png = reports / f"nlu-confusion-{stem}-{name}.png"
        if plot_confusion(scores, png, title=f"{name}: category confusion ({stem})"):
            pngs.append(png)
    print_report(report, out)
    for png in pngs:
        print(f"confusion matrix: {png}", file=out)
    print(f"report: {reports / f'nlu-evaluate-{stem}.json'}", file=out)
    return report


def print_report(report: dict[str, Any], out: TextIO) -> None:
    systems = report["systems"]
    names = list(systems)
    print(f"{report['messages']} messages from {report['data']}", file=out)
    print(f"| metric | {' | '.join(names)} |", file=out)
    print(f"|---|{'---|' * len(names)}", file=out)
    for label, get in METRIC_ROWS:
        cells = []
        for n in names:
            value = get(systems[n])
            cells.append(
                f"{value:.4f}" if isinstance(value, float) and value <= 1.0 else f"{value}"
            )
        print(f"| {label} | {' | '.join(cells)} |", file=out)
    print("", file=out)
    print(f"| category | support | {' | '.join(f'{n} F1' for n in names)} |", file=out)
    print(f"|---|---|{'---|' * len(names)}", file=out)
    first = systems[names[0]]["category_per_class"]
    for code in sorted(first):
        cells = [f"{systems[n]['category_per_class'][code]['f1']:.3f}" for n in names]
        print(f"| {code} | {first[code]['support']} | {' | '.join(cells)} |", file=out)


def plot_confusion(scores: dict[str, Any], path: Path, title: str) -> bool:
    """Row-normalised category confusion matrix over gold demands; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        print("matplotlib not installed: no confusion-matrix PNG", file=sys.stderr)
        return False
    labels = sorted(scores["category_per_class"])
    index = {c: i for i, c in enumerate(labels)}
    extra = sorted({p for _, p, _ in scores["category_confusion"] if p not in index})
    columns = labels + extra
    col_index = {c: i for i, c in enumerate(columns)}
    m = np.zeros((len(labels), len(columns)))
    for g, p, n in scores["category_confusion"]:
        if g in index:
            m[index[g], col_index[p]] += n
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for i in range(len(labels)):
        for j in range(len(columns)):
            if m[i, j]:
                ax.text(
                    j,
                    i,
                    int(m[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
