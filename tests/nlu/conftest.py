"""NLU fixtures: one model trained per test session on all of data/nlu (about a minute), shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.normalize import Normalizer
from nlu.pipeline import Pipeline, load_pipeline, train_pipeline
from nlu.resources import gazetteer_places
from nlu.segment import Segmenter


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_pipeline(tmp_path_factory.mktemp("nlu") / "model")


@pytest.fixture(scope="session")
def pipe(model_dir: Path) -> Pipeline:
    return load_pipeline(model_dir)


@pytest.fixture(scope="session")
def normalizer() -> Normalizer:
    return Normalizer()


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    return Segmenter(extra_words=gazetteer_places())
