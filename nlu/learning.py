"""Learning from staff: retrain on shipped data + corrections, promote only what is no worse.

    from nlu.learning import retrain
    outcome = retrain(corrections)           # Examples made from staff corrections

A candidate is trained on ``data/nlu`` plus the corrections (a correction of a text that is also in
``data/nlu`` replaces that example's label: staff have the last word), then the candidate and the
active model are both scored on the frozen evaluation set — ``data/eval/challenge.jsonl`` and
``data/eval/styles.jsonl``, written independently of our data; a correction whose text is in that set
is dropped, so it never leaks in. The candidate is promoted only when each headline figure (demand F1,
category macro-F1 on gold demands, urgent recall) is at least the active model's minus ``tolerance``
(default 0.005, half a point); otherwise the active model stays and the reasons say which figure fell.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu import metrics
from nlu.data import CORRECTION_SOURCE, Example, load_examples
from nlu.evaluate import predict, read_records
from nlu.normalize import Normalizer
from nlu.pipeline import load_pipeline, train_pipeline
from nlu.registry import Registry
from nlu.resources import DATA_DIR, DEFAULT_MODEL_DIR

FROZEN_EVAL = (DATA_DIR / "eval" / "challenge.jsonl", DATA_DIR / "eval" / "styles.jsonl")
#: How far below the active model a headline figure may fall and still count as "no worse".
DEFAULT_TOLERANCE = 0.005
#: (key, label) of the figures that decide a promotion.
HEADLINE = (
    ("demand_f1", "诉求 F1"),
    ("category_macro_f1", "类别 macro-F1"),
    ("urgent_recall", "紧急召回率"),
)


def figures(scores: dict[str, Any]) -> dict[str, float]:
    """The figures a version is judged and shown by (from ``metrics.score``)."""
    return {
        "demand_f1": round(scores["demand"]["f1"], 4),
        "category_macro_f1": round(scores["category_macro_f1"], 4),
        "urgent_recall": round(scores["urgent"]["recall"], 4),
        "urgent_precision": round(scores["urgent"]["precision"], 4),
        "category_ece": round(scores["category_ece"], 4),
    }


def score_model(model_dir: Path, records: Sequence[dict[str, Any]]) -> dict[str, float]:
    pipe = load_pipeline(model_dir)
    preds, _ = predict(pipe, [r["text"] for r in records])
    return figures(metrics.score(list(records), preds))


def compare(candidate: dict[str, float], current: dict[str, float], tolerance: float) -> list[str]:
    """Why the candidate is refused (empty: it is no worse on every headline figure)."""
    reasons = []
    for key, label in HEADLINE:
        if candidate[key] < current[key] - tolerance:
            reasons.append(
                f"{label} {candidate[key]:.4f} < 当前 {current[key]:.4f} − 容差 {tolerance:.3f}"
            )
    return reasons


def _key(normalizer: Normalizer, text: str) -> str:
    return "".join(normalizer.normalize(text).text.split())


def training_set(
    shipped: Sequence[Example], corrections: Sequence[Example], frozen: Sequence[str]
) -> tuple[list[Example], int, int]:
    """Shipped examples with the corrections applied; ``(examples, used, dropped)``.

    A correction replaces a shipped example of the same (normalised) text and the latest correction
    of a text wins; corrections of texts in the frozen evaluation set are dropped."""
    normalizer = Normalizer()
    held = {_key(normalizer, t) for t in frozen}
    latest: dict[str, Example] = {}
    dropped = 0
    for ex in corrections:
        key = _key(normalizer, ex.text)
        if not key or key in held:
            dropped += 1
            continue
        latest[key] = ex
    out = [ex for ex in shipped if _key(normalizer, ex.text) not in latest]
    out.extend(latest.values())
    return out, len(latest), dropped


@dataclass
class Outcome:
    promoted: bool
    candidate: str
    active: str | None
    candidate_figures: dict[str, float]
    active_figures: dict[str, float] | None
    reasons: list[str] = field(default_factory=list)
    corrections_used: int = 0
    corrections_dropped: int = 0
    examples: int = 0
    seconds: float = 0.0
    entry: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """What happened, in Chinese, for the console and the command line."""
        lines = []
        if self.promoted:
            lines.append(f"新模型 {self.candidate} 已启用（原模型 {self.active or '无'}）。")
        else:
            lines.append(f"候选模型 {self.candidate} 未启用，继续使用 {self.active}：")
            lines += [f"  - {r}" for r in self.reasons]
        lines.append(
            f"训练样本 {self.examples} 条，其中员工更正 {self.corrections_used} 条"
            f"（落在冻结评测集而剔除 {self.corrections_dropped} 条）；用时 {self.seconds:.0f} 秒。"
        )
        for key, label in (*HEADLINE, ("urgent_precision", "紧急精确率")):
            old = self.active_figures.get(key) if self.active_figures else None
            new = self.candidate_figures[key]
            lines.append(f"  {label}: {'—' if old is None else f'{old:.4f}'} → {new:.4f}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            "candidate": self.candidate,
            "active": self.active,
            "candidate_figures": self.candidate_figures,
            "active_figures": self.active_figures,
            "reasons": self.reasons,
            "corrections_used": self.corrections_used,
            "corrections_dropped": self.corrections_dropped,
            "examples": self.examples,
            "seconds": round(self.seconds, 1),
        }


def retrain(
    corrections: Sequence[Example],
    *,
    registry: Registry | None = None,
    shipped: Sequence[Example] | None = None,
    eval_records: Sequence[dict[str, Any]] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    by: str = "",
    seed: Path | None = DEFAULT_MODEL_DIR,
    log: Callable[[str], None] = lambda m: None,
) -> Outcome:
    """Train a candidate, score it and the active model on the frozen set, promote or refuse."""
    started = time.perf_counter()
    registry = registry or Registry.open()
    if seed is not None:
        registry.seed(seed)  # the first time: the model in use (models/nlu) becomes version one
    records = (
        list(eval_records)
        if eval_records is not None
        else [r for path in FROZEN_EVAL for r in read_records(path)]
    )
    shipped = list(shipped) if shipped is not None else load_examples()
    examples, used, dropped = training_set(shipped, corrections, [r["text"] for r in records])
    log(f"training a candidate on {len(examples)} examples ({used} corrections)")
    with tempfile.TemporaryDirectory(prefix=".candidate-", dir=registry.root) as tmp:
        candidate_dir = train_pipeline(Path(tmp) / "model", examples)
        version = registry.add(candidate_dir)
    candidate_dir = registry.path(version)
    log(f"scoring {version} on {len(records)} frozen evaluation messages")
    candidate = score_model(candidate_dir, records)
    active = registry.active()
    current = score_model(registry.path(active), records) if active else None
    reasons = compare(candidate, current, tolerance) if current else []
    if active == version:
        reasons = ["候选模型与当前模型完全相同（没有新的更正）"]
    promoted = not reasons
    data: dict[str, Any] = {
        "figures": candidate,
        "active_figures": current,
        "tolerance": tolerance,
        "corrections": used,
        "examples": len(examples),
        "by": by,
        "reasons": reasons,
        "evaluated_on": len(records),
    }
    if promoted:
        entry = registry.record(version, "promoted", activate=True, **data)
    else:
        entry = registry.record(version, "refused", **data)
    (candidate_dir / "corrections.jsonl").write_text(
        "".join(
            json.dumps({**ex.as_record(), "source": ex.source}, ensure_ascii=False) + "\n"
            for ex in corrections
        ),
        encoding="utf-8",
    )
    return Outcome(
        promoted=promoted,
        candidate=version,
        active=active,
        candidate_figures=candidate,
        active_figures=current,
        reasons=reasons,
        corrections_used=used,
        corrections_dropped=dropped,
        examples=len(examples),
        seconds=time.perf_counter() - started,
        entry=entry,
    )


def read_corrections(path: Path) -> list[Example]:
    """Corrections as labelled JSON lines (``nlu evaluate`` format: text, is_demand, category,
    urgent, optional locations)."""
    out = []
    for record in read_records(path):
        intent = f"demand_{record['category']}" if record["is_demand"] else "chitchat"
        spans = tuple(
            (int(s["start"]), int(s["end"]))
            for s in record.get("locations") or []
            if record["text"][int(s["start"]) : int(s["end"])] == s.get("text")
        )
        out.append(
            Example(
                text=record["text"],
                intent=intent,
                urgent=bool(record.get("urgent")) and bool(record["is_demand"]),
                locations=spans if record["is_demand"] else (),
                source=CORRECTION_SOURCE,
            )
        )
    return out
