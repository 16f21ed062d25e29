"""Engine creation and the unit of work. Nothing here connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tickets.errors import StoreUnavailable

T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs for concurrent use."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


#: A pooled connection that sat unused longer than this is pinged before it is handed out (one round
#: trip; a dead one is replaced). Under load connections come back within milliseconds and are not
#: pinged: ``pool_pre_ping`` pinged before every transaction, a fifth of the bot's database time on
#: grid-group intake. A server that restarts between two uses closer than this fails that one
#: transaction (StoreUnavailable: its caller keeps the input and retries), and SQLAlchemy then replaces
#: the rest of the pool.
PING_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["minwei_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("minwei_idle_since", None)
        if since is None or time.monotonic() - since < PING_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as e:  # the pool drops it and connects afresh
            raise exc.DisconnectionError(f"idle connection is gone: {e}") from e
        if not alive:
            raise exc.DisconnectionError("idle connection did not answer")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions are not controllable).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads first and writes later
    # fails with SQLITE_BUSY under WAL instead of waiting.
    write = connection.get_execution_options().get("minwei_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class UnitOfWork:
    """A session whose changes are rolled back unless :meth:`commit` is called.

    Database connection errors surface as :class:`StoreUnavailable` so adapters can answer
    "稍后再试" and keep the input for later.
    """

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        except exc.DBAPIError:
            pass
        finally:
            self.session.close()
        if isinstance(exc_value, exc.OperationalError | exc.InterfaceError):
            raise StoreUnavailable(f"数据库暂时不可用：{exc_value.orig}") from exc_value

    def commit(self) -> None:
        self.session.commit()


#: Attempts of a transaction that PostgreSQL aborted to resolve a deadlock or a serialization conflict.
RETRIES = 4
#: SQLSTATEs of those aborts (deadlock_detected, serialization_failure): the transaction did nothing,
#: and running it again is what PostgreSQL's documentation prescribes.
RETRYABLE = ("40P01", "40001")


def _retryable(error: StoreUnavailable) -> bool:
    cause = error.__cause__
    return getattr(getattr(cause, "orig", None), "sqlstate", None) in RETRYABLE


class Database:
    """The engine and session factories of one database; created in ``main()``, disposed at exit."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(minwei_write=True), expire_on_commit=False
        )
        #: SQLite has one writer at a time: this process's writers take turns here, which is cheaper
        #: than SQLite's busy-wait backoff. PostgreSQL needs no such turn-taking.
        self._writer: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self._write if write else self._read)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end)."""
        with self.unit_of_work(write=False) as uow:
            yield uow.session

    async def run(
        self, fn: Callable[..., T], /, *args: Any, write: bool = True, **kwargs: Any
    ) -> T:
        """Run ``fn(session, *args, **kwargs)`` in a unit of work in a worker thread; commit it when
        ``write`` (read-only otherwise). The one transaction runner of the bot, the action server and
        the console. Raises ``StoreUnavailable`` when the database cannot be reached."""

        def once() -> T:
            turn = self._writer if write else contextlib.nullcontext()
            with turn, self.unit_of_work(write=write) as uow:
                result = fn(uow.session, *args, **kwargs)
                if write:
                    uow.commit()
                return result

        def work() -> T:
            for attempt in range(1, RETRIES + 1):
                try:
                    return once()
                except StoreUnavailable as e:
                    if attempt == RETRIES or not _retryable(e):
                        raise
                    time.sleep(random.uniform(0.0, 0.02 * attempt))  # jitter
            raise AssertionError("unreachable")

        return await asyncio.to_thread(work)

    def dispose(self) -> None:
        self.engine.dispose()
