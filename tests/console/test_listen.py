"""The console listens where CONSOLE_HOST says: loopback by default, another address when a load
balancer on another machine must reach it (the cluster's systemd unit sets 0.0.0.0)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.browser import console_server
from tickets import migrate
from tickets.db import Database
from tickets.settings import Settings

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
    db = Database(f"sqlite:///{tmp_path / 'minwei.sqlite3'}")
    migrate.upgrade(db.engine)
    try:
        with console_server(tmp_path, db.url, host=OTHER) as (url, _):
            yield int(url.rsplit(":", 1)[1])
    finally:
        db.dispose()


def test_the_console_listens_on_the_configured_address_only(console_on_other_address: int) -> None:
    assert _answers(OTHER, console_on_other_address)
    assert not _answers("127.0.0.1", console_on_other_address)


def test_loopback_unless_configured() -> None:
    assert Settings.from_env({}, env_file=Path("/nonexistent")).console_host == "127.0.0.1"
    configured = Settings.from_env({"CONSOLE_HOST": "0.0.0.0"}, env_file=Path("/nonexistent"))
    assert configured.console_host == "0.0.0.0"
