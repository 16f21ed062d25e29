"""Telegram's send limits: about 30 messages a second overall and 20 a minute in any one group.

Telegram counts per bot, not per process, so with several bot workers the limits must be shared.
Each limit is a GCRA cell (the theoretical arrival time of the next message); a send takes a slot from
the overall cell and, for a group, from the group's cell too, all or none, or learns how long to wait.
A cell with burst ``b`` and interval ``T`` lets ``b`` messages through at once and then one every
``T`` — the same as the leaky bucket of ``aiolimiter`` that ``LocalLimits`` uses for a single process.

Where the cells live: in Redis when ``REDIS_URL`` is set (``RedisLimits``: one Lua script call a
send, on Redis's clock), else in the database on PostgreSQL (``SharedLimits``: ``rate_limits``, one
short transaction of five statements a send, all workers queueing on the overall row), else in the
process (SQLite, ``make run``). While the shared store cannot be reached, each process keeps the
limits itself (``LocalLimits``) and says so once.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from aiolimiter import AsyncLimiter

from bot.deps import Deps
from bot.redislink import RedisLink
from tickets.errors import StoreUnavailable
from tickets.ratelimits import Cell, take

#: Redis keys of the cells: ``minwei:send:all`` and ``minwei:send:chat:<chat id>``.
REDIS_PREFIX = "minwei:send:"

#: Take a slot from every cell (KEYS; ARGV: interval and burst of each), or none; returns the seconds
#: to wait as a string (Redis turns a Lua number into an integer). Each key expires when its cell is
#: full again, so idle groups leave nothing behind.
GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  tats[i] = tat
  wait = math.max(wait, tat - interval * (burst - 1) - now)
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  local tat = tats[i] + tonumber(ARGV[2 * i - 1])
  redis.call('SET', key, string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
return '0'
"""


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


class _Cells:
    """The cells a send to a chat takes a slot from: the overall one and, for a group, the group's;
    and the process's own limits for while the store that shares them cannot be reached."""

    def __init__(self, per_second: float, group_per_minute: float) -> None:
        self.overall = Cell("all", 1.0 / per_second, max(1, int(per_second)))
        self.group_interval = 60.0 / group_per_minute
        self.group_burst = max(1, int(group_per_minute))
        self._fallback = LocalLimits(per_second, group_per_minute)

    def cells(self, chat_id: int) -> list[Cell]:
        if chat_id >= 0:
            return [self.overall]
        return [Cell(f"chat:{chat_id}", self.group_interval, self.group_burst), self.overall]


class SharedLimits(_Cells):
    """The limits of every process sharing the database."""

    def __init__(self, deps: Deps, per_second: float, group_per_minute: float) -> None:
        super().__init__(per_second, group_per_minute)
        self.deps = deps

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


class RedisLimits(_Cells):
    """The limits of every process sharing a Redis server."""

    def __init__(self, link: RedisLink, per_second: float, group_per_minute: float) -> None:
        super().__init__(per_second, group_per_minute)
        self.link = link
        self._take = link.client.register_script(GCRA_LUA)  # EVALSHA, loaded again after a restart

    async def acquire(self, chat_id: int) -> None:
        cells = self.cells(chat_id)
        keys = [REDIS_PREFIX + c.key for c in cells]
        args = [v for c in cells for v in (repr(c.interval), c.burst)]
        while True:
            got = await self.link.run(lambda client: self._take(keys, args, client))
            if got is None:
                await self._fallback.acquire(chat_id)
                return
            wait = float(got)
            if wait <= 0:
                return
            await asyncio.sleep(wait)


def make_limits(deps: Deps) -> SendLimits:
    """Limits shared through Redis (``REDIS_URL``) or the database (PostgreSQL) when the bot may run
    in several processes, else those of this process (SQLite, or ``BOT_SHARED_LIMITS=false``)."""
    config = deps.config
    shared = config.shared_limits
    if shared is None:
        shared = deps.redis is not None or deps.db.engine.dialect.name == "postgresql"
    if not shared:
        return LocalLimits(config.messages_per_second, config.group_messages_per_minute)
    if deps.redis is not None:
        return RedisLimits(deps.redis, config.messages_per_second, config.group_messages_per_minute)
    return SharedLimits(deps, config.messages_per_second, config.group_messages_per_minute)
