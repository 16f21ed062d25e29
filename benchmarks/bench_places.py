"""Benchmark: place spans of the previous extractor (the commit before real places, 1250ee2) and of this
tree's, in one run, on the held-out split of data/nlu, the independent sets data/eval/places.jsonl and
data/eval/challenge.jsonl, and the team's development set tests/nlu/places_dev.txt.

    .venv-rasa/bin/python -m benchmarks.bench_places [--old-ref 1250ee2]

Each system runs from its own source tree (the old one is a temporary ``git worktree`` of ``--old-ref``)
with the same interpreter, through its own ``python -m nlu``: the held-out split is scored by a model
trained in the same run on the rest of data/nlu (``nlu evaluate``, as ``make evaluate`` does), the
other sets by a model trained on all of data/nlu (``nlu train``, as ``make train`` does). Every system
sees exactly the same files. The evaluation sets are only scored, never looked at. Prints a Markdown
table (place F1 exact / overlap; demand F1, category macro-F1 and urgent recall where the set has
them; training seconds) and writes reports/bench_places.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nlu.data import load_examples, split, write_jsonl
from nlu.resources import ROOT

SETS = {
    "held-out split (data/nlu, 20%)": "heldout",
    "data/eval/places.jsonl": "places",
    "data/eval/challenge.jsonl": "challenge",
    "tests/nlu/places_dev.txt (development)": "dev",
}
_SPAN = re.compile(r"\[([^\]]+?)\]\(location\)")


def dev_records(path: Path) -> list[dict[str, Any]]:
    """The development set as evaluation records (places only: every line counts as a demand)."""
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        text, spans, pos = "", [], 0
        for m in _SPAN.finditer(line):
            text += line[pos : m.start()]
            start = len(text)
            text += m.group(1)
            spans.append({"text": m.group(1), "start": start, "end": len(text)})
            pos = m.end()
        text += line[pos:]
        out.append(
            {"id": i, "text": text, "is_demand": True, "category": "other", "locations": spans}
        )
    return out


def nlu(tree: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["RASA_TELEMETRY_ENABLED"] = "false"
    done = subprocess.run(
        [sys.executable, "-m", "nlu", *args], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"python -m nlu {' '.join(args)} failed in {tree}")


def score(tree: Path, data: Path, model: Path | None) -> dict[str, Any]:
    """Run ``nlu evaluate`` of ``tree`` and read its JSON report."""
    nlu(tree, "evaluate", "--data", str(data), *(["--model", str(model)] if model else []))
    report = json.loads((tree / "reports" / f"nlu-evaluate-{data.stem}.json").read_text("utf-8"))
    return dict(report["systems"]["ours"])


#: Messages classified per CPU second, in-process, on the held-out texts five times (wall-clock rates
#: are noisy on a shared machine).
_SPEED = """
import json, sys, time
from nlu.pipeline import load_pipeline
pipe = load_pipeline(sys.argv[1])
texts = [json.loads(line)["text"] for line in open(sys.argv[2], encoding="utf-8")] * 5
pipe.classify(texts[:50])
started = time.process_time()
pipe.classify(texts)
print(round(len(texts) / (time.process_time() - started)))
"""


def speed(tree: Path, model: Path, texts: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", _SPEED, str(model), str(texts)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def run_system(tree: Path, files: dict[str, Path], work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["heldout"] = score(tree, files["heldout"], None)  # trains on the rest in the same run
    started = time.perf_counter()
    nlu(tree, "train", "--out", str(work / "model"))
    out["train_all_seconds"] = round(time.perf_counter() - started, 1)
    for key in ("places", "challenge", "dev"):
        out[key] = score(tree, files[key], work / "model")
    out["messages_per_cpu_second"] = speed(tree, work / "model", files["heldout"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-ref", default="1250ee2")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="minwei-bench-places-") as tmp_name:
        tmp = Path(tmp_name)
        files = {
            "heldout": tmp / "nlu-test.jsonl",
            "places": ROOT / "data" / "eval" / "places.jsonl",
            "challenge": ROOT / "data" / "eval" / "challenge.jsonl",
            "dev": tmp / "places_dev.jsonl",
        }
        with files["heldout"].open("w", encoding="utf-8") as f:
            write_jsonl(split(load_examples(), "test"), f)
        with files["dev"].open("w", encoding="utf-8") as f:
            for record in dev_records(ROOT / "tests" / "nlu" / "places_dev.txt"):
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        old_tree = tmp / "old"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old_tree), args.old_ref],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            (tmp / "old-work").mkdir()
            (tmp / "new-work").mkdir()
            results = {
                "previous": run_system(old_tree, files, tmp / "old-work"),
                "this tree": run_system(ROOT, files, tmp / "new-work"),
            }
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, check=False
            )
    print_table(results, args.old_ref)
    out = ROOT / "reports" / "bench_places.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"report: {out}")
    return 0


def print_table(results: dict[str, Any], old_ref: str) -> None:
    old, new = results["previous"], results["this tree"]

    def pair(get: Any) -> str:
        return f"{get(old):.3f} → **{get(new):.3f}**"

    print(f"| set | place F1 exact ({old_ref} → this tree) | place F1 overlap |")
    print("|---|---|---|")
    for label, key in SETS.items():
        exact = pair(lambda r, k=key: r[k]["locations_exact"]["f1"])
        overlap = pair(lambda r, k=key: r[k]["locations_overlap"]["f1"])
        print(f"| {label} | {exact} | {overlap} |")
    print()
    print("| set | metric | previous | this tree |")
    print("|---|---|---|---|")
    rows = [
        ("demand F1", lambda s: s["demand"]["f1"]),
        ("category macro-F1 (gold demands)", lambda s: s["category_macro_f1"]),
        ("category macro-F1 (end to end)", lambda s: s["category_macro_f1_end_to_end"]),
        ("urgent recall", lambda s: s["urgent"]["recall"]),
        ("urgent precision", lambda s: s["urgent"]["precision"]),
    ]
    for label, key in list(SETS.items())[:3]:
        for name, get in rows:
            print(f"| {label} | {name} | {get(old[key]):.4f} | {get(new[key]):.4f} |")
    print(
        f"| held-out split | training seconds (train split) | {old['heldout']['train_seconds']} | "
        f"{new['heldout']['train_seconds']} |"
    )
    print(
        f"| all of data/nlu | training seconds (nlu train, wall clock) | {old['train_all_seconds']} | "
        f"{new['train_all_seconds']} |"
    )
    print(
        f"| held-out split | messages/s (wall clock, in nlu evaluate) | "
        f"{old['heldout']['messages_per_second']} | {new['heldout']['messages_per_second']} |"
    )
    print(
        f"| held-out texts ×5 | messages per CPU second (classify, in-process) | "
        f"{old['messages_per_cpu_second']} | {new['messages_per_cpu_second']} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
