"""The bot's one Redis client (``REDIS_URL``), for what its processes share there: Telegram's send
limits (``bot.limits``) and the send journal's copy (``bot.journal.SharedJournal``).

Redis is a help, never a dependency of a reply: while it cannot be reached each user falls back (the
limits are counted in the process, the journal stays in its local file), the outage is logged once,
and Redis is not tried again for ``RETRY_SECONDS`` — a host that does not answer would otherwise
cost every send a connection timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 1.0


class RedisLink:
    def __init__(self, url: str) -> None:
        self.client = aioredis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        #: ``time.monotonic()`` until which Redis is not tried (after a failure); 0 while it is up.
        self._down_until = 0.0

    async def run(self, call: Callable[[aioredis.Redis], Awaitable[T]]) -> T | None:
        """``call(client)``, or None when Redis is (or was just found) unreachable."""
        if time.monotonic() < self._down_until:
            return None
        try:
            result = await call(self.client)
        except (RedisError, OSError) as e:
            if not self._down_until:
                log.warning(
                    "Redis unavailable: send limits are counted in this process and the send "
                    "journal stays in its local file until it is back: %s",
                    e,
                )
            self._down_until = time.monotonic() + RETRY_SECONDS
            return None
        if self._down_until:
            log.info("Redis is back: send limits and the send journal are shared again")
            self._down_until = 0.0
        return result

    async def close(self) -> None:
        await self.client.aclose()
