"""Training examples from ``data/nlu/*.yml`` (Rasa 3 YAML), the held-out split and JSONL export.

A message is a demand iff its intent starts with ``demand_``; urgent demands are the blocks with
intent-level ``metadata: {urgent: true}``; locations are ``[text](location)`` spans (docs/nlu-data.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.errors import DataError
from nlu.resources import NLU_DATA_DIR, read_yaml

DEMAND_PREFIX = "demand_"
#: ``Example.source`` of staff corrections: read from a file (``nlu.learning.read_corrections``) or
#: from the database (``tickets.learning``, followed by the feedback id, who and when).
CORRECTION_SOURCE = "correction"
FEEDBACK_SOURCE = "feedback:"
_ENTITY = re.compile(r"\[(?P<text>[^\]]+?)\]\((?P<label>[^)]+)\)")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message; ``locations`` are ``(start, end)`` offsets into ``text``."""

    text: str
    intent: str
    urgent: bool = False
    locations: tuple[tuple[int, int], ...] = ()
    source: str = field(default="", compare=False)
    #: the example line as written, with its entity markup
    markup: str = field(default="", compare=False)

    @property
    def is_demand(self) -> bool:
        return self.intent.startswith(DEMAND_PREFIX)

    @property
    def is_correction(self) -> bool:
        """A staff correction, not a shipped example."""
        return self.source == CORRECTION_SOURCE or self.source.startswith(FEEDBACK_SOURCE)

    @property
    def category(self) -> str | None:
        return self.intent[len(DEMAND_PREFIX) :] if self.is_demand else None

    def as_record(self, id_: str | int | None = None) -> dict[str, Any]:
        """The labelled JSON record ``nlu evaluate --data`` reads."""
        return {
            "id": id_ if id_ is not None else stable_id(self.text),
            "text": self.text,
            "intent": self.intent,
            "is_demand": self.is_demand,
            "category": self.category,
            "urgent": self.urgent,
            "locations": [
                {"text": self.text[s:e], "start": s, "end": e} for s, e in self.locations
            ],
        }


def parse_markup(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """``"[3栋](location)电梯坏"`` → ``("3栋电梯坏", [(0, 2, "location")])``."""
    out: list[str] = []
    spans = []
    last = 0
    length = 0
    for m in _ENTITY.finditer(line):
        before = line[last : m.start()]
        out.append(before)
        length += len(before)
        out.append(m.group("text"))
        spans.append((length, length + len(m.group("text")), m.group("label")))
        length += len(m.group("text"))
        last = m.end()
    out.append(line[last:])
    return "".join(out), spans


def load_file(path: Path) -> list[Example]:
    """Every example of one Rasa NLU YAML file (blocks other than ``intent`` are ignored)."""
    doc = read_yaml(path) or {}
    examples = []
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue
        intent = str(block["intent"])
        urgent = bool((block.get("metadata") or {}).get("urgent"))
        for raw in str(block.get("examples") or "").splitlines():
            raw = raw.strip()
            if not raw:
                continue
            if not raw.startswith("- "):
                raise DataError(f"{path}: not an example line in intent {intent}: {raw!r}")
            markup = raw[2:].strip()
            text, spans = parse_markup(markup)
            bad = [label for _, _, label in spans if label != "location"]
            if bad:
                raise DataError(f"{path}: unknown entity {bad[0]!r} in {markup!r}")
            examples.append(
                Example(
                    text=text,
                    intent=intent,
                    urgent=urgent,
                    locations=tuple((s, e) for s, e, _ in spans),
                    source=path.name,
                    markup=markup,
                )
            )
    return examples


def load_examples(paths: Iterable[Path] | None = None) -> list[Example]:
    """All examples of ``data/nlu/*.yml`` (or of ``paths``), in file order."""
    files = sorted(NLU_DATA_DIR.glob("*.yml")) if paths is None else list(paths)
    if not files:
        raise DataError("no NLU training files found")
    out: list[Example] = []
    for path in files:
        out.extend(load_file(path))
    return out


def stable_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def split_of(text: str, test_percent: int = 20) -> str:
    """``"test"`` for a stable ~``test_percent``% of texts (by SHA-1 of the text), else ``"train"``."""
    bucket = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:4], "big") % 100
    return "test" if bucket < test_percent else "train"


def split(examples: Sequence[Example], which: str) -> list[Example]:
    """The ``train``/``test`` part of ``examples``; ``all`` returns them unchanged."""
    if which == "all":
        return list(examples)
    if which not in ("train", "test"):
        raise ValueError(f"unknown split {which!r}")
    return [ex for ex in examples if split_of(ex.text) == which]


def folds(examples: Sequence[Example], k: int = 5) -> Iterator[tuple[list[Example], list[Example]]]:
    """``k`` (train, test) pairs; fold membership by a stable hash of the text, stratified by intent."""
    by_intent: dict[str, list[Example]] = {}
    for ex in examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    assignment: dict[int, int] = {}
    for members in by_intent.values():
        ordered = sorted(members, key=lambda ex: hashlib.sha1(ex.text.encode("utf-8")).digest())
        for i, ex in enumerate(ordered):
            assignment[id(ex)] = i % k
    for fold in range(k):
        yield (
            [ex for ex in examples if assignment[id(ex)] != fold],
            [ex for ex in examples if assignment[id(ex)] == fold],
        )


def write_jsonl(examples: Iterable[Example], out: Any) -> int:
    n = 0
    for ex in examples:
        out.write(json.dumps(ex.as_record(), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_rasa_yaml(examples: Iterable[Example], path: Path) -> None:
    """Write examples back as one Rasa NLU YAML file (same markup), e.g. a training split."""
    blocks: dict[tuple[str, bool], list[str]] = {}
    for ex in examples:
        blocks.setdefault((ex.intent, ex.urgent), []).append(ex.markup or ex.text)
    lines = ['version: "3.1"', "nlu:"]
    for (intent, urgent), markups in blocks.items():
        lines.append(f"- intent: {intent}")
        if urgent:
            lines += ["  metadata:", "    urgent: true"]
        lines.append("  examples: |")
        lines += [f"    - {m}" for m in markups]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
