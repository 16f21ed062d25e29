"""Benchmark: does the NLU learn from staff corrections? A simulation on real citizen messages.

    nice python -m benchmarks.bench_learning_curve [--rounds 6] [--batch 200] [--start 300]

or one process per strategy, then the table and plot from both reports:

    nice python -m benchmarks.bench_learning_curve --strategy uncertain --out reports/a.json &
    nice python -m benchmarks.bench_learning_curve --strategy random --out reports/b.json &
    python -m benchmarks.bench_learning_curve --merge reports/a.json reports/b.json

TipDM Cup 2020 problem C (``../shared/datasets/tipdm2020c_labeled``, read in place, never copied): its
7-class first-level label, fixed split (train.csv / test.csv), titles. Start: a model trained on all
of data/nlu plus ``--start`` random messages of tipdm's train split (their label as the category).
Then, per round, "staff" see the model's predictions on the rest of the train split and correct
``--batch`` of them — the least confident first (``uncertain``), or a random batch (``random``) for
comparison — and the model is retrained through the real path (``nlu.learning.retrain``: data/nlu +
all corrections so far, frozen evaluation = tipdm's test split, promoted only when no worse within the
default tolerance). Prints macro-F1 on the test split per round and strategy; writes
``reports/bench_learning_curve.json`` and the plot ``docs/learning-curve.svg``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from nlu.data import Example, load_examples
from nlu.learning import retrain
from nlu.pipeline import load_pipeline
from nlu.registry import Registry
from nlu.resources import ROOT

DATASET = ROOT.parent / "shared" / "datasets" / "tipdm2020c_labeled"
STRATEGIES = ("uncertain", "random")


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["留言主题"].strip()]


def example(row: dict[str, str]) -> Example:
    return Example(text=row["留言主题"].strip(), intent="demand_" + row["一级标签"], source="tipdm")


def record(row: dict[str, str]) -> dict[str, Any]:
    return {
        "text": row["留言主题"].strip(),
        "is_demand": True,
        "category": row["一级标签"],
        "urgent": False,
        "locations": [],
    }


def pick(
    strategy: str, registry: Registry, pool: list[dict[str, str]], n: int, rng: random.Random
) -> list[int]:
    """Indices into ``pool`` of the messages staff correct this round."""
    if strategy == "random":
        return rng.sample(range(len(pool)), min(n, len(pool)))
    active = registry.active_dir()
    assert active is not None
    results = load_pipeline(active).classify([r["留言主题"].strip() for r in pool])
    confidence = [r.ranking[0][1] if r.ranking else 0.0 for r in results]
    return sorted(range(len(pool)), key=lambda i: confidence[i])[:n]


def svg(curves: dict[str, list[tuple[int, float]]], path: Path, title: str) -> None:
    """A small line chart (no plotting library needed)."""
    width, height, left, right, top, bottom = 640, 380, 64, 150, 40, 48
    xs = [x for c in curves.values() for x, _ in c]
    ys = [y for c in curves.values() for _, y in c]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = min(ys) - 0.01, max(ys) + 0.01

    def px(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * (width - left - right)

    def py(y: float) -> float:
        return top + (y1 - y) / ((y1 - y0) or 1) * (height - top - bottom)

    colours = {"uncertain": "#c0392b", "random": "#2e86c1"}
    names = {"uncertain": "最不确定的先更正", "random": "随机更正"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{py(y0)}" x2="{width - right}" y2="{py(y0)}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{py(y0)}" stroke="#333"/>',
        f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">'
        "员工更正条数</text>",
    ]
    for i in range(6):
        y = y0 + (y1 - y0) * i / 5
        parts.append(
            f'<text x="{left - 6}" y="{py(y) + 4}" text-anchor="end">{y:.3f}</text>'
            f'<line x1="{left}" y1="{py(y)}" x2="{width - right}" y2="{py(y)}" stroke="#eee"/>'
        )
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x)}" y="{py(y0) + 16}" text-anchor="middle">{x}</text>')
    for k, (name, points) in enumerate(curves.items()):
        colour = colours.get(name, "#555")
        line = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in points
        ]
        ly = top + 20 + 20 * k
        parts.append(
            f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 30}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{width - right + 34}" y="{ly + 4}">{names.get(name, name)}</text>'
        )
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--start", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--strategy",
        choices=[*STRATEGIES, "both"],
        default="both",
        help="one strategy per process (two processes in parallel, then --merge)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="only merge these reports into one table and plot",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench_learning_curve.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "learning-curve.svg")
    args = parser.parse_args(argv)
    if args.merge:
        results: dict[str, list[dict[str, Any]]] = {}
        for path in args.merge:
            results.update(json.loads(path.read_text(encoding="utf-8"))["results"])
        report(results, args)
        return 0
    if not (args.dataset / "train.csv").is_file():
        print(f"no dataset at {args.dataset}")
        return 1
    train, test = read(args.dataset / "train.csv"), read(args.dataset / "test.csv")
    frozen = [record(r) for r in test]
    shipped = load_examples()
    rng = random.Random(args.seed)
    order = list(range(len(train)))
    rng.shuffle(order)
    start_rows = [train[i] for i in order[: args.start]]
    rest = [train[i] for i in order[args.start :]]
    print(
        f"tipdm2020c: {len(train)} train / {len(test)} test titles; data/nlu {len(shipped)} "
        f"examples + {len(start_rows)} tipdm to start; rounds of {args.batch}"
    )
    results: dict[str, list[dict[str, Any]]] = {}
    strategies = STRATEGIES if args.strategy == "both" else (args.strategy,)
    with tempfile.TemporaryDirectory(prefix="minwei-curve-") as tmp:
        base = Registry.open(Path(tmp) / "base")
        started = time.perf_counter()
        first = retrain(
            [example(r) for r in start_rows],
            registry=base,
            shipped=shipped,
            eval_records=frozen,
            seed=None,
        )
        print(
            f"start: macro-F1 {first.candidate_figures['category_macro_f1']:.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
        for strategy in strategies:
            root = Path(tmp) / strategy
            shutil.copytree(base.root, root)
            registry = Registry.open(root)
            corrections = [example(r) for r in start_rows]
            pool = list(rest)
            srng = random.Random(args.seed + 1)
            rows = [
                {
                    "corrections": 0,
                    "macro_f1": first.candidate_figures["category_macro_f1"],
                    "active_macro_f1": first.candidate_figures["category_macro_f1"],
                    "promoted": True,
                    "seconds": round(first.seconds, 1),
                }
            ]
            results[strategy] = rows
            for round_ in range(1, args.rounds + 1):
                chosen = set(pick(strategy, registry, pool, args.batch, srng))
                corrections += [example(pool[i]) for i in sorted(chosen)]
                pool = [r for i, r in enumerate(pool) if i not in chosen]
                outcome = retrain(
                    corrections, registry=registry, shipped=shipped, eval_records=frozen, seed=None
                )
                active = registry.figures(registry.active() or "") or outcome.candidate_figures
                row = {
                    "corrections": round_ * args.batch,
                    "macro_f1": outcome.candidate_figures["category_macro_f1"],
                    "active_macro_f1": active["category_macro_f1"],
                    "promoted": outcome.promoted,
                    "seconds": round(outcome.seconds, 1),
                }
                rows.append(row)
                print(
                    f"{strategy:9} {row['corrections']:5} corrections: candidate macro-F1 "
                    f"{row['macro_f1']:.4f} ({'promoted' if row['promoted'] else 'refused'}; "
                    f"active {row['active_macro_f1']:.4f}) {row['seconds']:.0f} s",
                    flush=True,
                )
                write(results, args)  # after every round: a long run can be read while it goes
    report(results, args)
    return 0


def write(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    """The table (rounds every strategy reached) and the plot."""
    names = [s for s in STRATEGIES if s in results]
    rounds = min(len(results[s]) for s in names)
    print()
    print("| 更正条数 | " + " | ".join(f"{s} macro-F1（候选/启用）" for s in names) + " |")
    print("|---|" + "---|" * len(names))
    for i in range(rounds):
        cells = []
        for s in names:
            r = results[s][i]
            cells.append(f"{r['macro_f1']:.4f} / {r['active_macro_f1']:.4f}")
        print(f"| {results[names[0]][i]['corrections']} | {' | '.join(cells)} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    svg(
        {s: [(r["corrections"], r["macro_f1"]) for r in rows] for s, rows in results.items()},
        args.plot,
        f"tipdm2020c 测试集 macro-F1 与员工更正条数（起点：data/nlu + {args.start} 条 tipdm）",
    )
    print(f"report: {args.out}\nplot: {args.plot}")


if __name__ == "__main__":
    raise SystemExit(main())
