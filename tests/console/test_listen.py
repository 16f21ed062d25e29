"""The console listens where CONSOLE_HOST says: loopback by default, another address when a load
balancer on another machine must reach it (the cluster's systemd unit sets 0.0.0.0)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.fake_telegram import free_port
from tests.support.processes import APP_PY, Process
from tickets import migrate
from tickets.db import Database
from tickets.settings import DATA_DIR, Settings

pytestmark = pytest.mark.timeout(180)

#: Another loopback address: on Linux the whole of 127.0.0.0/8 is this machine.
OTHER = "127.0.0.2"


def _answers(host: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{host}:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def console_on_other_address(tmp_path: Path) -> Iterator[int]:
    with socket.socket() as s:
        try:
            s.bind((OTHER, 0))
        except OSError:
            pytest.skip(f"{OTHER} cannot be bound on this machine")
    url = f"sqlite:///{tmp_path / 'minwei.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    db.dispose()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CONSOLE_"))}
    env.update(
        {
            "DATABASE_URL": url,
            "CONSOLE_PORT": str(port),
            "CONSOLE_HOST": OTHER,
            "CONSOLE_SECRET_KEY": "listen-test-secret",
            "MINWEI_DATA_DIR": str(DATA_DIR),
        }
    )
    server = Process(
        "console",
        [APP_PY, "-m", "console"],
        env,
        tmp_path / "console.log",
        ready_url=f"http://{OTHER}:{port}/healthz",
    ).start(timeout=120)
    try:
        yield port
    finally:
        server.stop()


def test_the_console_listens_on_the_configured_address_only(console_on_other_address: int) -> None:
    assert _answers(OTHER, console_on_other_address)
    assert not _answers("127.0.0.1", console_on_other_address)


def test_loopback_unless_configured() -> None:
    assert Settings.from_env({}, env_file=Path("/nonexistent")).console_host == "127.0.0.1"
    configured = Settings.from_env({"CONSOLE_HOST": "0.0.0.0"}, env_file=Path("/nonexistent"))
    assert configured.console_host == "0.0.0.0"
