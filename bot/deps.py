"""The composition root's product: everything the handlers use, built once at start-up, closed at exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import BotConfig
from bot.journal import SendJournal
from bot.rasa import RasaClient
from tickets.classification import Classifier
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import Settings
from tickets.usecases import groups

if TYPE_CHECKING:
    from bot.forwarding import ForwardCoalescer
    from bot.intake import GroupIntake
    from bot.worker import InboxWorker

T = TypeVar("T")
BINDINGS_TTL = 30.0


@dataclass
class Deps:
    settings: Settings
    config: BotConfig
    db: Database
    domain: Domain
    rasa: RasaClient
    classifier: Classifier
    #: Set when something was queued in the outbox, so the sender does not wait for its next poll.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    worker: InboxWorker | None = None
    intake: GroupIntake | None = None
    forwards: ForwardCoalescer | None = None
    journal: SendJournal | None = None
    _bindings: dict[int, groups.Binding] = field(default_factory=dict)
    _bindings_at: float = 0.0
    #: SQLite has one writer at a time; taking turns here is cheaper than SQLite's busy-wait backoff.
    _writer: contextlib.AbstractContextManager[Any] = field(default_factory=contextlib.nullcontext)

    def __post_init__(self) -> None:
        if self.db.dialect == "sqlite":
            self._writer = threading.Lock()

    async def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in a unit of work in a worker thread, then commit, and
        wake the outbox sender (the work may have queued messages)."""
        result = await self.plumbing(fn, *args, **kwargs)
        self.outbox_ready.set()
        return result

    async def plumbing(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``write`` for the queues' own bookkeeping (claims, marks): commits without waking anyone."""

        def work() -> T:
            with self._writer, self.db.unit_of_work() as uow:
                result = fn(uow.session, *args, **kwargs)
                uow.commit()
                return result

        return await asyncio.to_thread(work)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` read-only in a worker thread."""

        def work() -> T:
            with self.db.unit_of_work(write=False) as uow:
                return fn(uow.session, *args, **kwargs)

        return await asyncio.to_thread(work)

    async def binding(self, chat_id: int) -> groups.Binding | None:
        """The grid a group is bound to (cached for a few seconds; bind/unbind refresh it)."""
        if time.monotonic() - self._bindings_at > BINDINGS_TTL:
            await self.refresh_bindings()
        return self._bindings.get(chat_id)

    async def refresh_bindings(self) -> None:
        self._bindings = await self.read(groups.bindings)
        self._bindings_at = time.monotonic()

    async def close(self) -> None:
        await self.classifier.close()
        await self.rasa.close()
        if self.journal is not None:
            self.journal.close()
        self.db.dispose()
