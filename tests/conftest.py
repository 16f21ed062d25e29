"""Shared fixtures: a fresh database per test on SQLite and (when available) PostgreSQL, the domain
(taxonomy, calendar, settings) with a controllable clock, and the demo units."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support import postgres
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database: SQLite always, PostgreSQL when a server can be had."""
    if request.param == "sqlite":
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
