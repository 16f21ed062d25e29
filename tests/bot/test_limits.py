"""Telegram's send limits shared through a real Redis server: two processes' limiters count against one
cell, a Redis that goes away leaves each process counting for itself (and says so), and a Redis that
comes back is used again."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import limits
from bot.limits import RedisLimits
from tests.support.processes import Redis

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed (apt-get install redis-server): shared limits on Redis untested",
)

GROUP = -100555


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def taken(limiter: RedisLimits, chat_id: int, within: float = 0.3) -> bool:
    """Whether a send to ``chat_id`` may go out within ``within`` seconds."""
    try:
        await asyncio.wait_for(limiter.acquire(chat_id), within)
    except TimeoutError:
        return False
    return True


async def test_two_processes_share_a_groups_twenty_a_minute_and_the_overall_limit(
    redis_server: Redis,
) -> None:
    first = RedisLimits(redis_server.url, per_second=30, group_per_minute=5)
    second = RedisLimits(redis_server.url, per_second=30, group_per_minute=5)
    try:
        assert [await taken(first, GROUP) for _ in range(3)] == [True] * 3
        assert [await taken(second, GROUP) for _ in range(2)] == [True] * 2
        # Five a minute: the group's sixth message waits about twelve seconds, whichever process.
        assert not await taken(second, GROUP)
        assert not await taken(first, GROUP)
        # Another group and private chats are not held up by it…
        assert await taken(first, GROUP - 1)
        # …but every chat shares the overall thirty a second: 30 in the first second, not 60.
        slots = 0
        while await taken(first if slots % 2 else second, 700 + slots, within=0.01):
            slots += 1
        assert 28 <= slots <= 32
    finally:
        await first.close()
        await second.close()


async def test_without_redis_each_process_counts_for_itself_and_redis_is_used_again_when_back(
    redis_server: Redis, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "REDIS_RETRY_SECONDS", 0.2)
    limiter = RedisLimits(redis_server.url, per_second=30, group_per_minute=5)
    peer = RedisLimits(redis_server.url, per_second=30, group_per_minute=5)
    try:
        assert [await taken(limiter, GROUP) for _ in range(5)] == [True] * 5
        redis_server.stop()
        with caplog.at_level(logging.INFO, logger="bot.limits"):
            # Down: the process's own limiter, which has counted nothing yet, lets five through.
            assert [await taken(limiter, GROUP) for _ in range(5)] == [True] * 5
            assert not await taken(limiter, GROUP)
            redis_server.start()  # empty again (no persistence): a fresh cell
            await asyncio.sleep(0.3)
            assert [await taken(peer, GROUP) for _ in range(4)] == [True] * 4
            assert await taken(limiter, GROUP)  # counted in Redis again: the fifth of the cell
            assert not await taken(peer, GROUP)
        said = [r.getMessage() for r in caplog.records]
        assert sum("Redis unavailable" in m for m in said) == 1
        assert any("Redis is back" in m for m in said)
    finally:
        await limiter.close()
        await peer.close()
