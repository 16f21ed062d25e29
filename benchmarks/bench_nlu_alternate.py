"""Benchmark: old and new ``nlu classify`` alternated on one core, in CPU time per message.

    git archive <old commit> | tar -x -C /tmp/old-src       # the old code, as a source tree
    .venv-rasa/bin/python -m benchmarks.bench_nlu_alternate --old /tmp/old-src --model models/nlu

On a shared machine the wall clock of a process pinned to a core also counts the other processes'
turns on that core; the CPU time (user + system, from ``getrusage``) of the process does not. Each
round runs, pinned to core 0 (``taskset -c 0``): the old tree's ``nlu classify`` on 200 + N lines and
on 200 lines, the same for this tree, then plain ``jieba.Tokenizer().cut`` over the same N texts
(``list(tk.cut(text))`` after ``tk.initialize()``, CPU time of the loop). Per message beyond
start-up = (time of 200 + N lines − time of 200 lines) / N. The input is the benchmark's
(``bench_nlu_speed``: the held-out split of data/nlu repeated to N messages); both trees read the
same model directory. Before timing, both trees' output for the 200 + N lines is checked to be
identical byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.bench_nlu_speed import (
    JIEBA_SCRIPT,
    classify_cli,
    jieba_output,
)
from nlu.data import load_examples, split
from nlu.resources import ROOT

#: JIEBA_SCRIPT, timing the CPU of the loop too: prints "wall cpu"
_JIEBA_CPU_SCRIPT = JIEBA_SCRIPT.replace(
    "started = time.perf_counter()", "started = time.perf_counter(); cpu = time.process_time()"
).replace(
    "print(time.perf_counter() - started)",
    "print(time.perf_counter() - started, time.process_time() - cpu)",
)


def jieba(texts: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of plain jieba cutting ``texts`` on core 0."""
    wall, cpu = jieba_output(texts, _JIEBA_CPU_SCRIPT).split()[-2:]
    return float(wall), float(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="source tree of the old code")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "nlu")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    model = args.model.resolve()
    held_out = [ex.text for ex in split(load_examples(), "test")]
    texts = [held_out[i % len(held_out)] for i in range(args.messages)]
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
    ]
    head = lines[:200]
    trees = {"old": args.old.resolve(), "new": ROOT}
    outputs = {name: classify_cli(model, head + lines, tree)[2] for name, tree in trees.items()}
    assert outputs["old"] == outputs["new"], "old and new write different lines"
    print(f"identical output, old and new, on {len(head + lines)} lines", flush=True)
    per_message: dict[str, list[tuple[float, float]]] = {"old": [], "new": [], "jieba": []}
    n = len(texts)
    for round_ in range(1, args.rounds + 1):
        for name, tree in trees.items():
            full_wall, full_cpu, _ = classify_cli(model, head + lines, tree)
            short_wall, short_cpu, _ = classify_cli(model, head, tree)
            per_message[name].append(
                ((full_wall - short_wall) / n * 1e6, (full_cpu - short_cpu) / n * 1e6)
            )
        wall, cpu = jieba(texts)
        per_message["jieba"].append((wall / n * 1e6, cpu / n * 1e6))
        (_, old), (_, new), (_, cut) = (per_message[k][-1] for k in ("old", "new", "jieba"))
        print(
            f"round {round_}: CPU µs per message old {old:.0f}, new {new:.0f}, jieba {cut:.0f}; "
            f"old/new {old / new:.2f}; jieba/ours old {cut / old:.2f}, new {cut / new:.2f}",
            flush=True,
        )
    old, new, cut = (min(c for _, c in per_message[k]) for k in ("old", "new", "jieba"))
    print(
        f"best of {args.rounds}, CPU µs per message: old {old:.0f}, new {new:.0f}, jieba {cut:.0f}; "
        f"old/new {old / new:.2f}; jieba/ours old {cut / old:.2f}, new {cut / new:.2f}"
    )
    old, new, cut = (min(w for w, _ in per_message[k]) for k in ("old", "new", "jieba"))
    print(
        f"best of {args.rounds}, wall µs per message: old {old:.0f}, new {new:.0f}, "
        f"jieba {cut:.0f}; jieba/ours old {cut / old:.2f}, new {cut / new:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
