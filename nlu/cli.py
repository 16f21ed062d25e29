"""Command line of the NLU: ``python -m nlu {train,classify,evaluate,export,build-t2s,retrain,rollback,
models}``.

``retrain`` trains a candidate on data/nlu + staff corrections (from the database, or ``--corrections``
JSON lines), scores it and the active model on the frozen evaluation set and promotes it only when it
is no worse (nlu/learning.py); ``rollback VERSION`` makes an earlier version active; ``models`` lists
the registry's history (nlu/registry.py).

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
        directory,
        batch_size=args.batch_size,
        fast_segmenter=not args.python_segmenter,
        reference=args.reference,
    )
    # The model (vocabulary, jieba's dictionary: ~400k objects) lives as long as the process; keep
    # the cyclic garbage collector from re-scanning it on every collection (~15 % faster).
    gc.freeze()
    out = sys.stdout
    for lines in _chunks(sys.stdin.buffer, args.batch_size):
        parsed = [parse_line(line) for line in lines if line.strip()]
        good = [(id_, text) for id_, text, error in parsed if error is None and text is not None]
        # == json.dumps({"id": id_, **result.as_dict()}) for each result of pipe.classify(texts)
        results = iter(pipe.classify_json([t for _, t in good], [i for i, _ in good]))
        for id_, _, error in parsed:
            if error is not None:
                line = json.dumps({"id": id_, "error": error}, ensure_ascii=False)
            else:
                line = next(results)
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


def _db_session() -> Any:
    """A database unit of work and the settings, for the commands that record in the database."""
    from tickets.db import Database
    from tickets.settings import Settings

    settings = Settings.from_env()
    return Database(settings.database_url), settings


def retrain(args: argparse.Namespace) -> int:
    _without_tensorflow()
    from nlu.learning import read_corrections
    from nlu.learning import retrain as run
    from nlu.registry import Registry

    root = args.registry
    if args.corrections is not None or args.no_db:
        corrections = read_corrections(args.corrections) if args.corrections else []
        registry = Registry.open(root)
        outcome = run(
            corrections,
            registry=registry,
            tolerance=args.tolerance if args.tolerance is not None else 0.005,
            by=args.actor_label,
            log=lambda m: print(m, file=sys.stderr),
        )
    else:
        import dataclasses

        from tickets import learning
        from tickets.models import Person
        from tickets.models import utcnow as now_utc

        db, settings = _db_session()
        if root is not None:
            settings = dataclasses.replace(settings, model_registry=root)
        if args.tolerance is not None:
            settings = dataclasses.replace(settings, learning_tolerance=args.tolerance)
        try:
            with db.unit_of_work() as uow:
                actor = uow.session.get(Person, args.actor_id) if args.actor_id else None
                outcome = learning.retrain(
                    uow.session, settings, actor=actor, label=args.actor_label, now=now_utc()
                )
                uow.commit()
        except Exception as e:
            with db.unit_of_work() as uow:  # the console shows that it failed, and why
                learning.record_failure(uow.session, args.actor_id, args.actor_label, repr(e))
                uow.commit()
            raise
        finally:
            db.dispose()
            learning.finished(settings)
    print(outcome.summary())
    if args.json:
        print(json.dumps(outcome.as_dict(), ensure_ascii=False))
    return 0


def rollback(args: argparse.Namespace) -> int:
    from nlu.registry import Registry

    if args.no_db:
        entry = Registry.open(args.registry).rollback(args.version, by=args.actor_label)
        print(f"当前模型：{entry['version']}（原为 {entry['previous']}）")
        return 0
    import dataclasses

    from tickets import learning
    from tickets.models import utcnow as now_utc

    db, settings = _db_session()
    if args.registry is not None:
        settings = dataclasses.replace(settings, model_registry=args.registry)
    try:
        with db.unit_of_work() as uow:
            previous = learning.rollback(
                uow.session,
                settings,
                args.version,
                actor=None,
                label=args.actor_label,
                now=now_utc(),
            )
            uow.commit()
    finally:
        db.dispose()
    print(f"当前模型：{args.version}（原为 {previous}）")
    return 0


def models(args: argparse.Namespace) -> int:
    from nlu.registry import Registry

    registry = Registry.open(args.registry)
    active = registry.active()
    print("| 时间 | 版本 | 事件 | 诉求 F1 | 类别 macro-F1 | 紧急召回 | 紧急精确 | 说明 |")
    print("|---|---|---|---|---|---|---|---|")
    for entry in registry.history():
        f = entry.get("figures") or {}
        cells = [
            f"{f[k]:.4f}" if k in f else "—"
            for k in ("demand_f1", "category_macro_f1", "urgent_recall", "urgent_precision")
        ]
        mark = " ✅" if entry["version"] == active else ""
        print(
            f"| {entry['at']} | {entry['version']}{mark} | {entry['event']} | {' | '.join(cells)} "
            f"| {'；'.join(entry.get('reasons') or [])} |"
        )
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
    p.add_argument(
        "--reference",
        action="store_true",
        help="the slower code the fast paths replaced (same output; for checking)",
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

    p = sub.add_parser(
        "retrain", help="train on data/nlu + corrections; promote only if no worse on data/eval"
    )
    p.add_argument("--registry", type=Path, default=None, help="models registry directory")
    p.add_argument(
        "--corrections", type=Path, default=None, help="labelled JSON lines instead of the database"
    )
    p.add_argument("--no-db", action="store_true", help="do not use the database")
    p.add_argument("--tolerance", type=float, default=None, help="allowed drop per figure")
    p.add_argument("--actor-id", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--actor-label", default="命令行", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="also print the outcome as JSON")
    p.set_defaults(func=retrain)

    p = sub.add_parser("rollback", help="make an earlier model version active again")
    p.add_argument("version")
    p.add_argument("--registry", type=Path, default=None)
    p.add_argument("--no-db", action="store_true")
    p.add_argument("--actor-label", default="命令行", help=argparse.SUPPRESS)
    p.set_defaults(func=rollback)

    p = sub.add_parser("models", help="the models registry's history with figures")
    p.add_argument("--registry", type=Path, default=None)
    p.set_defaults(func=models)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NluError as e:
        print(f"nlu: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
