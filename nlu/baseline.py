"""Train and run Rasa NLU pipelines for comparison (only in ``.venv-rasa``; imports rasa lazily).

The baseline is Rasa's default Chinese pipeline, as its documentation shows it: ``JiebaTokenizer`` +
``CountVectorsFeaturizer`` + ``DIETClassifier``, every option at its default. It is trained on exactly
the examples our classifier is trained on and parsed through Rasa's own ``Agent``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.data import DEMAND_PREFIX, Example, write_rasa_yaml

DEFAULT_PIPELINE_CONFIG = """\
# Rasa's default Chinese pipeline (docs: "Tokenizers → JiebaTokenizer"), every option at its default.
recipe: default.v1
language: zh
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
  - name: DIETClassifier
policies: []
"""


@dataclass
class RasaNluModel:
    """A trained Rasa NLU model archive, its training time and (once loaded) its agent."""

    path: Path
    train_seconds: float
    load_seconds: float = 0.0
    _agent: Any = None

    @classmethod
    def train(
        cls, examples: Sequence[Example], workdir: Path, config: str = DEFAULT_PIPELINE_CONFIG
    ) -> RasaNluModel:
        """Train ``config`` (YAML text) on ``examples``; the archive goes to ``workdir``."""
        os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from rasa.model_training import train_nlu

        workdir.mkdir(parents=True, exist_ok=True)
        data = workdir / "nlu.yml"
        write_rasa_yaml(examples, data)
        config_path = workdir / "config.yml"
        config_path.write_text(config, encoding="utf-8")
        started = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # Rasa prints progress on stdout
            archive = train_nlu(str(config_path), str(data), str(workdir), fixed_model_name="nlu")
        seconds = time.perf_counter() - started
        if not archive:
            raise RuntimeError("rasa train_nlu produced no model")
        return cls(path=Path(archive), train_seconds=seconds)

    def load(self) -> None:
        from rasa.core.agent import Agent

        started = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            self._agent = Agent.load(str(self.path))
        self.load_seconds = time.perf_counter() - started

    def parse(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Rasa's parse result for each text (one ``Agent.parse_message`` each, as the server does)."""
        if self._agent is None:
            self.load()
        agent = self._agent

        async def run() -> list[dict[str, Any]]:
            return [await agent.parse_message(t) for t in texts]

        with contextlib.redirect_stdout(sys.stderr):
            return asyncio.run(run())


def prediction_from_parse(parse: dict[str, Any]) -> dict[str, Any]:
    """Our evaluation record from a Rasa parse result of a ``demand_<code>``-intent model."""
    intent = (parse.get("intent") or {}).get("name") or ""
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    is_demand = intent.startswith(DEMAND_PREFIX)
    return {
        "is_demand": is_demand,
        "demand_confidence": confidence if is_demand else 1.0 - confidence,
        "category": intent[len(DEMAND_PREFIX) :] if is_demand else None,
        "category_confidence": confidence if is_demand else 0.0,
        "urgent": False,
        "locations": [
            {"text": e.get("value"), "start": e["start"], "end": e["end"]}
            for e in parse.get("entities") or []
            if e.get("entity") == "location"
        ],
    }


def quiet_rasa() -> None:
    """Keep Rasa's, structlog's and TensorFlow's progress output off our tables (stdout)."""
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "jieba"):
        logging.getLogger(name).setLevel(logging.WARNING)


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
