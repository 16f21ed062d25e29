"""Command line of the NLU: ``python -m nlu {train,classify,evaluate,export,build-t2s}``.

``classify`` reads JSON lines ``{"id": ..., "text": ...}`` on stdin and writes one JSON line per input
line, in order, on stdout: ``{"id", "is_demand", "demand_confidence", "category",
"category_confidence", "urgent", "locations", "pii", …}`` (the full ``NluResult.as_dict()``). A line
that is not a JSON object with a string ``text`` yields ``{"id", "error"}`` and the stream goes on.
Blank lines are skipped. Input is processed in batches of whatever has arrived (up to
``--batch-size`` lines), so piping a file is fast and an interactive producer gets answers at once.
Everything else (training progress, warnings) goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from nlu.errors import NluError

#: The line-level errors classify reports.
_NOT_JSON = "not valid JSON"
_NOT_OBJECT = "expected a JSON object with a string 'text'"


def _chunks(stream: BinaryIO, limit: int) -> Iterator[list[bytes]]:
    """Lists of complete lines, each as many as are available right now (at most ``limit``)."""
    fd = stream.fileno()
    pending = b""
    while True:
        data = os.read(fd, 1 << 16)
        if not data:
            if pending:
                yield [pending]
            return
        pending += data
        *lines, pending = pending.split(b"\n")
        for i in range(0, len(lines), limit):
            yield lines[i : i + limit]


def parse_line(raw: bytes) -> tuple[Any, str | None, str | None]:
    """``(id, text, error)`` of one input line."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, None, _NOT_JSON
    if not isinstance(record, dict):
        return None, None, _NOT_OBJECT
    text = record.get("text")
    if not isinstance(text, str):
        return record.get("id"), None, _NOT_OBJECT
    return record.get("id"), text, None


def _without_tensorflow() -> None:
    """Keep spaCy's thinc from importing TensorFlow (4 s and log noise in .venv-rasa; unused here).

    thinc probes ``import tensorflow`` when spaCy is imported; a ``None`` entry in ``sys.modules``
    makes that probe fail fast. Only the command line does this, never library code, and never when
    TensorFlow is already loaded (inside the Rasa server it is).
    """
    if "tensorflow" not in sys.modules:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]


def classify(args: argparse.Namespace) -> int:
    _without_tensorflow()
    from nlu.pipeline import ensure_model, load_pipeline

    directory = ensure_model(args.model, log=lambda m: print(m, file=sys.stderr))
    pipe = load_pipeline(
        directory, batch_size=args.batch_size, fast_segmenter=not args.python_segmenter
    )
    # The model (vocabulary, jieba's dictionary: ~400k objects) lives as long as the process; keep
    # the cyclic garbage collector from re-scanning it on every collection (~15 % faster).
    gc.freeze()
    out = sys.stdout
    for lines in _chunks(sys.stdin.buffer, args.batch_size):
        parsed = [parse_line(line) for line in lines if line.strip()]
        texts = [text for _, text, error in parsed if error is None and text is not None]
        results = iter(pipe.classify(texts))
        for id_, _, error in parsed:
            if error is not None:
                line = json.dumps({"id": id_, "error": error}, ensure_ascii=False)
            else:
                line = next(results).to_json(id_)  # == json.dumps({"id": id_, **as_dict()})
            out.write(line + "\n")
        out.flush()
    return 0


def train(args: argparse.Namespace) -> int:
    _without_tensorflow()
    from nlu.data import load_examples, split
    from nlu.pipeline import load_pipeline, train_pipeline

    examples = split(load_examples(), args.split)
    directory = train_pipeline(args.out, examples)
    manifest = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    print(
        f"trained {manifest['version']} on {manifest['examples']} examples "
        f"in {manifest['training_seconds']} s → {directory}",
        file=sys.stderr,
    )
    load_pipeline(directory)  # the model must load back
    return 0


def export(args: argparse.Namespace) -> int:
    from nlu.data import load_examples, split, write_jsonl

    examples = split(load_examples(), args.split)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            n = write_jsonl(examples, f)
        print(f"{n} records → {args.out}", file=sys.stderr)
    else:
        write_jsonl(examples, sys.stdout)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from nlu.evaluate import evaluate as run

    run(args.data, model=args.model, compare_baseline=args.compare_baseline)
    return 0


def build_t2s(args: argparse.Namespace) -> int:
    from nlu.lexicon_build import build_t2s as build

    print(f"{build(args.source)} characters written", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu", description="民微 Chinese NLU")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "classify", help="JSON lines {id, text} on stdin → classifications on stdout"
    )
    p.add_argument("--model", type=Path, default=None, help="model directory (default models/nlu)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument(
        "--python-segmenter",
        action="store_true",
        help="segment without jieba-rs (same output, slower; for checking)",
    )
    p.set_defaults(func=classify)

    p = sub.add_parser("train", help="train the NLU model from data/nlu")
    p.add_argument("--out", type=Path, default=None, help="model directory (default models/nlu)")
    p.add_argument("--split", choices=["all", "train", "test"], default="all")
    p.set_defaults(func=train)

    p = sub.add_parser("export", help="labelled JSON lines of a split of data/nlu")
    p.add_argument("--split", choices=["all", "train", "test"], default="test")
    p.add_argument("--out", default=None, help="file (default stdout)")
    p.set_defaults(func=export)

    p = sub.add_parser("evaluate", help="metrics on labelled JSON lines (see nlu/evaluate.py)")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument(
        "--model", type=Path, default=None, help="score this model instead of training one"
    )
    p.add_argument("--compare-baseline", action="store_true", help="also Rasa's default pipeline")
    p.set_defaults(func=evaluate)

    p = sub.add_parser("build-t2s", help="regenerate data/lexicon/t2s_chars.tsv from OpenCC data")
    p.add_argument("source", type=Path, help="OpenCC TSCharacters.txt")
    p.set_defaults(func=build_t2s)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NluError as e:
        print(f"nlu: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
