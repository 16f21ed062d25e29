"""What the NLU says about a message, typed, as every use case takes it; and the classifiers of group
messages and forwards.

``Classification.from_nlu`` turns the pipeline's ``NluResult`` into one; ``from_dict`` reads one at a
JSON boundary (Rasa's ``/model/parse`` ``minwei`` key, a review item's stored ``nlu``), ``as_dict`` writes
one there. Everything between works on the dataclass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tickets.errors import TicketError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from nlu.pipeline import NluResult, Pipeline


class ClassifierUnavailable(ConnectionError, TicketError):
    """The NLU (in-process pipeline or Rasa's /model/parse) cannot classify now; try again later."""


@dataclass(frozen=True)
class Classification:
    """What the NLU said about one message (without its PII spans)."""

    is_demand: bool
    demand_confidence: float  # P(demand), also for non-demands
    category: str | None
    category_confidence: float = 0.0
    ranking: list[tuple[str, float]] = field(default_factory=list)
    urgent: bool = False
    locations: list[dict[str, Any]] = field(default_factory=list)
    classifier_version: str = ""
    intent: str = ""

    @classmethod
    def from_nlu(cls, result: NluResult) -> Classification:
        return cls(
            is_demand=result.is_demand,
            demand_confidence=round(float(result.demand_confidence), 4),
            category=result.category,
            category_confidence=round(float(result.category_confidence), 4),
            ranking=[(code, round(float(p), 4)) for code, p in result.ranking],
            urgent=result.urgent,
            locations=[loc.as_dict() for loc in result.locations],
            classifier_version=result.classifier_version,
            intent=result.intent,
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Classification:
        """One read at a JSON boundary (missing keys take their defaults)."""
        return cls(
            is_demand=bool(d.get("is_demand")),
            demand_confidence=float(d.get("demand_confidence") or 0.0),
            category=d.get("category"),
            category_confidence=float(d.get("category_confidence") or 0.0),
            ranking=[(str(c), float(p)) for c, p in d.get("ranking") or []],
            urgent=bool(d.get("urgent", False)),
            locations=[dict(loc) for loc in d.get("locations") or [] if isinstance(loc, Mapping)],
            classifier_version=str(d.get("classifier_version") or ""),
            intent=str(d.get("intent") or ""),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "is_demand": self.is_demand,
            "demand_confidence": self.demand_confidence,
            "category": self.category,
            "category_confidence": self.category_confidence,
            "ranking": [[c, p] for c, p in self.ranking],
            "urgent": self.urgent,
            "locations": list(self.locations),
            "classifier_version": self.classifier_version,
            "intent": self.intent,
        }


class Classifier(Protocol):
    """Classifies batches of group messages and forwards."""

    name: str

    async def start(self) -> None: ...

    async def classify(self, texts: Sequence[str]) -> list[Classification]: ...

    async def close(self) -> None: ...


class PipelineClassifier:
    """``nlu.pipeline`` in this process; a batch is classified in a worker thread.

    ``pipeline``: one already loaded (the console shares the one it loaded for Open311). The model
    follows the models registry (``nlu.registry.LiveModel``): when a retrain promotes a version or an
    admin rolls back, the next batch after at most ``check_seconds`` is classified by the new model,
    loaded in the worker thread while the old one keeps serving — no restart."""

    name = "pipeline"

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        pipeline: Pipeline | None = None,
        registry: Path | None = None,
        check_seconds: float = 10.0,
    ) -> None:
        self._model_dir = model_dir
        self._pipe = pipeline
        self._registry = registry
        self._check_seconds = check_seconds
        self._live: Any = None
        if pipeline is not None:  # the console's shared pipeline is used without start()
            self._follow(pipeline)

    def _follow(self, pipe: Pipeline) -> None:
        from nlu.registry import LiveModel

        self._live = LiveModel(
            pipe, root=self._registry, check_seconds=self._check_seconds, log=log.info
        )

    @property
    def version(self) -> str | None:
        return self._live.version if self._live is not None else None

    async def start(self) -> None:
        if self._pipe is not None:
            return

        def load() -> Pipeline:
            from nlu.pipeline import load_pipeline

            pipe = load_pipeline(self._model_dir)
            pipe.classify(["启动预热"])  # warm the tokenizer and the model once
            return pipe

        try:
            self._pipe = await asyncio.to_thread(load)
        except Exception as e:  # the NLU reports its own errors; here it is just "unavailable"
            raise ClassifierUnavailable(f"无法加载 NLU 流水线：{e!r}") from e
        self._follow(self._pipe)

    async def classify(self, texts: Sequence[str]) -> list[Classification]:
        live = self._live
        if live is None:
            raise ClassifierUnavailable("NLU 流水线尚未加载")

        def run() -> list[Any]:
            return live.get().classify(list(texts))

        results = await asyncio.to_thread(run)
        return [Classification.from_nlu(r) for r in results]

    async def close(self) -> None:
        self._pipe = None
        self._live = None
