"""What bot processes share through a real Redis server. Telegram's send limits: two processes' limiters
count against one cell, a Redis that goes away leaves each process counting for itself (and says so),
and a Redis that comes back is used again. The send journal's copy: what one host wrote down another
reads, and a Redis that is down loses nothing the local file has."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot import redislink
from bot.journal import SendJournal, SharedJournal
from bot.limits import RedisLimits
from bot.redislink import RedisLink
from tests.support.processes import Redis

GROUP = -100555


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
    first = RedisLimits(RedisLink(redis_server.url), per_second=30, group_per_minute=5)
    second = RedisLimits(RedisLink(redis_server.url), per_second=30, group_per_minute=5)
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
        await first.link.close()
        await second.link.close()


async def test_without_redis_each_process_counts_for_itself_and_redis_is_used_again_when_back(
    redis_server: Redis, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redislink, "RETRY_SECONDS", 0.2)
    limiter = RedisLimits(RedisLink(redis_server.url), per_second=30, group_per_minute=5)
    peer = RedisLimits(RedisLink(redis_server.url), per_second=30, group_per_minute=5)
    try:
        assert [await taken(limiter, GROUP) for _ in range(5)] == [True] * 5
        redis_server.stop()
        with caplog.at_level(logging.INFO, logger="bot.redislink"):
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
        await limiter.link.close()
        await peer.link.close()


async def test_what_one_host_wrote_down_another_reads_polls_included(redis_server: Redis) -> None:
    here, there = RedisLink(redis_server.url), RedisLink(redis_server.url)
    try:
        await SharedJournal(here).record(41, 9001)
        await SharedJournal(here).record(42, None)  # a delivery without a message id (editMessage)
        await SharedJournal(here).record(43, 9003, ("poll-7", ("a1", "b2")))
        found, polls = await SharedJournal(there).delivered({41, 42, 43, 44})
        assert found == {41: 9001, 42: None, 43: 9003}
        assert polls == {43: ("poll-7", ("a1", "b2"))}
        assert await SharedJournal(there).delivered(set()) == ({}, {})
    finally:
        await here.close()
        await there.close()


async def test_with_redis_down_the_journal_is_the_local_file_and_nothing_fails(
    redis_server: Redis, tmp_path: Path
) -> None:
    link = RedisLink(redis_server.url)
    local = SendJournal(tmp_path / "bot1.journal")
    local.open()
    try:
        redis_server.stop()
        local.record(51, 9051)
        await SharedJournal(link).record(51, 9051)  # skipped, no exception
        assert await SharedJournal(link).delivered({51}) == ({}, {})
        assert local.delivered({51}) == {51: 9051}
    finally:
        local.close()
        await link.close()
