"""Pooled PostgreSQL connections: pinged before use only after sitting idle (``PING_IDLE_SECONDS``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tickets import db as db_module
from tickets.db import Database
from tickets.errors import StoreUnavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url, pool_size=1, max_overflow=0)
    yield database
    database.dispose()


def backend_pid(database: Database) -> int:
    with database.unit_of_work() as uow:
        return int(uow.session.scalar(text("SELECT pg_backend_pid()")))


def terminate(url: str, pid: int) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.execute(
            text("SELECT pg_sleep(0.05) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        )
    admin.dispose()


def kill_pooled_connection(
    database: Database, url: str, monkeypatch: pytest.MonkeyPatch, *, ping_after: float
) -> int:
    """Use the pool's one connection, then have the server end it; its backend pid."""
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", ping_after)
    pid = backend_pid(database)
    terminate(url, pid)
    return pid


def test_an_idle_connection_the_server_closed_is_replaced_before_the_transaction(
    pg: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kill_pooled_connection(pg, postgres_url, monkeypatch, ping_after=0.0)
    second = backend_pid(pg)  # no error: the ping found it dead and the pool connected afresh
    assert second != first


def test_a_connection_used_moments_ago_is_not_pinged_and_a_dead_one_fails_once(
    pg: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kill_pooled_connection(pg, postgres_url, monkeypatch, ping_after=3600.0)
    with pytest.raises(StoreUnavailable):  # handed out unpinged: the transaction fails ...
        backend_pid(pg)
    assert backend_pid(pg) != first  # ... and the pool was replaced for the next one
