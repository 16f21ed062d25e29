"""The demand/category/intent/urgency classifier: linear models over one shared feature vector.

Four heads share the character n-gram + lexicon + urgency-cue features of nlu/features.py:

- ``demand``: demand vs not (binary logistic regression) — ``is_demand`` and its probability;
- ``category``: taxonomy code, trained on demands only — the ranking;
- ``intent``: the non-demand/dialogue intent (notice, thank, greet, affirm, …), trained on non-demands;
- ``urgent``: urgent vs not, trained on demands; its threshold is chosen at training time by
  cross-validation on the training data so that recall reaches ``config.urgent_recall``.

All weights live in one matrix so a batch is scored with one sparse × dense product. Stored as JSON
(vocabulary, labels, configuration) + NPZ (arrays): no pickles, same numbers in both environments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlu.errors import ModelInvalid
from nlu.features import FeatureConfig, Lexicon, Vectorizer
from nlu.linear import SoftmaxModel, softmax, train_softmax

FORMAT = 1
TOP_K = 5  # categories and intents kept per message


@dataclass(frozen=True)
class ClassifierConfig:
    features: FeatureConfig = field(default_factory=lambda: FeatureConfig(1, 2, 1, True))
    c_demand: float = 30.0
    c_category: float = 30.0
    c_intent: float = 30.0
    c_urgent: float = 30.0
    demand_threshold: float | None = None  # None: the F1-best threshold, by cross-validation
    urgent_recall: float = 0.97
    folds: int = 5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassifierConfig:
        d = dict(d)
        features = FeatureConfig(**d.pop("features", {}))
        return cls(features=features, **d)


@dataclass(frozen=True, slots=True)
class Scores:
    """Raw probabilities of one message (before the pipeline turns them into a result)."""

    demand: float
    category: tuple[tuple[str, float], ...]  # the TOP_K best, best first
    intents: tuple[tuple[str, float], ...]  # the TOP_K best non-demand intents, best first
    urgent: float


@dataclass
class TrainingItem:
    text: str  # normalised
    extra: list[str]  # extra binary features (urgency cues)
    intent: str
    is_demand: bool
    category: str | None
    urgent: bool


class Classifier:
    def __init__(
        self,
        config: ClassifierConfig,
        vectorizer: Vectorizer,
        categories: list[str],
        intents: list[str],
        weights: np.ndarray,
        intercepts: np.ndarray,
        urgent_threshold: float,
        demand_threshold: float = 0.5,
    ) -> None:
        self.config = config
        self.demand_threshold = demand_threshold
        self.vectorizer = vectorizer
        self.categories = categories
        self.intents = intents
        self.weights = weights
        self.intercepts = intercepts
        self.urgent_threshold = urgent_threshold
        k = len(categories)
        self._slices = {
            "demand": slice(0, 2),
            "category": slice(2, 2 + k),
            "intent": slice(2 + k, 2 + k + len(intents)),
            "urgent": slice(2 + k + len(intents), 4 + k + len(intents)),
        }

    # -- inference -----------------------------------------------------------------------------

    def scores(self, texts: Sequence[str], extras: Sequence[Iterable[str]]) -> list[Scores]:
        """Probabilities for a batch of normalised texts."""
        if not texts:
            return []
        x = self.vectorizer.transform(texts, extras)
        z = np.asarray(x @ self.weights) + self.intercepts
        p = {name: softmax(z[:, sl]) for name, sl in self._slices.items()}
        top_c = np.argsort(-p["category"], axis=1, kind="stable")[:, :TOP_K]
        top_i = np.argsort(-p["intent"], axis=1, kind="stable")[:, :TOP_K]
        pc = np.take_along_axis(p["category"], top_c, axis=1).tolist()
        pi = np.take_along_axis(p["intent"], top_i, axis=1).tolist()
        demand = p["demand"][:, 1].tolist()
        urgent = p["urgent"][:, 1].tolist()
        cats = self.categories
        intents = self.intents
        out = []
        for i, (oc, oi) in enumerate(zip(top_c.tolist(), top_i.tolist(), strict=True)):
            out.append(
                Scores(
                    demand=demand[i],
                    category=tuple(zip([cats[k] for k in oc], pc[i], strict=True)),
                    intents=tuple(zip([intents[k] for k in oi], pi[i], strict=True)),
                    urgent=urgent[i],
                )
            )
        return out

    # -- training ------------------------------------------------------------------------------

    @classmethod
    def train(
        cls, items: Sequence[TrainingItem], lexicon: Lexicon | None, config: ClassifierConfig
    ) -> Classifier:
        texts = [it.text for it in items]
        extras = [it.extra for it in items]
        vectorizer = Vectorizer.fit(texts, config.features, lexicon, extras)
        x = vectorizer.transform(texts, extras)
        items = list(items)
        demand_y = np.array([int(it.is_demand) for it in items])
        demands = np.flatnonzero(demand_y == 1)
        others = np.flatnonzero(demand_y == 0)
        if len(demands) == 0 or len(others) == 0:
            raise ValueError("training data needs both demands and non-demands")
        categories = sorted({str(items[int(i)].category) for i in demands})
        intents = sorted({items[int(i)].intent for i in others})

        demand = train_softmax(x, demand_y, 2, c=config.c_demand)
        demand_threshold = config.demand_threshold
        if demand_threshold is None:
            demand_threshold = _best_f1_threshold(x, demand_y, config)
        cat_y = np.array([categories.index(str(items[int(i)].category)) for i in demands])
        category = train_softmax(x[demands], cat_y, len(categories), c=config.c_category)
        int_y = np.array([intents.index(items[int(i)].intent) for i in others])
        intent = _fit_maybe_single(x[others], int_y, len(intents), config.c_intent)
        urg_y = np.array([int(items[int(i)].urgent) for i in demands])
        urgent = _fit_maybe_single(x[demands], urg_y, 2, config.c_urgent)
        threshold = _urgent_threshold(x[demands], urg_y, config)

        heads = [demand, category, intent, urgent]
        weights = np.hstack([h.coef for h in heads])
        intercepts = np.concatenate([h.intercept for h in heads])
        return cls(
            config,
            vectorizer,
            categories,
            intents,
            weights,
            intercepts,
            threshold,
            demand_threshold,
        )

    # -- storage -------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        lexicon = self.vectorizer.lexicon
        meta = {
            "format": FORMAT,
            "config": self.config.as_dict(),
            "categories": self.categories,
            "intents": self.intents,
            "urgent_threshold": self.urgent_threshold,
            "demand_threshold": self.demand_threshold,
            "lexicon": None
            if lexicon is None
            else {"words": lexicon.words, "regexes": lexicon.regexes},
            "vocabulary": self.vectorizer.vocabulary,
        }
        (directory / "classifier.json").write_text(
            json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        np.savez_compressed(
            directory / "classifier.npz",
            idf=self.vectorizer.idf,
            weights=self.weights,
            intercepts=self.intercepts,
        )

    @classmethod
    def load(cls, directory: Path) -> Classifier:
        try:
            meta = json.loads((directory / "classifier.json").read_text(encoding="utf-8"))
            with np.load(directory / "classifier.npz") as arrays:
                idf = arrays["idf"]
                weights = arrays["weights"]
                intercepts = arrays["intercepts"]
        except (OSError, ValueError, KeyError) as e:
            raise ModelInvalid(f"{directory}: unreadable classifier files: {e}") from e
        if meta.get("format") != FORMAT:
            raise ModelInvalid(
                f"{directory}: classifier format {meta.get('format')}, need {FORMAT}"
            )
        config = ClassifierConfig.from_dict(meta["config"])
        lex = meta.get("lexicon")
        lexicon = None if lex is None else Lexicon(lex["words"], lex["regexes"])
        vectorizer = Vectorizer(config.features, meta["vocabulary"], idf, lexicon)
        return cls(
            config,
            vectorizer,
            list(meta["categories"]),
            list(meta["intents"]),
            weights,
            intercepts,
            float(meta["urgent_threshold"]),
            float(meta["demand_threshold"]),
        )


def _fit_maybe_single(x: Any, y: np.ndarray, k: int, c: float) -> SoftmaxModel:
    """A softmax model; with a single class present, a constant one (no optimisation needed)."""
    if len(set(y.tolist())) < 2:
        intercept = np.full(k, -10.0)
        intercept[int(y[0]) if len(y) else 0] = 10.0
        return SoftmaxModel(np.zeros((x.shape[1], k)), intercept)
    return train_softmax(x, y, k, c=c)


def _out_of_fold(x: Any, y: np.ndarray, c: float, folds: int) -> np.ndarray:
    """P(class 1) of every training row from a model that did not see it (stratified folds)."""
    fold = np.zeros(len(y), dtype=int)
    for cls_ in (0, 1):
        members = np.flatnonzero(y == cls_)
        fold[members] = np.arange(len(members)) % folds
    oof = np.zeros(len(y))
    for f in range(folds):
        train = np.flatnonzero(fold != f)
        test = np.flatnonzero(fold == f)
        model = _fit_maybe_single(x[train], y[train], 2, c)
        oof[test] = model.predict_proba(x[test])[:, 1]
    return oof


def _urgent_threshold(x: Any, y: np.ndarray, config: ClassifierConfig) -> float:
    """Highest threshold whose out-of-fold recall on the training demands reaches the target."""
    positives = np.flatnonzero(y == 1)
    if len(positives) < config.folds or len(positives) == len(y):
        return 0.5
    oof = _out_of_fold(x, y, config.c_urgent, config.folds)
    scores = np.sort(oof[positives])
    allowed_misses = int(np.floor((1.0 - config.urgent_recall) * len(scores)))
    threshold = float(scores[allowed_misses]) - 1e-9
    return min(max(threshold, 0.02), 0.5)


def _best_f1_threshold(x: Any, y: np.ndarray, config: ClassifierConfig) -> float:
    """The demand threshold with the best out-of-fold F1 on the training data (0.3–0.7)."""
    if min(np.bincount(y, minlength=2)) < config.folds:
        return 0.5
    oof = _out_of_fold(x, y, config.c_demand, config.folds)
    best, best_f1 = 0.5, -1.0
    for t in np.arange(0.30, 0.701, 0.01):
        pred = oof >= t
        tp = float(np.sum(pred & (y == 1)))
        f1 = 2 * tp / (float(np.sum(pred)) + float(np.sum(y == 1)))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return round(best, 2)
