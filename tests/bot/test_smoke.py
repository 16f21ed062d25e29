from tests.bot.conftest import Harness


async def test_a_resident_message_goes_to_rasa_and_the_answer_comes_back(bot: Harness) -> None:
    user = bot.telegram.user(501, "陈姨")
    bot.rasa.replies["3栋电梯坏了"] = [
        {
            "text": "您反映的是：3栋电梯坏了。对吗？",
            "buttons": [{"title": "对", "payload": "/affirm"}],
        }
    ]
    bot.telegram.message(user, "3栋电梯坏了")
    await bot.settle()
    assert bot.telegram.texts(501) == ["您反映的是：3栋电梯坏了。对吗？"]
    assert bot.rasa.turns[0]["sender"] == "tg:501"
