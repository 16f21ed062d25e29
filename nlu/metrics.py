"""Evaluation metrics over labelled records (standard library only).

A record is ``{"is_demand", "category", "urgent", "locations": [{"start", "end"}]}``; a prediction
has the same keys plus ``category_any`` — the classifier's best category even when it decided the
message is not a demand (for the category metric over gold demands).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    support: int

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> PRF:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, tp + fn)

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
        }


def binary(gold: Sequence[bool], pred: Sequence[bool]) -> PRF:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if p and not g)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return PRF.of(tp, fp, fn)


def per_class(
    gold: Sequence[str | None], pred: Sequence[str | None], labels: Sequence[str]
) -> dict[str, PRF]:
    out = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        out[label] = PRF.of(tp, fp, fn)
    return out


def macro_f1(table: dict[str, PRF]) -> float:
    return sum(v.f1 for v in table.values()) / len(table) if table else 0.0


def spans_f1(
    gold: Sequence[Sequence[tuple[int, int]]], pred: Sequence[Sequence[tuple[int, int]]]
) -> dict[str, PRF]:
    """Exact-match and overlap span P/R/F1 (an overlapping pair counts once, one-to-one)."""
    tp = fp = fn = 0
    otp_p = otp_g = 0
    n_pred = n_gold = 0
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(map(tuple, g)), set(map(tuple, p))
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
        n_pred += len(ps)
        n_gold += len(gs)
        otp_p += sum(1 for a in ps if any(a[0] < b[1] and b[0] < a[1] for b in gs))
        otp_g += sum(1 for b in gs if any(a[0] < b[1] and b[0] < a[1] for a in ps))
    exact = PRF.of(tp, fp, fn)
    op = otp_p / n_pred if n_pred else 0.0
    orc = otp_g / n_gold if n_gold else 0.0
    of = 2 * op * orc / (op + orc) if op + orc else 0.0
    return {"exact": exact, "overlap": PRF(op, orc, of, n_gold)}


def calibration_error(
    confidence: Sequence[float], outcome: Sequence[bool], bins: int = 10
) -> float:
    """Expected calibration error: over ``bins`` equal-width confidence bins, the gap between the
    mean confidence and the fraction of outcomes that came true, weighted by the bin's share.
    For a top-1 prediction ``outcome`` is "it was right"; for a probability, "the event happened"."""
    sums: dict[int, list[float]] = {}
    for c, o in zip(confidence, outcome, strict=True):
        b = min(int(c * bins), bins - 1)
        acc = sums.setdefault(b, [0.0, 0.0, 0.0])
        acc[0] += c
        acc[1] += float(o)
        acc[2] += 1
    n = sum(a[2] for a in sums.values())
    return sum(abs(a[0] - a[1]) / n for a in sums.values()) if n else 0.0


def confusion(gold: Sequence[str | None], pred: Sequence[str | None]) -> Counter[tuple[str, str]]:
    return Counter((str(g), str(p)) for g, p in zip(gold, pred, strict=True))


def score(
    records: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Every metric of ``nlu evaluate`` for one system, as a JSON-ready dict."""
    gold_d = [bool(r["is_demand"]) for r in records]
    pred_d = [bool(p["is_demand"]) for p in predictions]
    categories = sorted({r["category"] for r in records if r.get("category")})
    demand_idx = [i for i, r in enumerate(records) if r["is_demand"]]
    gold_c = [records[i]["category"] for i in demand_idx]
    pred_c = [
        predictions[i].get("category_any") or predictions[i].get("category") for i in demand_idx
    ]
    table = per_class(gold_c, pred_c, categories)
    e2e_gold = [r.get("category") if r["is_demand"] else None for r in records]
    e2e_pred = [p.get("category") if p["is_demand"] else None for p in predictions]
    e2e = per_class(e2e_gold, e2e_pred, categories)
    urgent = binary(
        [bool(r.get("urgent")) for r in records], [bool(p.get("urgent")) for p in predictions]
    )
    spans = spans_f1(
        [[(s["start"], s["end"]) for s in r.get("locations") or []] for r in records],
        [[(s["start"], s["end"]) for s in p.get("locations") or []] for p in predictions],
    )
    accuracy = (
        sum(1 for g, p in zip(gold_c, pred_c, strict=True) if g == p) / len(gold_c)
        if gold_c
        else 0.0
    )
    ranked = [(predictions[i].get("ranking") or [[None, 0.0]])[0] for i in demand_idx]
    category_ece = calibration_error(
        [float(p) for _, p in ranked], [g == c for g, (c, _) in zip(gold_c, ranked, strict=True)]
    )
    demand_ece = calibration_error(
        [float(p.get("demand_confidence") or 0.0) for p in predictions], gold_d
    )
    return {
        "messages": len(records),
        "demand": binary(gold_d, pred_d).as_dict(),
        "demand_ece": round(demand_ece, 4),
        "category_ece": round(category_ece, 4),
        "category_macro_f1": round(macro_f1(table), 4),
        "category_accuracy": round(accuracy, 4),
        "category_macro_f1_end_to_end": round(macro_f1(e2e), 4),
        "category_per_class": {k: v.as_dict() for k, v in table.items()},
        "urgent": urgent.as_dict(),
        "locations_exact": spans["exact"].as_dict(),
        "locations_overlap": spans["overlap"].as_dict(),
        "category_confusion": [
            [g, p, n] for (g, p), n in sorted(confusion(gold_c, pred_c).items())
        ],
    }
