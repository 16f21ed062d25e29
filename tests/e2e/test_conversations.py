"""Scripted conversations (tests/data/*.yml) against the real Rasa server, action server, bot and
database, with Telegram on loopback. Each leaves nothing logged at ERROR by any process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.script import Runner, Script

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "data").glob("*.yml"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_conversation(e2e: Stack, path: Path) -> None:
    Runner(e2e, Script.load(path)).run()
