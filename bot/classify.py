"""Classifiers for group and forwarded messages: the in-process NLU pipeline or Rasa's ``/model/parse``.

Both return the NLU's ``minwei`` dictionaries ({"is_demand", "demand_confidence", "category", …}); the
bot never looks inside a text itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from bot.errors import ClassifierUnavailable, ServiceUnavailable
from bot.rasa import RasaClient

log = logging.getLogger(__name__)


class Classifier(Protocol):
    name: str

    async def start(self) -> None: ...

    async def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class PipelineClassifier:
    """``nlu.pipeline`` loaded once in this process; a batch is classified in a worker thread.

    ``pipeline`` is one already loaded (the console shares the one it loaded for Open311)."""

    name = "pipeline"

    def __init__(self, model_dir: Path | None = None, *, pipeline: Any = None) -> None:
        self._model_dir = model_dir
        self._pipe: Any = pipeline

    async def start(self) -> None:
        if self._pipe is not None:
            return

        def load() -> Any:
            from nlu.pipeline import load_pipeline

            pipe = load_pipeline(self._model_dir)
            pipe.classify(["启动预热"])  # warm the tokenizer and the model once
            return pipe

        try:
            self._pipe = await asyncio.to_thread(load)
        except Exception as e:  # the NLU reports its own errors; here it is just "unavailable"
            raise ClassifierUnavailable(f"无法加载 NLU 流水线：{e!r}") from e

    async def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if self._pipe is None:
            raise ClassifierUnavailable("NLU 流水线尚未加载")
        results = await asyncio.to_thread(self._pipe.classify, list(texts))
        return [r.as_dict() for r in results]

    async def close(self) -> None:
        self._pipe = None


def from_parse(parse: dict[str, Any]) -> dict[str, Any]:
    """The ``minwei`` part of a ``/model/parse`` result (a minimal one from the intent when absent)."""
    if isinstance(parse.get("minwei"), dict):
        return dict(parse["minwei"])
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or "")
    confidence = float(intent.get("confidence") or 0.0)
    is_demand = name == "report" or name.startswith("demand_")
    locations = [
        {"text": e.get("value"), "start": e.get("start"), "end": e.get("end")}
        for e in parse.get("entities") or []
        if e.get("entity") == "location"
    ]
    return {
        "is_demand": is_demand,
        "demand_confidence": confidence if is_demand else 1.0 - confidence,
        "category": name.removeprefix("demand_") if name.startswith("demand_") else None,
        "category_confidence": confidence if name.startswith("demand_") else 0.0,
        "ranking": [],
        "urgent": False,
        "locations": locations,
        "classifier_version": "rasa-intent",
    }


class RasaParseClassifier:
    """One ``/model/parse`` call per text, a bounded number at a time."""

    name = "rasa"

    def __init__(self, rasa: RasaClient, *, parallel: int = 8) -> None:
        self._rasa = rasa
        self._limit = asyncio.Semaphore(parallel)

    async def start(self) -> None:
        return None

    async def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        async def one(text: str) -> dict[str, Any]:
            async with self._limit:
                return from_parse(await self._rasa.parse(text))

        try:
            return list(await asyncio.gather(*(one(t) for t in texts)))
        except ServiceUnavailable as e:
            raise ClassifierUnavailable(str(e)) from e

    async def close(self) -> None:
        return None
