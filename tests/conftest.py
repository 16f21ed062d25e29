"""Shared fixtures: a fresh database per test on SQLite and (when available) PostgreSQL, the domain
(taxonomy, calendar, settings) with a controllable clock, the demo units, and the real Rasa server and
action server (``rasa``: started once per session, by the first test that asks for it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support import postgres, processes
from tests.support.rasa import RasaStack
from tickets import migrate, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Base
from tickets.settings import DATA_DIR, Settings

STAFF_CHAT_ID = -1001234567


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database copied for each test (migrations run once per session)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    db.dispose()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests with Rasa on PostgreSQL right after the last one with Rasa on SQLite: the action server
    is started again once, when the backend changes (everything else keeps its order)."""

    def with_rasa_on(item: pytest.Item) -> str | None:
        callspec = getattr(item, "callspec", None)
        fixtures: Sequence[str] = getattr(item, "fixturenames", ())
        if "rasa" not in fixtures or callspec is None:
            return None
        return str(callspec.params.get("db"))

    later = [item for item in items if with_rasa_on(item) == "postgresql"]
    if not later:
        return
    rest = [item for item in items if with_rasa_on(item) != "postgresql"]
    on_sqlite = [n for n, item in enumerate(rest) if with_rasa_on(item) == "sqlite"]
    at = on_sqlite[-1] + 1 if on_sqlite else len(rest)
    items[:] = rest[:at] + later + rest[at:]


@pytest.fixture(scope="session")
def shared_sqlite(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file for the session, for tests whose database a server process (the action
    server) uses too; emptied before each of them."""
    path = tmp_path_factory.mktemp("shared") / "minwei.sqlite3"
    shutil.copy(sqlite_template, path)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        server = postgres.start()
    except postgres.PostgresUnavailable as e:
        pytest.skip(str(e))
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS minwei_test"))
        conn.execute(text("CREATE DATABASE minwei_test"))
    admin.dispose()
    url = server.url.rsplit("/", 1)[0] + "/minwei_test"
    db = Database(url)
    migrate.upgrade(db.engine)
    db.dispose()
    yield url
    server.stop()


def _truncate_all(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _delete_all(db: Database) -> None:
    """SQLite's TRUNCATE: every row gone, ids counted from 1 again."""
    with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
            conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database: SQLite always, PostgreSQL when a server can be had. A test with
    the real Rasa gets the session's file emptied (the action server files its tickets there)."""
    if request.param == "sqlite" and "rasa" in request.fixturenames:
        database = Database(f"sqlite:///{request.getfixturevalue('shared_sqlite')}")
        _delete_all(database)
    elif request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests about behaviour that does not depend on the backend."""
    path = tmp_path / "test.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    # A Monday morning in Guangzhou (2026-11-23 09:00 +08:00).
    return Clock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(
        database_url=db.url,
        staff_chat_id=STAFF_CHAT_ID,
        data_dir=DATA_DIR,
        console_secret_key="test-key-for-public-links",
    )


@pytest.fixture
def domain(settings: Settings, clock: Clock, db: Database) -> Domain:
    domain = Domain.load(settings, clock=clock)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    return domain


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    """Rasa with the shipped model and the action server, started by the first test that uses them."""
    if not processes.RASA_MODEL.exists():
        pytest.skip(f"no trained Rasa model at {processes.RASA_MODEL} (run `make train`)")
    stack = RasaStack(tmp_path_factory.mktemp("rasa"), STAFF_CHAT_ID)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def rasa(rasa_stack: RasaStack, db: Database) -> Iterator[RasaStack]:
    """The real Rasa for one test: the action server on the test's database, every conversation
    forgotten; the test must leave nothing logged at ERROR by either server."""
    rasa_stack.serve(db.url)
    rasa_stack.forget_conversations()
    before = len(rasa_stack.errors())
    yield rasa_stack
    assert rasa_stack.errors()[before:] == []
