"""The NLU pipeline as the console uses it: one text in, a ``Classification`` out.

Loaded once at start-up (``console.app``). When the NLU package or its trained model is missing, the
console still runs: Open311 requests without a ``service_code`` are then filed as ``other`` and flagged
for review.
"""

from __future__ import annotations

import logging
from typing import Any

from tickets.services import Classification

log = logging.getLogger(__name__)


class NluClassifier:
    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def classify(self, text: str) -> Classification:
        result = self._pipeline.classify([text])[0]
        return Classification.from_dict(result.as_dict())


def load_classifier() -> NluClassifier | None:
    """The trained NLU pipeline (``models/nlu``), or None with a warning when it cannot be loaded."""
    try:
        from nlu.pipeline import load_pipeline

        from nlu.errors import NluError
    except ImportError as e:
        log.warning("NLU pipeline not available (%s); Open311 requests need a service_code", e)
        return None
    try:
        return NluClassifier(load_pipeline())
    except (NluError, OSError) as e:
        log.warning("NLU model not loaded (%s); run `make train`", e)
        return None
