"""Through the real sender against the Bot API on loopback: a burst of ordinary cards beyond a duty
chat's per-minute budget arrives as digest messages, each ticket once and no card twice, while an urgent
card filed during the burst overtakes it; two bot processes on PostgreSQL do the same together."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from tests.bot.conftest import Harness
from tests.conftest import STAFF_CHAT_ID
from tests.tickets.factories import file_burst
from tickets import outbox
from tickets.db import Database
from tickets.models import OutboxItem

LIGHT = "幸福花园{k}栋楼道灯坏咗成个礼拜"

CODE = re.compile(r"MW-\d{8}-\d{4}")


async def _all_listed(bot: Harness, codes: list[str], timeout: float = 20.0) -> Counter[str]:
    """Wait until every code reached the duty chat (as a card or a digest line); how often each did."""
    deadline = time.monotonic() + timeout
    while True:
        seen = Counter(c for t in bot.telegram.texts(STAFF_CHAT_ID) for c in CODE.findall(t))
        if set(codes) <= set(seen) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.05)


def _sent_rows(db: Database) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count(OutboxItem.id)).where(
                    OutboxItem.chat_id == STAFF_CHAT_ID, OutboxItem.status == "sent"
                )
            )
            or 0
        )


async def test_a_burst_beyond_the_budget_arrives_as_digests_and_the_urgent_card_first(
    bot: Harness,
) -> None:
    await bot.stop()  # a group may get 5 messages a minute: the burst of 60 is far beyond it
    bot.config = replace(bot.config, group_messages_per_minute=5, backlog_digest_seconds=0.1)
    await bot.start()
    codes = file_burst(bot.db, bot.domain, 60, urgent_at=45, text=LIGHT)
    seen = await _all_listed(bot, codes)
    await bot.settle()
    assert seen == Counter(set(codes))  # every ticket once: as its card or as a digest line
    texts = bot.telegram.texts(STAFF_CHAT_ID)
    digests = [t for t in texts if t.startswith("📋 新工单")]
    assert digests and len(texts) < 10
    urgent = next(t for t in texts if t.startswith("🔴"))
    assert codes[45] in urgent and texts.index(urgent) < texts.index(digests[0])
    assert len(texts) == _sent_rows(bot.db)  # no row sent twice
    with bot.db.session() as s:
        folded = s.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.status == outbox.FOLDED)
        )
    assert folded == sum(len(CODE.findall(t)) for t in digests)


@pytest.mark.postgres
async def test_two_bot_processes_on_postgresql_neither_send_twice_nor_digest_twice(
    bot: Harness, db: Database
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several bot processes need PostgreSQL (SQLite: one process, its own limits)")
    await bot.stop()
    bot.config = replace(bot.config, group_messages_per_minute=5, backlog_digest_seconds=0.05)
    await bot.start()
    other = bot.peer(send_journal=None)
    await other.start()
    try:
        codes = file_burst(bot.db, bot.domain, 80, text=LIGHT)
        seen = await _all_listed(bot, codes)
        await bot.settle()
    finally:
        await other.stop()
    assert seen == Counter(set(codes))
    texts = bot.telegram.texts(STAFF_CHAT_ID)
    assert len(texts) == _sent_rows(bot.db) and len(texts) < 12
