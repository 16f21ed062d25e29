"""make run's supervisor keeps every service running: a service that keeps crashing is restarted again
and again (never given up on), and each time says loudly how it ended and what it last wrote."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def supervise(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("supervise", ROOT / "scripts" / "supervise.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "supervise", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "MAX_RESTART_DELAY", 0.01)
    return module


async def test_a_service_that_keeps_crashing_is_restarted_again_and_again(
    supervise: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    service = supervise.Service(
        "flaky", [sys.executable, "-c", "print('cannot open the database'); raise SystemExit(3)"]
    )
    stopping = asyncio.Event()
    watcher = asyncio.create_task(supervise.watch(service, "31", {}, stopping))
    await asyncio.sleep(4)
    stopping.set()
    await asyncio.wait_for(watcher, 10)
    out = capsys.readouterr().out
    assert out.count("started (pid") >= 8  # the old supervisor stopped after 6
    assert "!! exited with 3" in out
    assert "!! last output: cannot open the database" in out


async def test_when_preparing_the_database_fails_the_stores_are_stopped_too(
    supervise: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """make run-cluster once left its PostgreSQL running after `tickets migrate` failed: the
    supervisor exited from the setup thread without stopping the stores it had started."""
    store = supervise.Service("db", [sys.executable, "-c", "import time; time.sleep(120)"])

    def fail(env: dict[str, str]) -> None:
        raise supervise.SetupFailed("migrate", 1)

    monkeypatch.setattr(supervise, "prepare", fail)
    never = supervise.Service("console", [sys.executable, "-c", "raise SystemExit('started')"])
    code = await asyncio.wait_for(supervise.run([store], [never], {}), 30)
    assert code == 1
    assert store.process is not None and store.process.returncode is not None
    assert never.process is None  # nothing after the stores starts
    assert "setup failed (python -m tickets migrate exited with 1)" in capsys.readouterr().out
