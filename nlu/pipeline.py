"""The NLU pipeline: normalise → urgency cues → classify → locations and PII, with offsets into the
original text. Importable in both environments (``.venv`` and ``.venv-rasa``); no Rasa here.

    from nlu.pipeline import load_pipeline
    pipe = load_pipeline()                     # models/nlu; ModelNotFound when not trained
    pipe.classify(["3栋电梯又坏咗"])[0].as_dict()

A trained model directory is self-contained: the classifier (JSON + NPZ), the location word list and
copies of every lexicon, dictionary and gazetteer file it was trained with, under ``resources/``
(the gazetteer of the units and Guangdong's divisions: ``nlu.gazetteer``).
``model.json`` is written last and names the model (``version``).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlu import pii as pii_module
from nlu.classifier import Classifier, ClassifierConfig, Scores, TrainingItem
from nlu.data import Example, load_examples
from nlu.errors import ModelInvalid, ModelNotFound
from nlu.features import Lexicon
from nlu.gazetteer import Gazetteer, write_resources
from nlu.locations import (
    LocationExtractor,
    LocationSpan,
    learn_outside_words,
    learn_place_names,
)
from nlu.normalize import Framing, Normalized, Normalizer
from nlu.pii import PiiSpan
from nlu.resources import DATA_DIR, DEFAULT_MODEL_DIR, LEXICON_DIR, resources_fingerprint
from nlu.segment import Segmenter
from nlu.urgency import UrgencyCues, UrgencyRules

MODEL_FORMAT = 1
#: Demands at least this long (normalised characters) are also read sentence by sentence for
#: urgency (``Pipeline._urgent_sentences``); sentences shorter than _MIN_SENTENCE are not scored.
_LONG_MESSAGE = 30
_MIN_SENTENCE = 4
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")
REPORT_INTENT = "report"
RANKING_SIZE = 5
INTENT_RANKING_SIZE = 5
_RESOURCE_FILES = {
    "cantonese.tsv": LEXICON_DIR / "cantonese.tsv",
    "t2s_chars.tsv": LEXICON_DIR / "t2s_chars.tsv",
    "features.yml": LEXICON_DIR / "features.yml",
    "urgency.yml": LEXICON_DIR / "urgency.yml",
    "places.yml": LEXICON_DIR / "places.yml",
}


def _r(x: float) -> float:
    return round(float(x), 4)


#: A string as JSON with ensure_ascii=False (the json module's own C encoder of strings).
_json_str: Any = json.encoder.encode_basestring


def _round4(values: np.ndarray) -> list[Any]:
    """``round(float(x), 4)`` of every element, as (nested) Python lists, for a whole batch.

    Python rounds the exact binary value half to even to four decimals, then takes the nearest
    float to that decimal. Here the nearest integer ``k`` to ``x·10⁴`` and the division ``k / 10⁴``
    (IEEE division is correctly rounded: the float nearest to ``k/10⁴``, as Python's) give the same
    float unless ``x·10⁴`` is so near a half that the product's rounding error could change ``k``
    (within 1e-6 of one, or not finite, or too large to be exact): those are rounded by ``round``
    itself. A test compares both on random and tie-breaking values."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * 10000.0
        out = np.rint(scaled) / 10000.0
        doubt = ~((np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6) & (np.abs(scaled) < 2.0**50))
    if doubt.any():
        where = np.nonzero(doubt)
        out[where] = [round(float(x), 4) for x in values[where]]
    return list(out.tolist())


def _json_id(id_: Any) -> str:
    """``json.dumps(id_, ensure_ascii=False)``; an int or a string without the encoder's set-up."""
    kind = type(id_)
    if kind is int:
        return int.__repr__(id_)
    if kind is str:
        return str(_json_str(id_))
    return json.dumps(id_, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class NluResult:
    """Everything the NLU says about one message. Offsets index the original text."""

    is_demand: bool
    demand_confidence: float  # P(demand), also for non-demands
    category: str | None
    category_confidence: float
    ranking: tuple[tuple[str, float], ...]
    urgent: bool
    urgent_confidence: float
    urgent_cues: tuple[str, ...]
    locations: tuple[LocationSpan, ...]
    pii: tuple[PiiSpan, ...]
    intent: str
    intent_confidence: float
    intent_ranking: tuple[tuple[str, float], ...] = ()
    framing: Framing = field(default_factory=Framing)
    classifier_version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "is_demand": self.is_demand,
            "demand_confidence": _r(self.demand_confidence),
            "category": self.category,
            "category_confidence": _r(self.category_confidence),
            "ranking": [[code, _r(p)] for code, p in self.ranking],
            "urgent": self.urgent,
            "urgent_confidence": _r(self.urgent_confidence),
            "urgent_cues": list(self.urgent_cues),
            "locations": [loc.as_dict() for loc in self.locations],
            "pii": [p.as_dict() for p in self.pii],
            "intent": self.intent,
            "intent_confidence": _r(self.intent_confidence),
            "intent_ranking": [[name, _r(p)] for name, p in self.intent_ranking],
            "framing": self.framing.as_dict(),
            "classifier_version": self.classifier_version,
        }

    def to_json(self, id_: Any) -> str:
        """``json.dumps({"id": id_, **self.as_dict()}, ensure_ascii=False)``, written directly: the
        dict and the generic encoder were a fifth of ``nlu classify``'s time. A test checks that the
        two are the same string on every training text."""
        s = _json_str
        # (list comprehensions, not generators, and round() inline: a tenth of this function)
        ranking = ", ".join([f"[{s(c)}, {round(float(p), 4)!r}]" for c, p in self.ranking])
        intents = ", ".join([f"[{s(c)}, {round(float(p), 4)!r}]" for c, p in self.intent_ranking])
        locations = _locations_json(self.locations)
        pii = _pii_json(self.pii)
        category = "null" if self.category is None else s(self.category)
        framing_json = _framing_json(self.framing)
        return (
            f'{{"id": {_json_id(id_)}, '
            f'"is_demand": {"true" if self.is_demand else "false"}, '
            f'"demand_confidence": {_r(self.demand_confidence)!r}, '
            f'"category": {category}, '
            f'"category_confidence": {_r(self.category_confidence)!r}, '
            f'"ranking": [{ranking}], '
            f'"urgent": {"true" if self.urgent else "false"}, '
            f'"urgent_confidence": {_r(self.urgent_confidence)!r}, '
            f'"urgent_cues": [{", ".join(map(s, self.urgent_cues))}], '
            f'"locations": [{locations}], '
            f'"pii": [{pii}], '
            f'"intent": {s(self.intent)}, '
            f'"intent_confidence": {_r(self.intent_confidence)!r}, '
            f'"intent_ranking": [{intents}], '
            f'"framing": {framing_json}, '
            f'"classifier_version": {s(self.classifier_version)}}}'
        )


def _locations_json(spans: Iterable[LocationSpan]) -> str:
    """The items of the ``locations`` list of a JSON line."""
    s = _json_str
    return ", ".join(
        [f'{{"text": {s(x.text)}, "start": {x.start!r}, "end": {x.end!r}}}' for x in spans]
    )


def _pii_json(spans: Iterable[PiiSpan]) -> str:
    """The items of the ``pii`` list of a JSON line."""
    s = _json_str
    return ", ".join(
        [f'{{"kind": {s(x.kind)}, "start": {x.start!r}, "end": {x.end!r}}}' for x in spans]
    )


def _framing_json(framing: Framing) -> str:
    """The ``framing`` object of a JSON line (``{}`` for most messages)."""
    if (
        framing.forwarded
        or framing.speaker
        or framing.relay
        or framing.mentions
        or framing.attachments
    ):
        return json.dumps(framing.as_dict(), ensure_ascii=False)
    return "{}"


class Pipeline:
    """A loaded model; ``classify`` is thread-safe and batches internally."""

    def __init__(
        self,
        *,
        normalizer: Normalizer,
        urgency: UrgencyRules,
        classifier: Classifier,
        locations: LocationExtractor,
        version: str,
        batch_size: int = 512,
        reference: bool = False,
    ) -> None:
        self.reference = reference
        self.normalizer = normalizer
        self.urgency = urgency
        self.classifier = classifier
        self.locations = locations
        self.version = version
        self.batch_size = batch_size
        # JSON strings of the names ``_batch_json`` writes, by column (the intents' -1: `report`)
        self._category_json = [_json_str(c) for c in classifier.categories]
        self._intent_json = {i: _json_str(c) for i, c in enumerate(classifier.intents)}
        self._intent_json[-1] = _json_str(REPORT_INTENT)
        self._version_json = _json_str(version)

    def classify(self, texts: Sequence[str]) -> list[NluResult]:
        """One result per text, in order."""
        out: list[NluResult] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._batch(texts[i : i + self.batch_size]))
        return out

    def classify_json(self, texts: Sequence[str], ids: Sequence[Any]) -> list[str]:
        """``[r.to_json(id_) for r, id_ in zip(self.classify(texts), ids)]``: the JSON lines of
        ``nlu classify``, one per text, in order, computed a batch at a time without a result
        object per message (``reference=True``: through ``classify`` and ``to_json``). A test
        checks both give the same lines on every training text."""
        if self.reference:
            return [r.to_json(i) for r, i in zip(self.classify(texts), ids, strict=True)]
        out: list[str] = []
        for i in range(0, len(texts), self.batch_size):
            end = i + self.batch_size
            out.extend(self._batch_json(texts[i:end], ids[i:end]))
        return out

    def _batch_json(self, texts: Sequence[str], ids: Sequence[Any]) -> list[str]:
        """``_batch`` and ``to_json`` for one batch, with the decisions, the intent ranking and the
        rounding done over NumPy arrays of the whole batch."""
        if not texts:
            return []
        normalizer, urgency = self.normalizer, self.urgency
        norms = [normalizer.normalize(t) for t in texts]
        bodies = [normalizer.body(n) for n in norms]
        cues = [urgency.cues(b) for b in bodies]
        b = self.classifier.batch_scores(bodies, [c.features() for c in cues])
        demand = b.demand
        is_demand = demand >= self.classifier.demand_threshold
        urgent_of = self._urgent(norms, cues, demand.tolist(), b.urgent.tolist())
        # The intent ranking: `report` (P(demand)) among the non-demand intents' shares of the rest,
        # sorted as sorted(..., key=-p) sorts (stable), `report` first exactly for demands.
        values = np.concatenate([demand[:, None], (1.0 - demand)[:, None] * b.intent_p], axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        report_first = order[:, 0] == 0
        for row in np.flatnonzero(report_first != is_demand).tolist():
            rest = [k for k in order[row].tolist() if k != 0]
            order[row] = [0, *rest] if is_demand[row] else [*rest, 0]
        order = order[:, :INTENT_RANKING_SIZE]
        intent_values = _round4(np.take_along_axis(values, order, axis=1))
        intent_columns = np.concatenate([np.full((len(texts), 1), -1), b.intent], axis=1)
        intent_names = np.take_along_axis(intent_columns, order, axis=1).tolist()
        category = b.category[:, :RANKING_SIZE].tolist()
        category_p = _round4(b.category_p[:, :RANKING_SIZE])
        demand_r = _round4(demand)
        urgent_r = _round4(b.urgent)
        cat_json, intent_json = self._category_json, self._intent_json
        demands = is_demand.tolist()
        version = self._version_json
        extract = self.locations.extract
        find_pii = pii_module.find_pii
        s = _json_str
        lines = []
        for k, id_ in enumerate(ids):
            norm = norms[k]
            demand_k = demands[k]
            cats, ps = category[k], category_p[k]
            ranking = ", ".join([f"[{cat_json[c]}, {p!r}]" for c, p in zip(cats, ps, strict=True)])
            intents = ", ".join(
                [
                    f"[{intent_json[c]}, {p!r}]"
                    for c, p in zip(intent_names[k], intent_values[k], strict=True)
                ]
            )
            urgent = urgent_of[k]
            lines.append(
                f'{{"id": {_json_id(id_)}, '
                f'"is_demand": {"true" if demand_k else "false"}, '
                f'"demand_confidence": {demand_r[k]!r}, '
                f'"category": {cat_json[cats[0]] if demand_k else "null"}, '
                f'"category_confidence": {ps[0] if demand_k else 0.0!r}, '
                f'"ranking": [{ranking}], '
                f'"urgent": {"true" if urgent else "false"}, '
                f'"urgent_confidence": {urgent_r[k] if demand_k else 0.0!r}, '
                f'"urgent_cues": [{", ".join(map(s, cues[k].situations)) if urgent else ""}], '
                f'"locations": [{_locations_json(extract(norm))}], '
                f'"pii": [{_pii_json(find_pii(norm.original))}], '
                f'"intent": {intent_json[intent_names[k][0]]}, '
                f'"intent_confidence": {intent_values[k][0]!r}, '
                f'"intent_ranking": [{intents}], '
                f'"framing": {_framing_json(norm.framing)}, '
                f'"classifier_version": {version}}}'
            )
        return lines

    def analyse(self, texts: Sequence[str]) -> list[tuple[Normalized, UrgencyCues, Scores]]:
        """The intermediate steps for a batch (used by evaluation and the Rasa components)."""
        norms = [self.normalizer.normalize(t) for t in texts]
        bodies = [self.normalizer.body(n) for n in norms]
        cues = [self.urgency.cues(b) for b in bodies]
        scores = self.classifier.scores(bodies, [c.features() for c in cues])
        return list(zip(norms, cues, scores, strict=True))

    def _urgent(
        self,
        norms: Sequence[Normalized],
        cues: Sequence[UrgencyCues],
        demand: Sequence[float],
        urgent: Sequence[float],
    ) -> list[bool]:
        """Which messages are urgent (one definition for ``classify`` and ``classify_json``): the
        urgency head decides, the sentence can veto (没闻到, 上个月, 已经围蔽 …: urgency.py); a
        message that names nothing pressing needs a confident head (``urgent_uncued``), and a long
        demand is urgent when one of its sentences is (``_urgent_sentences``)."""
        demand_threshold = self.classifier.demand_threshold
        threshold = self.classifier.urgent_threshold
        veto = self.classifier.config.calm_veto
        uncued = self.classifier.config.urgent_uncued
        uncued_threshold = threshold if uncued is None else max(threshold, uncued)
        decided = [
            d >= demand_threshold
            and u >= (threshold if c.pressing else uncued_threshold)
            and not (veto and c.calmed)
            for c, d, u in zip(cues, demand, urgent, strict=True)
        ]
        if uncued is not None:
            long_demands = [
                i
                for i, (n, c, d) in enumerate(zip(norms, cues, demand, strict=True))
                if not decided[i]
                and d >= demand_threshold
                and not (veto and c.calmed)
                and len(n.text) >= _LONG_MESSAGE
            ]
            for i in self._urgent_sentences(norms, long_demands):
                decided[i] = True
        return decided

    def _urgent_sentences(self, norms: Sequence[Normalized], candidates: list[int]) -> set[int]:
        """Which of the long demands ``candidates`` (indexes into ``norms``) hold one sentence
        that is urgent on its own: pressing, not calmed, and the urgency head confident
        (``urgent_uncued``) on that sentence alone. A letter that lists three complaints and, in
        the third, a gas smell filling the stairwell right now is urgent, though the whole
        message's character n-grams are mostly about the other two."""
        floor = max(self.classifier.urgent_threshold, self.classifier.config.urgent_uncued or 0.0)
        owners: list[int] = []
        sentences: list[str] = []
        cues: list[UrgencyCues] = []
        for i in candidates:
            parts = [p for p in _SENTENCE_END.split(self.normalizer.body(norms[i])) if p]
            if len(parts) < 2:
                continue
            for part in parts:
                c = self.urgency.cues(part)
                if c.pressing and not c.calmed and len(part) >= _MIN_SENTENCE:
                    owners.append(i)
                    sentences.append(part)
                    cues.append(c)
        if not sentences:
            return set()
        scores = self.classifier.scores(sentences, [c.features() for c in cues])
        return {i for i, s in zip(owners, scores, strict=True) if s.urgent >= floor}

    def _batch(self, texts: Sequence[str]) -> list[NluResult]:
        demand_threshold = self.classifier.demand_threshold
        analysed = self.analyse(texts)
        decided = self._urgent(
            [n for n, _, _ in analysed],
            [c for _, c, _ in analysed],
            [s.demand for _, _, s in analysed],
            [s.urgent for _, _, s in analysed],
        )
        results = []
        for (norm, cues, s), urgent in zip(analysed, decided, strict=True):
            is_demand = s.demand >= demand_threshold
            best, best_p = s.category[0]
            intents = sorted(
                [(REPORT_INTENT, s.demand)]
                + [(name, (1.0 - s.demand) * p) for name, p in s.intents],
                key=lambda pair: -pair[1],
            )
            # The demand threshold is not 0.5: keep `report` first exactly for demands.
            if is_demand and intents[0][0] != REPORT_INTENT:
                intents.remove((REPORT_INTENT, s.demand))
                intents.insert(0, (REPORT_INTENT, s.demand))
            elif not is_demand and intents[0][0] == REPORT_INTENT:
                intents.append(intents.pop(0))
            results.append(
                NluResult(
                    is_demand=is_demand,
                    demand_confidence=s.demand,
                    category=best if is_demand else None,
                    category_confidence=best_p if is_demand else 0.0,
                    ranking=s.category[:RANKING_SIZE],
                    urgent=urgent,
                    urgent_confidence=s.urgent if is_demand else 0.0,
                    urgent_cues=cues.situations if urgent else (),
                    locations=tuple(self.locations.extract(norm)),
                    pii=tuple(pii_module.find_pii(norm.original)),
                    intent=intents[0][0],
                    intent_confidence=intents[0][1],
                    intent_ranking=tuple(intents[:INTENT_RANKING_SIZE]),
                    framing=norm.framing,
                    classifier_version=self.version,
                )
            )
        return results


def load_pipeline(
    model_dir: Path | str | None = None,
    *,
    batch_size: int = 512,
    fast_segmenter: bool = True,
    reference: bool = False,
) -> Pipeline:
    """Load a trained model (default ``<repo>/models/nlu``); ``ModelNotFound`` when there is none.
    ``fast_segmenter=False`` segments without jieba-rs (the same words, slower). ``reference=True``
    runs the slower code that the fast paths replaced and must agree with, byte for byte: spaCy's
    ``Matcher`` for the place patterns, every place token through the re-splitting rules, a
    ``Counter`` of n-grams per message, every urgency, lexicon and normalisation pattern searched,
    a result object and ``to_json`` per message (tests and ``benchmarks/bench_nlu_speed.py``
    compare the two)."""
    directory = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    manifest_path = directory / "model.json"
    if not manifest_path.is_file():
        raise ModelNotFound(
            f"no NLU model in {directory} (train one: make train, or python -m nlu train)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        locations_meta = json.loads((directory / "locations.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelInvalid(f"{directory}: {e}") from e
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelInvalid(
            f"{directory}: model format {manifest.get('format')}, need {MODEL_FORMAT}"
        )
    resources = directory / "resources"
    normalizer = Normalizer(resources, skip_searches=not reference)
    gazetteer = Gazetteer.load(resources)
    locations = _extractor(
        resources,
        gazetteer,
        locations_meta.get("learned_places") or (),
        locations_meta["outside_words"],
        accelerate=fast_segmenter,
        spacy_matcher=reference,
    )
    classifier = Classifier.load(directory)
    classifier.vectorizer.reference = reference
    return Pipeline(
        normalizer=normalizer,
        urgency=UrgencyRules(resources / "urgency.yml", skip_searches=not reference),
        classifier=classifier,
        locations=locations,
        version=str(manifest["version"]),
        batch_size=batch_size,
        reference=reference,
    )


def _extractor(
    resources: Path,
    gazetteer: Gazetteer,
    learned: Sequence[str] = (),
    outside_words: Iterable[str] = (),
    *,
    accelerate: bool = True,
    spacy_matcher: bool = False,
) -> LocationExtractor:
    """The place extractor over the model's resources; ``learned``: place names learned from staff
    corrections (``learn_place_names``), known to the segmenter and the gazetteer alike."""
    segmenter = Segmenter(
        resources / "userdict.txt", [*gazetteer.units, *learned], accelerate=accelerate
    )
    return LocationExtractor(
        segmenter,
        [*gazetteer.places, *learned],
        resources / "places.yml",
        outside_words,
        weak=gazetteer.weak,
        spacy_matcher=spacy_matcher,
    )


def inputs_digest(examples: Iterable[Example], config: ClassifierConfig) -> str:
    """What a trained model depends on: the examples (in any order), the configuration, and every
    lexicon, dictionary and code file (``resources_fingerprint``)."""
    h = hashlib.sha256(resources_fingerprint().encode())
    h.update(json.dumps(config.as_dict(), sort_keys=True).encode())
    rows = sorted(
        json.dumps([ex.text, ex.intent, ex.urgent, list(ex.locations)], ensure_ascii=False)
        for ex in examples
    )
    for row in rows:
        h.update(row.encode())
        h.update(b"\n")
    return h.hexdigest()[:24]


def train_pipeline(
    out_dir: Path | str | None = None,
    examples: Sequence[Example] | None = None,
    config: ClassifierConfig | None = None,
    *,
    reuse: Path | str | None = None,
) -> Path:
    """Train on ``examples`` (default: all of data/nlu) and write a model directory atomically.

    ``reuse``: a model directory to copy instead when it was trained from exactly the same inputs
    (``inputs_digest``): Rasa's training reuses ``models/nlu`` from ``make train`` this way, so the
    two are the same model and training runs once."""
    started = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else DEFAULT_MODEL_DIR
    examples = list(examples) if examples is not None else load_examples()
    config = config or ClassifierConfig()
    digest = inputs_digest(examples, config)
    out.parent.mkdir(parents=True, exist_ok=True)
    if reuse is not None and _trained_from(Path(reuse), digest):
        work = Path(tempfile.mkdtemp(prefix=".copying-", dir=out.parent))
        try:
            shutil.copytree(reuse, work / "model")
            _replace(work / "model", out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return out
    work = Path(tempfile.mkdtemp(prefix=".training-", dir=out.parent))
    try:
        resources = work / "resources"
        resources.mkdir()
        for name, source in _RESOURCE_FILES.items():
            shutil.copyfile(source, resources / name)
        gazetteer = write_resources(resources)
        normalizer = Normalizer(resources)
        urgency = UrgencyRules(resources / "urgency.yml")
        norms = [normalizer.normalize(ex.text) for ex in examples]
        items = [
            TrainingItem(
                text=normalizer.body(n),
                extra=urgency.cues(normalizer.body(n)).features(),
                intent=ex.intent,
                is_demand=ex.is_demand,
                category=ex.category,
                urgent=ex.urgent,
            )
            for ex, n in zip(examples, norms, strict=True)
        ]
        lexicon = Lexicon.load(resources / "features.yml", DATA_DIR / "taxonomy.yml")
        classifier = Classifier.train(items, lexicon, config)
        classifier.save(work)
        extractor = _extractor(resources, gazetteer)
        learned = learn_place_names(
            extractor,
            normalizer,
            [
                (n, ex.locations)
                for ex, n in zip(examples, norms, strict=True)
                if ex.locations and ex.is_correction
            ],
        )
        if learned:
            extractor = _extractor(resources, gazetteer, learned)
        outside = learn_outside_words(
            extractor, [(n, ex.locations) for ex, n in zip(examples, norms, strict=True)]
        )
        (work / "locations.json").write_text(
            json.dumps({"outside_words": outside, "learned_places": learned}, ensure_ascii=False),
            encoding="utf-8",
        )
        version = "minwei-nlu-" + _digest(work)[:12]
        manifest = {
            "format": MODEL_FORMAT,
            "version": version,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "training_seconds": round(time.perf_counter() - started, 2),
            "examples": len(examples),
            "demands": sum(ex.is_demand for ex in examples),
            "urgent_threshold": classifier.urgent_threshold,
            "demand_threshold": classifier.demand_threshold,
            "features": len(classifier.vectorizer.vocabulary),
            "temperatures": classifier.temperatures,
            "inputs": digest,
        }
        (work / "model.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        _replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _trained_from(directory: Path, digest: str) -> bool:
    try:
        manifest = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(manifest.get("inputs") == digest and manifest.get("format") == MODEL_FORMAT)


def _replace(new: Path, out: Path) -> None:
    """Move the directory ``new`` to ``out``, replacing what is there."""
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        new.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(out)


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode())
        if path.suffix == ".npz":
            import numpy as np

            with np.load(path) as arrays:
                for key in sorted(arrays.files):
                    h.update(key.encode())
                    h.update(arrays[key].tobytes())
        else:
            h.update(path.read_bytes())
    return h.hexdigest()


def ensure_model(model_dir: Path | str | None = None, log: Any = None) -> Path:
    """Train the default model into ``model_dir`` when it has none; returns the directory."""
    directory = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    if not (directory / "model.json").is_file():
        if log is not None:
            log(f"[nlu] no model in {directory}; training one (about a minute)")
        train_pipeline(directory)
    return directory


def texts_of(examples: Iterable[Example]) -> list[str]:
    return [ex.text for ex in examples]
