"""Webhook mode: Telegram posts updates; 200 only once the update is in the inbox; the resident's message
goes on to the real Rasa once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.config import BotConfig
from tests.bot.conftest import FakeClassifier, Harness
from tests.support.fake_telegram import FakeTelegram, free_port
from tests.support.rasa import RasaStack
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import InboxItem

SECRET = "s3cret-token"


@pytest.fixture
async def hooked(
    db: Database,
    domain: Domain,
    telegram: FakeTelegram,
    bot_config: BotConfig,
    no_errors: Callable[[], None],
    rasa: RasaStack,
) -> AsyncIterator[tuple[Harness, str]]:
    port = free_port()
    config = replace(
        bot_config,
        mode="webhook",
        webhook_url="https://minwei.example.org/telegram/hook",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret=SECRET,
    )
    harness = Harness(telegram, rasa.url, FakeClassifier(), db, domain, config)
    await harness.start()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                await client.post(url, json={})
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    try:
        yield harness, url
    finally:
        await harness.stop()
    no_errors()


async def test_webhook_updates_are_stored_then_processed_and_strangers_refused(
    hooked: tuple[Harness, str], rasa: RasaStack
) -> None:
    bot, url = hooked
    chen = bot.telegram.user(501, "陈姨")
    [set_webhook] = bot.telegram.calls_to("setWebhook")
    assert set_webhook.params["url"] == "https://minwei.example.org/telegram/hook"
    assert set_webhook.params["secret_token"] == SECRET
    update = {
        "update_id": 77,
        "message": {
            "message_id": 5,
            "date": 1_763_000_000,
            "chat": bot.telegram.chats[501],
            "from": chen,
            "text": "你好",
        },
    }
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        accepted = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        again = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    assert (refused.status_code, accepted.status_code, again.status_code) == (403, 200, 200)
    await bot.settle(timeout=60)
    assert rasa.said("tg:501") == ["你好"]
    assert bot.telegram.texts(501) == [
        "您好！我是民微社区诉求助手。小区、街道里遇到什么问题，直接告诉我就行，例如：3栋电梯又坏了。"
    ]


def group_update(telegram: FakeTelegram, update_id: int, text: str) -> dict[str, Any]:
    chat = telegram.group(-100888, "未绑定的群")
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_763_000_000,
            "chat": chat,
            "from": telegram.user(600 + update_id % 7, "邻居"),
            "text": text,
        },
    }


async def post_all(url: str, updates: list[dict[str, Any]]) -> list[int]:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post(url, json=u, headers=headers) for u in updates)
        )
    return [a.status_code for a in answers]


def inbox_rows(db: Database) -> list[tuple[int, str]]:
    with db.session() as s:
        return sorted(s.execute(select(InboxItem.update_id, InboxItem.status)).tuples().all())


async def test_a_burst_of_posts_is_stored_together_once_each_before_any_is_answered(
    hooked: tuple[Harness, str], db: Database
) -> None:
    bot, url = hooked
    updates = [group_update(bot.telegram, 1000 + n, f"第{n}条") for n in range(40)]
    # Telegram redelivers a third of them while the first copies are still being stored.
    statuses = await post_all(url, updates + updates[::3])
    assert statuses == [200] * (40 + 14)
    assert [u for u, _ in inbox_rows(db)] == [1000 + n for n in range(40)]
    await bot.settle(timeout=30)
    assert inbox_rows(db) == [(1000 + n, "done") for n in range(40)]


async def test_a_burst_that_finds_the_database_down_is_refused_whole_and_stored_when_redelivered(
    hooked: tuple[Harness, str], db: Database
) -> None:
    bot, url = hooked
    updates = [group_update(bot.telegram, 2000 + n, f"第{n}条") for n in range(12)]
    down = Database(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    bot.stack.deps.db = down
    try:
        assert await post_all(url, updates) == [503] * 12  # Telegram keeps them and redelivers
    finally:
        bot.stack.deps.db = db
        down.dispose()
    assert inbox_rows(db) == []
    assert await post_all(url, updates) == [200] * 12
    await bot.settle(timeout=30)
    assert inbox_rows(db) == [(2000 + n, "done") for n in range(12)]
