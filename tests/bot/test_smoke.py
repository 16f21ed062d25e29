from tests.bot.conftest import Harness
from tests.support.rasa import RasaStack


async def test_a_resident_message_goes_to_rasa_and_the_answer_comes_back(
    bot: Harness, rasa: RasaStack
) -> None:
    user = bot.telegram.user(501, "陈姨")
    bot.telegram.message(user, "幸福花园3栋电梯又坏咗，我阿妈落唔到楼")
    await bot.settle(timeout=60)
    [question] = bot.telegram.sent(501)
    assert question["text"].startswith("您反映的是：") and "3栋" in question["text"]
    assert [b["text"] for b in question["reply_markup"]["inline_keyboard"][0]] == ["对", "不对"]
    assert rasa.said("tg:501") == ["幸福花园3栋电梯又坏咗，我阿妈落唔到楼"]
