"""Benchmark: NLU speed, ours next to Rasa's default pipeline, pinned to one core (``taskset -c 0``).

    .venv-rasa/bin/python -m benchmarks.bench_nlu_speed [--messages 20000] [--requests 500]
    .venv-rasa/bin/python -m benchmarks.bench_nlu_speed --ratio-only    # the ratio below, ~2 min

Measured in one run:

- the speed ratio (noise on a shared machine cancels): ``make classify`` throughput beyond start-up on
  one core — the wall time of N + 200 lines minus that of 200 lines — divided by plain
  ``jieba.Tokenizer().cut`` over the same N texts (``list(tk.cut(text))`` after ``tk.initialize()``),
  both pinned to core 0, alternated, best of three each. Before timing, the command line's output
  with the jieba-rs segmenter is checked to be identical to its output with the Python segmenter
  (``--python-segmenter``) on every message, and to its output with the reference code the fast
  paths replaced (``--reference``: spaCy's Matcher, an n-gram Counter per message, every urgency,
  lexicon and normalisation pattern searched, every place token through the re-splitting rules, a
  result object and ``to_json`` per message), and the segmenter to cut every tipdm2020c message (when
  ``../shared/datasets`` is there) exactly as jieba does;

- ``nlu classify`` throughput: the command line on one core, messages/s beyond start-up
  (time for N lines minus the time for one line, best of three), both wall clock and CPU time (on a
  shared machine the wall clock also counts other processes' turns on the core); input = the
  held-out split of data/nlu repeated;
- in-process throughput on one core: ``Pipeline.classify`` (batched) vs Rasa's ``Agent.parse_message``
  for the default pipeline (one message at a time, as Rasa does);
- ``/model/parse`` latency p50/p99 through a real Rasa server on one core, sequential requests:
  our Rasa model (config.yml) vs the default pipeline;
- model load time (in process and server start until ready) and training time.

The default pipeline's latency model is trained with ``epochs: 1``: the network and the inference
work are the same as with the default 300 epochs, only training is shorter. Its full training time
comes from ``nlu evaluate --compare-baseline`` (reports/nlu-evaluate-nlu-test.json), which trains both
systems on the same training split. Writes reports/bench_nlu_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from nlu.baseline import DEFAULT_PIPELINE_CONFIG
from nlu.data import load_examples, split, write_rasa_yaml
from nlu.resources import ROOT

RASA_BIN = ROOT / ".venv-rasa" / "bin"
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
ONE_CORE = ["taskset", "-c", "0"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def classify_cli(model: Path, lines: list[str], tree: Path = ROOT) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system) of one ``nlu classify`` run on core 0 from the
    source tree ``tree`` (this one by default), and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*ONE_CORE, str(RASA_BIN / "python"), "-m", "nlu", "classify", "--model", str(model)],
        input="".join(lines),
        capture_output=True,
        text=True,
        cwd=tree,
        env=ENV,
        check=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert len(done.stdout.splitlines()) == len(lines), done.stderr[-2000:]
    return seconds, cpu, done.stdout


def classify_wall(model: Path, lines: list[str], *options: str) -> tuple[float, str]:
    """Wall-clock seconds of ``make classify`` (the same command: ``nlu classify``) on core 0, and
    its output."""
    started = time.perf_counter()
    done = subprocess.run(
        [*ONE_CORE, str(RASA_BIN / "python"), "-m", "nlu", "classify", "--model", str(model),
         *options],
        input="".join(lines),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    assert len(done.stdout.splitlines()) == len(lines), done.stderr[-2000:]
    return seconds, done.stdout


JIEBA_SCRIPT = """
import json, sys, time
import jieba
texts = json.loads(sys.stdin.read())
tk = jieba.Tokenizer()
tk.initialize()
started = time.perf_counter()
for text in texts:
    list(tk.cut(text))
print(time.perf_counter() - started)
"""


def jieba_output(texts: list[str], script: str = JIEBA_SCRIPT) -> str:
    """What ``script`` (plain ``jieba.Tokenizer().cut`` over ``texts`` after ``initialize()``,
    timed) prints, run on core 0."""
    done = subprocess.run(
        [*ONE_CORE, str(RASA_BIN / "python"), "-c", script],
        input=json.dumps(texts, ensure_ascii=False),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=True,
    )
    return done.stdout


def jieba_wall(texts: list[str]) -> float:
    """Seconds of plain ``jieba.Tokenizer().cut`` over ``texts`` after ``initialize()``, core 0."""
    return float(jieba_output(texts).strip().splitlines()[-1])


def check_segmenter(texts: list[str]) -> int:
    """Assert the segmenter cuts every text as jieba does; returns how many texts were checked."""
    from nlu.resources import gazetteer_places
    from nlu.segment import Segmenter

    segmenter = Segmenter(extra_words=gazetteer_places())
    different = [t for t in texts if segmenter.cut(t) != segmenter.jieba_cut(t)]
    assert different == [], f"{len(different)} texts cut differently, e.g. {different[0][:80]!r}"
    return len(texts)


def tipdm_texts() -> list[str]:
    """Titles and bodies of every tipdm2020c message (read in place), or [] without the dataset."""
    import csv

    base = ROOT.parent / "shared" / "datasets"
    out: list[str] = []
    for path, fields in (
        (base / "tipdm2020c_labeled" / "labeled.csv", ("留言主题", "留言详情")),
        (base / "tipdm2020c_hot_issues" / "messages.csv", ("留言主题", "留言详情")),
    ):
        if path.is_file():
            with path.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    out += [row[k] for k in fields if row.get(k)]
    return out


def speed_ratio(model: Path, texts: list[str], warm: int = 200, rounds: int = 3) -> dict[str, Any]:
    """``nlu classify`` messages/s beyond start-up over jieba's cut messages/s, same texts, core 0."""
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
    ]
    head = lines[:warm]
    fast_out = classify_wall(model, lines)[1]
    slow_out = classify_wall(model, lines, "--python-segmenter")[1]
    assert fast_out == slow_out, "classify output differs between the jieba-rs and Python segmenter"
    reference_out = classify_wall(model, lines, "--reference")[1]
    assert fast_out == reference_out, (
        "classify output differs from the reference code (--reference)"
    )
    checked = check_segmenter(list(dict.fromkeys(texts)) + tipdm_texts())
    classify_s, jieba_s = [], []
    for _ in range(rounds):
        full = classify_wall(model, head + lines)[0]
        short = classify_wall(model, head)[0]
        classify_s.append(full - short)
        jieba_s.append(jieba_wall(texts))
    best_classify, best_jieba = min(classify_s), min(jieba_s)
    return {
        "messages": len(texts),
        "classify_beyond_startup_s": best_classify,
        "jieba_cut_s": best_jieba,
        "classify_per_s": len(texts) / best_classify,
        "jieba_per_s": len(texts) / best_jieba,
        "ratio": best_jieba / best_classify,
        "ratios_per_round": [j / c for c, j in zip(classify_s, jieba_s, strict=True)],
        "identical_outputs_checked": len(texts),  # with --python-segmenter and --reference
        "segmenter_texts_checked": checked,
    }


def in_process(model: Path, baseline: Path, texts: list[str]) -> dict[str, Any]:
    """Throughput inside one process pinned to core 0 (a child process, to keep this one free)."""
    script = f"""
import os, time, json, sys
os.sched_setaffinity(0, {{0}})
texts = json.loads(sys.stdin.read())
from nlu.pipeline import load_pipeline
t = time.perf_counter(); pipe = load_pipeline({str(model)!r}); load = time.perf_counter() - t
pipe.classify(texts[:50])
t = time.perf_counter(); pipe.classify(texts); ours = len(texts) / (time.perf_counter() - t)
from nlu.baseline import RasaNluModel, quiet_rasa
quiet_rasa()
m = RasaNluModel(path=__import__("pathlib").Path({str(baseline)!r}), train_seconds=0.0)
m.load(); m.parse(texts[:20])
sample = texts[:1000]
t = time.perf_counter(); m.parse(sample); base = len(sample) / (time.perf_counter() - t)
print("RESULT", json.dumps({{"ours_per_s": ours, "ours_load_s": load, "base_per_s": base,
      "base_load_s": m.load_seconds}}))
"""
    done = subprocess.run(
        [str(RASA_BIN / "python"), "-c", script],
        input=json.dumps(texts, ensure_ascii=False),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        check=True,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def rasa_train_nlu(config: Path, data: Path, out: Path) -> tuple[Path, float]:
    started = time.perf_counter()
    subprocess.run(
        [str(RASA_BIN / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(data),
         "--out", str(out), "--fixed-model-name", "nlu"],
        cwd=ROOT, env=ENV, check=True, capture_output=True,
    )  # fmt: skip
    return out / "nlu.tar.gz", time.perf_counter() - started


def serve_and_time(model: Path, texts: list[str]) -> dict[str, float]:
    """Start ``rasa run`` on one core, time start-up and sequential ``/model/parse`` requests."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    server = subprocess.Popen(
        [*ONE_CORE, str(RASA_BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1",
         "-p", str(port), "-m", str(model)],
        cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/status", timeout=2) as r:
                    if json.loads(r.read()).get("model_file"):
                        break
            except OSError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"rasa run exited with {server.returncode}")
            time.sleep(0.2)
        ready = time.perf_counter() - started
        latencies = []
        for i, text in enumerate([*texts[:20], *texts]):
            request = urllib.request.Request(
                f"{url}/model/parse",
                data=json.dumps({"text": text}).encode(),
                headers={"Content-Type": "application/json"},
            )
            t = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as r:
                r.read()
            if i >= 20:  # the first 20 warm up
                latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
        return {
            "ready_s": ready,
            "p50_ms": statistics.median(latencies),
            "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "requests": len(latencies),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--ratio-only", action="store_true", help="only the classify/jieba speed ratio"
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="for --ratio-only (default: train)"
    )
    args = parser.parse_args(argv)
    if shutil.which("taskset") is None:
        print("taskset not found (util-linux)", file=sys.stderr)
        return 2
    examples = load_examples()
    held_out = [ex.text for ex in split(examples, "test")]
    stream = [held_out[i % len(held_out)] for i in range(args.messages)]
    lines = [
        json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(stream)
    ]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="minwei-speed-") as tmp_name:
        tmp = Path(tmp_name)
        if args.ratio_only and args.model is not None:
            ours = args.model
        else:
            ours = tmp / "ours"
            started = time.perf_counter()
            subprocess.run(
                [*ONE_CORE, str(RASA_BIN / "python"), "-m", "nlu", "train", "--out", str(ours)],
                cwd=ROOT, env=ENV, check=True, capture_output=True,
            )  # fmt: skip
            results["ours_train_s"] = time.perf_counter() - started
        results["ratio"] = ratio = speed_ratio(ours, stream)
        print_ratio(ratio)
        if args.ratio_only:
            out = ROOT / "reports" / "bench_nlu_speed_ratio.json"
            out.parent.mkdir(exist_ok=True)
            out.write_text(json.dumps(ratio, indent=2) + "\n", encoding="utf-8")
            print(f"\nreport: {out}")
            return 0
        startups = [classify_cli(tmp / "ours", lines[:1]) for _ in range(3)]
        startup = min(w for w, _, _ in startups)
        startup_cpu = min(c for _, c, _ in startups)
        runs = [classify_cli(tmp / "ours", lines) for _ in range(3)]
        total = min(w for w, _, _ in runs)
        total_cpu = min(c for _, c, _ in runs)
        results["cli_startup_s"] = startup
        results["cli_per_s"] = len(lines) / (total - startup)
        results["cli_per_cpu_s"] = len(lines) / (total_cpu - startup_cpu)
        print(f"nlu classify: {results['cli_per_s']:.0f} msg/s on one core", file=sys.stderr)

        write_rasa_yaml(examples, tmp / "nlu.yml")
        ours_model, results["ours_rasa_train_s"] = rasa_train_nlu(
            ROOT / "config.yml", tmp / "nlu.yml", tmp / "rasa-ours"
        )
        base_cfg = tmp / "baseline.yml"
        base_cfg.write_text(
            DEFAULT_PIPELINE_CONFIG.replace(
                "- name: DIETClassifier", "- name: DIETClassifier\n    epochs: 1"
            ),
            encoding="utf-8",
        )
        base_model, _ = rasa_train_nlu(base_cfg, tmp / "nlu.yml", tmp / "rasa-base")
        results.update(in_process(tmp / "ours", base_model, held_out * 4))
        requests = held_out[: args.requests]
        results["server_ours"] = serve_and_time(ours_model, requests)
        results["server_base"] = serve_and_time(base_model, requests)
    report = ROOT / "reports" / "nlu-evaluate-nlu-test.json"
    if report.is_file():
        systems = json.loads(report.read_text(encoding="utf-8"))["systems"]
        results["evaluate_train_s"] = {k: v["train_seconds"] for k, v in systems.items()}
    print_table(results, args)
    out = ROOT / "reports" / "bench_nlu_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nreport: {out}")
    return 0


def print_ratio(r: dict[str, Any]) -> None:
    print(
        f"speed ratio, {r['messages']} messages on one core (best of {len(r['ratios_per_round'])}):\n"
        f"  nlu classify beyond start-up  {r['classify_beyond_startup_s']:.2f} s  ({r['classify_per_s']:.0f} msg/s)\n"
        f"  jieba Tokenizer().cut          {r['jieba_cut_s']:.2f} s  ({r['jieba_per_s']:.0f} msg/s)\n"
        f"  ratio classify / jieba         {r['ratio']:.2f}  (rounds: "
        + ", ".join(f"{x:.2f}" for x in r["ratios_per_round"])
        + ")\n"
        f"  identical classify output with the Python segmenter and with --reference on {r['identical_outputs_checked']} messages;"
        f" segmenter = jieba on {r['segmenter_texts_checked']} texts"
    )


def print_table(r: dict[str, Any], args: argparse.Namespace) -> None:
    so, sb = r["server_ours"], r["server_base"]
    train = r.get("evaluate_train_s") or {}
    base_train = train.get("rasa_default")
    rows = [
        ("`nlu classify`, messages/s on one core beyond start-up (wall clock, best of 3)", f"{r['cli_per_s']:.0f}", "—", "—"),
        ("`nlu classify`, messages per CPU-second beyond start-up", f"{r['cli_per_cpu_s']:.0f}", "—", "—"),
        ("`nlu classify` start-up (load model, first answer), s", f"{r['cli_startup_s']:.2f}", "—", "—"),
        ("in-process messages/s on one core", f"{r['ours_per_s']:.0f}", f"{r['base_per_s']:.0f}",
         f"×{r['ours_per_s'] / r['base_per_s']:.0f}"),
        ("`/model/parse` latency p50, ms (one core)", f"{so['p50_ms']:.1f}", f"{sb['p50_ms']:.1f}",
         f"×{sb['p50_ms'] / so['p50_ms']:.1f} faster"),
        ("`/model/parse` latency p99, ms (one core)", f"{so['p99_ms']:.1f}", f"{sb['p99_ms']:.1f}",
         f"×{sb['p99_ms'] / so['p99_ms']:.1f} faster"),
        ("model load in process, s", f"{r['ours_load_s']:.2f}", f"{r['base_load_s']:.2f}",
         f"×{r['base_load_s'] / r['ours_load_s']:.0f} faster"),
        ("Rasa server start until ready, s (one core)", f"{so['ready_s']:.1f}", f"{sb['ready_s']:.1f}", ""),
        ("training on all of data/nlu, s (nlu train, one core)", f"{r['ours_train_s']:.0f}", "—", ""),
        ("training the Rasa model (rasa train nlu), s", f"{r['ours_rasa_train_s']:.0f}", "—", ""),
    ]  # fmt: skip
    if base_train:
        rows.append(
            (
                "training on the training split (nlu evaluate run), s",
                f"{train['ours']:.0f}",
                f"{base_train:.0f}",
                f"×{base_train / train['ours']:.0f} faster",
            )
        )
    print(
        f"NLU speed ({args.messages} messages for the command line, {args.requests} requests per server)\n"
    )
    print("| measure | ours | Rasa default pipeline | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
