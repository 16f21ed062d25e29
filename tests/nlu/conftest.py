"""NLU fixtures: one model of all of data/nlu per test session, shared: models/nlu when make train
made it from exactly these inputs (nlu.pipeline.inputs_digest), else trained here (about a minute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.normalize import Normalizer
from nlu.pipeline import Pipeline, load_pipeline, train_pipeline
from nlu.resources import DEFAULT_MODEL_DIR, gazetteer_places
from nlu.segment import Segmenter


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_pipeline(tmp_path_factory.mktemp("nlu") / "model", reuse=DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def pipe(model_dir: Path) -> Pipeline:
    return load_pipeline(model_dir)


@pytest.fixture(scope="session")
def normalizer() -> Normalizer:
    return Normalizer()


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    return Segmenter(extra_words=gazetteer_places())
