"""Telegram's send limits: about 30 messages a second overall and 20 a minute in any one group.

Telegram counts per bot, not per process, so with several bot workers the limits must be shared.
``SharedLimits`` keeps one GCRA cell per limit in the database (``rate_limits``: the theoretical arrival
time of the next message); a send takes a slot from the overall cell and, for a group, from the group's
cell in one short transaction, or learns how long to wait. A cell with burst ``b`` and interval ``T``
lets ``b`` messages through at once and then one every ``T`` — the same as the leaky bucket of
``aiolimiter`` that ``LocalLimits`` uses for a single process (SQLite).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiolimiter import AsyncLimiter

from bot.deps import Deps
from tickets.errors import StoreUnavailable
from tickets.ratelimits import Cell, take


class SendLimits(Protocol):
    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may go out (and count it)."""


class LocalLimits:
    """The limits of one process (``make run`` on SQLite)."""

    def __init__(self, per_second: float, group_per_minute: float) -> None:
        self._overall = AsyncLimiter(per_second, 1)
        self._group_per_minute = group_per_minute
        self._groups: dict[int, AsyncLimiter] = {}

    async def acquire(self, chat_id: int) -> None:
        if chat_id < 0:
            if chat_id not in self._groups:
                self._groups[chat_id] = AsyncLimiter(self._group_per_minute, 60)
            await self._groups[chat_id].acquire()
        await self._overall.acquire()


class SharedLimits:
    """The limits of every process sharing the database."""

    def __init__(self, deps: Deps, per_second: float, group_per_minute: float) -> None:
        self.deps = deps
        self.overall = Cell("all", 1.0 / per_second, max(1, int(per_second)))
        self.group_interval = 60.0 / group_per_minute
        self.group_burst = max(1, int(group_per_minute))
        #: While the database cannot be reached (the send could not be recorded either).
        self._fallback = LocalLimits(per_second, group_per_minute)

    def cells(self, chat_id: int) -> list[Cell]:
        if chat_id >= 0:
            return [self.overall]
        return [Cell(f"chat:{chat_id}", self.group_interval, self.group_burst), self.overall]

    async def acquire(self, chat_id: int) -> None:
        cells = self.cells(chat_id)
        while True:
            try:
                wait = await self.deps.plumbing(take, cells)
            except StoreUnavailable:
                await self._fallback.acquire(chat_id)
                return
            if wait <= 0:
                return
            await asyncio.sleep(wait)


def make_limits(deps: Deps) -> SendLimits:
    """Shared limits when the bot may run in several processes (PostgreSQL), else local ones."""
    config = deps.config
    shared = config.shared_limits
    if shared is None:
        shared = deps.db.engine.dialect.name == "postgresql"
    if shared:
        return SharedLimits(deps, config.messages_per_second, config.group_messages_per_minute)
    return LocalLimits(config.messages_per_second, config.group_messages_per_minute)
