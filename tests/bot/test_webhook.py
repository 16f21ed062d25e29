"""Webhook mode: Telegram posts updates; 200 only once the update is in the inbox; the resident's message
goes on to the real Rasa once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx
import pytest

from bot.config import BotConfig
from tests.bot.conftest import FakeClassifier, Harness
from tests.support.fake_telegram import FakeTelegram, free_port
from tests.support.rasa import RasaStack
from tickets.db import Database
from tickets.domain import Domain

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
