"""试一试: the bot's decisions without side effects (for the console)."""

from __future__ import annotations

import httpx

from bot.config import BotConfig
from bot.rasa import RasaClient
from bot.tryout import Reply, try_group_message, try_resident_turn
from tests.bot.conftest import FakeClassifier, FakeRasa, demand


async def test_a_pasted_group_message_gets_the_groups_decision() -> None:
    classifier = FakeClassifier(
        {
            "北门垃圾堆咗三日": demand("sanitation"),
            "有冇人觉得好嘈": demand("noise", confidence=0.5),
        }
    )
    config = BotConfig()
    assert (
        await try_group_message("北门垃圾堆咗三日", classifier=classifier, config=config)
    ).decision == "file"
    assert (
        await try_group_message("有冇人觉得好嘈", classifier=classifier, config=config)
    ).decision == "review"
    assert (
        await try_group_message("早晨", classifier=classifier, config=config)
    ).decision == "drop"


async def test_a_resident_turn_goes_through_the_dialogue_under_a_non_telegram_sender() -> None:
    rasa = FakeRasa(
        replies={
            "3栋电梯坏咗": [{"text": "对吗？", "buttons": [{"title": "对", "payload": "/affirm"}]}]
        }
    )
    client = RasaClient("http://rasa.test", transport=httpx.MockTransport(rasa))
    assert await try_resident_turn("3栋电梯坏咗", rasa=client, session="c1") == [
        Reply("对吗？", ["对"])
    ]
    assert rasa.turns[0]["sender"] == "tryout:c1"
    await client.close()
