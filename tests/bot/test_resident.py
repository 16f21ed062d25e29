"""Residents in private chat: every message kind gets a sensible answer; the dialogue runs through the
real Rasa server and action server (what the bot sent there is read back from Rasa's tracker)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from tests.bot.conftest import Harness
from tests.support.rasa import RasaStack, TcpProxy
from tests.tickets.factories import file
from tickets import messages, services
from tickets.models import Person, Ticket, TicketEvent
from tickets.statuses import Role

RESIDENT = 501
SENDER = f"tg:{RESIDENT}"
REPORT = "幸福花园3栋电梯又坏咗，我阿妈落唔到楼"
START_REPORT = "可以的 🙂 请直接说说遇到了什么问题、在哪里，我帮您登记成工单并通知工作人员。"


@pytest.fixture
def chen(bot: Harness) -> dict[str, object]:
    return bot.telegram.user(RESIDENT, "陈姨", "chenyi")


async def test_start_explains_the_bot_and_what_happens_to_the_data(
    bot: Harness, chen: dict[str, object]
) -> None:
    bot.telegram.message(chen, "/start")
    await bot.settle()
    [welcome] = bot.telegram.texts(RESIDENT)
    assert "民微" in welcome and "/my" in welcome and "打码" in welcome and "119" in welcome
    with bot.db.session() as s:
        person = s.scalars(select(Person)).one()
        assert (person.role, person.telegram_user_id, person.display_name) == (
            Role.RESIDENT,
            RESIDENT,
            "陈姨",
        )


async def test_a_message_goes_to_rasa_with_its_ids_and_buttons_come_back_pressable(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    sent = bot.telegram.message(chen, REPORT)
    await bot.settle(timeout=60)
    [turn] = rasa.turns(SENDER)
    assert turn["text"] == REPORT
    assert turn["metadata"]["telegram"]["message_id"] == sent["message_id"]
    assert turn["metadata"]["telegram"]["chat_id"] == RESIDENT
    [question] = bot.telegram.sent(RESIDENT)
    assert question["text"].startswith("您反映的是：") and "幸福花园3栋" in question["text"]
    assert [b["text"] for b in question["reply_markup"]["inline_keyboard"][0]] == ["对", "不对"]

    bot.telegram.press(chen, question, "对")
    await bot.settle(timeout=60)
    assert rasa.said(SENDER)[-1] == "/affirm"
    pressed, follow_up = bot.telegram.sent(RESIDENT)
    assert pressed["text"].endswith("→ 对") and "reply_markup" not in pressed
    assert follow_up["text"].startswith("方便的话，拍一张现场照片发给我")
    assert [b["text"] for b in follow_up["reply_markup"]["inline_keyboard"][0]] == ["跳过"]


@pytest.mark.parametrize(
    ("extra", "text", "expected"),
    [
        (
            {
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "u1",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                }
            },
            None,
            texts.STICKER,
        ),
        ({"voice": {"file_id": "v1", "file_unique_id": "u2", "duration": 3}}, None, texts.VOICE),
        ({}, "👍👍🙏", texts.EMOJI_ONLY),
        ({}, "   ", texts.EMPTY),
        ({}, "长" * 5000, texts.too_long(5000, 4096)),
        ({"document": {"file_id": "d1", "file_unique_id": "u3"}}, None, texts.UNSUPPORTED),
    ],
    ids=["sticker", "voice", "emoji", "blank", "too-long", "document"],
)
async def test_messages_the_dialogue_cannot_use_get_a_plain_answer_and_skip_rasa(
    bot: Harness, chen: dict[str, object], extra: dict[str, object], text: str | None, expected: str
) -> None:
    # Rasa's address here is a port where nothing listens: a turn sent there would be answered
    # "try later" instead of the plain answer.
    bot.telegram.message(chen, text, **extra)
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == [expected]


async def test_photos_and_locations_reach_the_dialogue_with_telegrams_data(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90},
        {"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900},
    ]
    bot.telegram.message(chen, None, photo=photo)
    bot.telegram.message(chen, None, photo=photo, caption="门口积水好深")
    bot.telegram.message(chen, None, location={"latitude": 23.1291, "longitude": 113.2644})
    await bot.settle(timeout=60)
    sent = [
        (t["text"], t["metadata"].get("photo"), t["metadata"].get("location"))
        for t in rasa.turns(SENDER)
    ]
    assert sent == [
        ("/photo", "big", None),
        ("门口积水好深", "big", None),
        ("/share_location", None, {"latitude": 23.1291, "longitude": 113.2644}),
    ]
    # The dialogue's answers: a photo alone asks for words, words with a photo are a report.
    answers = bot.telegram.texts(RESIDENT)
    assert answers[0].startswith("照片收到了") and "门口积水好深" in answers[1]


async def test_an_edited_message_is_answered_with_how_to_correct(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    message = bot.telegram.message(chen, REPORT)
    bot.telegram.edit(message, REPORT.replace("3栋", "5栋"))
    await bot.settle(timeout=60)
    assert bot.telegram.texts(RESIDENT)[-1] == texts.EDITED
    assert rasa.said(SENDER) == [REPORT]


async def test_when_rasa_is_down_the_resident_is_told_once_and_answered_when_it_is_back(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    proxy = TcpProxy(int(rasa.url.rsplit(":", 1)[1]))  # Rasa behind a port the test closes
    await bot.stop()
    bot.rasa_url = proxy.url
    await bot.start()
    bot.telegram.message(chen, "我想反映个问题")
    bot.telegram.message(chen, "东风路的路灯唔着")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == [texts.TRY_LATER]
    assert rasa.said(SENDER) == []
    proxy.open()
    try:
        await bot.worker_retries_now()
        await bot.settle(timeout=60)
        told = bot.telegram.texts(RESIDENT)
        assert told[:2] == [texts.TRY_LATER, START_REPORT]
        assert told[2].startswith("您反映的是：") and "东风路" in told[2]
        assert rasa.said(SENDER) == ["我想反映个问题", "东风路的路灯唔着"]
    finally:
        proxy.close()


async def test_my_lists_the_residents_tickets_and_a_reply_to_a_notice_adds_to_the_ticket(
    bot: Harness, chen: dict[str, object]
) -> None:
    bot.telegram.message(chen, "/start")
    await bot.settle()
    with bot.db.unit_of_work() as uow:
        me = uow.session.scalars(select(Person)).one()
        ticket = file(
            uow.session,
            bot.domain,
            "东风路路灯唔着",
            "road_facility",
            locations=["东风路"],
            reporter=me,
        )
        services.accept(session=uow.session, domain=bot.domain, ticket=ticket, actor="staff")
        code = ticket.code
        uow.commit()
    await bot.settle()
    notice = await bot.message(RESIDENT, "已受理")
    bot.telegram.message(chen, "/my")
    await bot.settle()
    listing = bot.telegram.texts(RESIDENT)[-1]
    assert code in listing and "已受理" in listing and "东风路" in listing

    bot.telegram.reply_to(chen, notice, "灯柱旁边仲有条电线跌咗落嚟")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT)[-1] == messages.info_added(code)
    with bot.db.session() as s:
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "resident_info")).one()
        assert event.data["original"] == "灯柱旁边仲有条电线跌咗落嚟"
    # Rasa's address is a port where nothing listens: a turn sent there would have been answered
    # "try later".
    assert texts.TRY_LATER not in bot.telegram.texts(RESIDENT)


async def test_a_filing_reply_is_linked_to_its_ticket_so_a_reply_adds_information(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    bot.telegram.message(chen, REPORT)
    await bot.settle(timeout=60)
    # confirm, no photo, may be contacted
    filed, code = await bot.confirm_report(chen, ("对", "跳过", "可以"))
    bot.telegram.reply_to(chen, filed, "系幸福花园3栋东边嗰部")
    await bot.settle(timeout=60)
    assert bot.telegram.texts(RESIDENT)[-1] == messages.info_added(code)
    with bot.db.session() as s:
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "resident_info")).one()
        assert event.data["original"] == "系幸福花园3栋东边嗰部"
    assert "系幸福花园3栋东边嗰部" not in rasa.said(SENDER)


async def test_cancel_reaches_the_dialogue(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    bot.telegram.message(chen, REPORT)
    await bot.settle(timeout=60)
    bot.telegram.message(chen, "/cancel")
    await bot.settle(timeout=60)
    assert rasa.said(SENDER) == [REPORT, "/cancel"]
    assert (
        bot.telegram.texts(RESIDENT)[-1] == "好的，已取消，这次的内容不会登记。有问题随时告诉我。"
    )
    with bot.db.session() as s:
        assert s.scalars(select(Ticket)).all() == []
