"""The NLU pipeline as the console uses it: one text in, a ``Classification`` out (Open311); and the
grid groups' classifier for the 试一试 page, built as the bot builds it.

Loaded once at start-up (``console.app``). When the NLU package or its trained model is missing, the
console still runs: Open311 requests without a ``service_code`` are then filed as ``other`` and flagged
for review, and pasted group messages are classified through Rasa's ``/model/parse`` (as the bot does).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bot.rasa import RasaClient, RasaParseClassifier
from tickets.classification import Classification, PipelineClassifier
from tickets.classification import Classifier as GroupClassifier
from tickets.settings import Settings

log = logging.getLogger(__name__)


class NluClassifier:
    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def classify(self, text: str) -> Classification:
        result = self.pipeline.classify([text])[0]
        return Classification.from_nlu(result)


def group_classifier(nlu: object, settings: Settings, rasa: RasaClient) -> GroupClassifier:
    """The classifier of grid-group messages, chosen as ``bot.app.make_classifier`` chooses it: the
    in-process pipeline (the one loaded above) unless ``BOT_GROUP_CLASSIFIER=rasa`` or it is not
    loaded, then Rasa's ``/model/parse``."""
    if settings.group_classifier == "pipeline" and isinstance(nlu, NluClassifier):
        return PipelineClassifier(pipeline=nlu.pipeline, registry=settings.model_registry)
    return RasaParseClassifier(rasa)


def load_classifier(model_dir: Path | None = None) -> NluClassifier | None:
    """The trained NLU pipeline (``models/nlu`` unless ``model_dir``), or None with a warning when it
    cannot be loaded."""
    try:
        from nlu.errors import NluError
        from nlu.pipeline import load_pipeline
    except ImportError as e:
        log.warning("NLU pipeline not available (%s); Open311 requests need a service_code", e)
        return None
    try:
        return NluClassifier(load_pipeline(model_dir))
    except (NluError, OSError) as e:
        log.warning("NLU model not loaded (%s); run `make train`", e)
        return None
