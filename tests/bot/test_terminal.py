"""`make chat`: the same bot with Telegram replaced by the terminal, talking to the real Rasa."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from bot.app import build_application, post_init, post_shutdown, run
from bot.config import BotConfig
from bot.rasa import RasaClient
from bot.terminal import TerminalTelegram
from tests.bot.conftest import FakeClassifier
from tests.support.rasa import RasaStack
from tickets.db import Database
from tickets.domain import Domain

PHOTO_QUESTION = "方便的话，拍一张现场照片发给我，工作人员看得更清楚；没有的话点“跳过”。"


async def replied(terminal: TerminalTelegram, n: int, timeout: float = 60.0) -> None:
    """Wait until the bot has answered ``n`` times."""
    deadline = asyncio.get_running_loop().time() + timeout
    while terminal.replies < n:
        assert asyncio.get_running_loop().time() < deadline, "the bot did not answer"
        await asyncio.sleep(0.02)


async def test_a_terminal_conversation_runs_through_the_bot(
    db: Database,
    domain: Domain,
    bot_config: BotConfig,
    no_errors: Callable[[], None],
    rasa: RasaStack,
) -> None:
    printed: list[str] = []
    terminal = TerminalTelegram(user_id=100000001, name="终端居民", out=printed.append)
    settings = replace(domain.settings, telegram_bot_token="0:terminal")
    app = build_application(settings, bot_config, request=terminal)
    await app.initialize()
    stack = await post_init(
        app,
        settings,
        bot_config,
        db=db,
        domain=domain,
        rasa=RasaClient(rasa.url),
        classifier=FakeClassifier(),
    )
    await app.start()
    stopping = asyncio.Event()
    running = asyncio.create_task(run(stack, stopping))
    try:
        terminal.say("幸福花园3栋电梯又坏咗，我阿妈落唔到楼")
        await replied(terminal, 1)
        terminal.say("1")  # 对
        await replied(terminal, 2)
    finally:
        stopping.set()
        await running
        await app.stop()
        await app.shutdown()
        await post_shutdown(stack)
    [question] = [p for p in printed if p.startswith("\n民微：您反映的是：")]
    assert "幸福花园3栋" in question and question.endswith("对吗？")
    assert "　[1] 对　[2] 不对" in printed
    assert rasa.said("tg:100000001") == ["幸福花园3栋电梯又坏咗，我阿妈落唔到楼", "/affirm"]
    assert "　→ 对" in printed
    assert printed[-2:] == ["\n民微：" + PHOTO_QUESTION, "　[1] 跳过"]
    no_errors()
