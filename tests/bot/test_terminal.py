"""`make chat`: the same bot with Telegram replaced by the terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import httpx

from bot.app import build_application, post_init, post_shutdown, run
from bot.config import BotConfig
from bot.rasa import RasaClient
from bot.terminal import TerminalTelegram
from tests.bot.conftest import FakeClassifier, FakeRasa
from tickets.db import Database
from tickets.domain import Domain


async def test_a_terminal_conversation_runs_through_the_bot(
    db: Database, domain: Domain, bot_config: BotConfig, no_errors: Callable[[], None]
) -> None:
    printed: list[str] = []
    terminal = TerminalTelegram(user_id=100000001, name="终端居民", out=printed.append)
    rasa = FakeRasa()
    rasa.replies["3栋电梯坏了"] = [
        {
            "text": "您反映的是：3栋电梯坏了，对吗？",
            "buttons": [
                {"title": "对", "payload": "/affirm"},
                {"title": "不对", "payload": "/deny"},
            ],
        }
    ]
    rasa.replies["/affirm"] = [{"text": "已为您登记"}]
    settings = replace(domain.settings, telegram_bot_token="0:terminal")
    app = build_application(settings, bot_config, request=terminal)
    await app.initialize()
    stack = await post_init(
        app,
        settings,
        bot_config,
        db=db,
        domain=domain,
        rasa=RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa)),
        classifier=FakeClassifier(),
    )
    await app.start()
    stopping = asyncio.Event()
    running = asyncio.create_task(run(stack, stopping))
    try:
        terminal.say("3栋电梯坏了")
        while terminal.replies < 1:
            await asyncio.sleep(0.02)
        terminal.say("1")
        while terminal.replies < 2:
            await asyncio.sleep(0.02)
    finally:
        stopping.set()
        await running
        await app.stop()
        await app.shutdown()
        await post_shutdown(stack)
    assert "\n民微：您反映的是：3栋电梯坏了，对吗？" in printed
    assert "　[1] 对　[2] 不对" in printed
    assert [t["message"] for t in rasa.turns] == ["3栋电梯坏了", "/affirm"]
    assert "　→ 对" in printed
    assert printed[-1] == "\n民微：已为您登记"
    no_errors()
