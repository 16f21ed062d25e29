"""The composition root's product: everything the handlers use, built once at start-up, closed at exit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.config import BotConfig
from bot.journal import SendJournal, SharedJournal
from bot.rasa import RasaClient
from bot.redislink import RedisLink
from tickets import outbox
from tickets.classification import Classifier
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import Settings
from tickets.usecases import groups

T = TypeVar("T")
BINDINGS_TTL = 30.0


@dataclass
class Deps:
    """What the handlers and the workers use, built whole in ``post_init`` and closed in
    ``post_shutdown``; the workers themselves (inbox worker, group intake, forward coalescer) are
    kept in ``bot_data`` beside it."""

    settings: Settings
    config: BotConfig
    db: Database
    domain: Domain
    rasa: RasaClient
    classifier: Classifier
    #: The send journal (``bot.journal``), or None when it is turned off.
    journal: SendJournal | None = None
    #: Redis (``REDIS_URL``): the send limits and the journal's copy shared by every bot process.
    redis: RedisLink | None = None
    shared_journal: SharedJournal | None = None
    #: Set when something was queued in the outbox, so the sender does not wait for its next poll.
    outbox_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _bindings: dict[int, groups.Binding] = field(default_factory=dict)
    _bindings_at: float = 0.0

    @property
    def owner(self) -> str:
        """This worker's name on its claims."""
        return self.config.worker_id

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.config.lease_seconds)

    async def write(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``Database.run`` for a use case, then wake the outbox sender if it queued a message (most
        group messages queue none: a claim after each was a third of the sender's transactions)."""
        queued = False

        def tracked(session: Session, /, *a: Any, **k: Any) -> T:
            nonlocal queued
            result = fn(session, *a, **k)
            queued = outbox.queued_in(session)  # the last attempt's, when the run retried
            return result

        result = await self.db.run(tracked, *args, **kwargs)
        if queued:
            self.outbox_ready.set()
        return result

    async def plumbing(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``Database.run`` for the queues' own bookkeeping (claims, marks): wakes nobody."""
        return await self.db.run(fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``Database.run`` read-only."""
        return await self.db.run(fn, *args, write=False, **kwargs)

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
        if self.redis is not None:
            await self.redis.close()
        self.db.dispose()
