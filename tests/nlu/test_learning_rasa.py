"""Rasa's MinweiClassifier follows the models registry as the bot does: after a promotion or a
rollback its ``minwei`` result comes from the registry's active version. The component runs in the
Rasa environment (``$RASA_PYTHON``, default ``.venv-rasa/bin/python``) with this checkout first on
its path."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from nlu.data import load_examples, split
from nlu.learning import retrain
from nlu.registry import Registry
from nlu.resources import ROOT

RASA_PYTHON = Path(os.environ.get("RASA_PYTHON") or ROOT / ".venv-rasa" / "bin" / "python")
pytestmark = pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs .venv-rasa")

#: Load the component as Rasa does (the model packed in its tar: here the first version), then
#: classify once, roll back in the registry, classify again; print both versions served.
SCRIPT = """
import json, sys
from rasa.shared.nlu.training_data.message import Message
from nlu.pipeline import load_pipeline
from nlu.rasa_components import MinweiClassifier
from nlu.registry import Registry

registry = Registry.open(sys.argv[1])
packed = load_pipeline(registry.path(sys.argv[2]))
component = MinweiClassifier({"registry_check_seconds": 0}, None, None, packed)

def served():
    message = Message(data={"text": "3栋电梯又坏咗"})
    component.process([message])
    return message.get("minwei")["classifier_version"]

before = served()
registry.rollback(sys.argv[2], by="admin")
print(json.dumps([before, served()]))
"""


def test_the_rasa_component_serves_the_active_version(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    shipped = [ex for i, ex in enumerate(split(load_examples(), "train")) if i % 12 == 0]
    frozen = [ex.as_record() for i, ex in enumerate(split(load_examples(), "test")) if i % 20 == 0]
    registry = Registry.open(root)
    first = retrain([], registry=registry, shipped=shipped, eval_records=frozen, seed=None)
    second = retrain(
        [ex for ex in split(load_examples(), "train") if ex not in shipped][::50],
        registry=registry,
        shipped=shipped,
        eval_records=frozen,
        tolerance=1.0,
        seed=None,
    )
    assert second.promoted and second.candidate != first.candidate
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MINWEI_MODEL_REGISTRY": str(root),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT, str(root), first.candidate],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    served = json.loads(done.stdout.strip().splitlines()[-1])
    # The registry's active version, not the packed one; then the rolled-back one, without restart.
    assert served == [second.candidate, first.candidate]
