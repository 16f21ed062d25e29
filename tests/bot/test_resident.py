"""Residents in private chat: every message kind gets a sensible answer; the dialogue runs through Rasa."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from tests.bot.conftest import Harness
from tests.tickets.factories import file
from tickets import messages, services
from tickets.models import Person, Ticket, TicketEvent
from tickets.statuses import Role

RESIDENT = 501


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
    bot: Harness, chen: dict[str, object]
) -> None:
    bot.rasa.replies["3栋电梯坏了"] = [
        {
            "text": "您反映的是：3栋电梯坏了（电梯），位置：3栋。对吗？",
            "buttons": [
                {"title": "对", "payload": "/affirm"},
                {"title": "不对", "payload": "/deny"},
            ],
        }
    ]
    bot.rasa.replies["/affirm"] = [{"text": "方便的话，拍一张现场照片发给我"}]
    sent = bot.telegram.message(chen, "3栋电梯坏了")
    await bot.settle()
    turn = bot.rasa.turns[0]
    assert turn["sender"] == f"tg:{RESIDENT}"
    assert turn["metadata"]["telegram"]["message_id"] == sent["message_id"]
    assert turn["metadata"]["telegram"]["chat_id"] == RESIDENT
    [question] = bot.telegram.sent(RESIDENT)
    assert [b["text"] for b in question["reply_markup"]["inline_keyboard"][0]] == ["对", "不对"]

    bot.telegram.press(chen, question, "对")
    await bot.settle()
    assert bot.rasa.turns[-1]["message"] == "/affirm"
    pressed, follow_up = bot.telegram.sent(RESIDENT)
    assert pressed["text"].endswith("→ 对") and "reply_markup" not in pressed
    assert follow_up["text"] == "方便的话，拍一张现场照片发给我"


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
    bot.telegram.message(chen, text, **extra)
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == [expected]
    assert bot.rasa.turns == []


async def test_photos_and_locations_reach_the_dialogue_with_telegrams_data(
    bot: Harness, chen: dict[str, object]
) -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90},
        {"file_id": "big", "file_unique_id": "b", "width": 900, "height": 900},
    ]
    bot.telegram.message(chen, None, photo=photo)
    bot.telegram.message(chen, None, photo=photo, caption="门口积水好深")
    bot.telegram.message(chen, None, location={"latitude": 23.1291, "longitude": 113.2644})
    await bot.settle()
    sent = [
        (t["message"], t["metadata"].get("photo"), t["metadata"].get("location"))
        for t in bot.rasa.turns
    ]
    assert sent == [
        ("/photo", "big", None),
        ("门口积水好深", "big", None),
        ("/share_location", None, {"latitude": 23.1291, "longitude": 113.2644}),
    ]


async def test_an_edited_message_is_answered_with_how_to_correct(
    bot: Harness, chen: dict[str, object]
) -> None:
    message = bot.telegram.message(chen, "3栋电梯坏了")
    bot.telegram.edit(message, "5栋电梯坏了")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT)[-1] == texts.EDITED
    assert len(bot.rasa.turns) == 1


async def test_when_rasa_is_down_the_resident_is_told_once_and_answered_when_it_is_back(
    bot: Harness, chen: dict[str, object]
) -> None:
    bot.rasa.down = True
    bot.rasa.replies["路灯坏咗"] = [{"text": "请问具体在哪里？"}]
    bot.telegram.message(chen, "路灯坏咗")
    bot.telegram.message(chen, "喺东风路")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == [texts.TRY_LATER]
    bot.rasa.down = False
    await bot.worker_retries_now()
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == [texts.TRY_LATER, "请问具体在哪里？", "好的"]
    assert [t["message"] for t in bot.rasa.turns] == ["路灯坏咗", "喺东风路"]


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
    assert len(bot.rasa.turns) == 0


async def test_a_filing_reply_is_linked_to_its_ticket_so_a_reply_adds_information(
    bot: Harness, chen: dict[str, object]
) -> None:
    with bot.db.unit_of_work() as uow:
        me = Person(role=Role.RESIDENT, telegram_user_id=RESIDENT, display_name="陈姨")
        uow.session.add(me)
        uow.session.flush()
        code = file(uow.session, bot.domain, "井盖冇咗", "road_facility", reporter=me).code
        uow.commit()
    bot.rasa.replies["对"] = [
        {"custom": {"minwei": {"text": f"已为您登记 ✅\n工单号：{code}", "ticket_code": code}}}
    ]
    bot.telegram.message(chen, "对")
    await bot.settle()
    filed = await bot.message(RESIDENT, code)
    bot.telegram.reply_to(chen, filed, "系石岗路口嗰个")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT)[-1] == messages.info_added(code)
    with bot.db.session() as s:
        assert s.scalar(select(Ticket.code)) == code


async def test_cancel_reaches_the_dialogue(bot: Harness, chen: dict[str, object]) -> None:
    bot.rasa.replies["/cancel"] = [{"text": "好的，已取消"}]
    bot.telegram.message(chen, "/cancel")
    await bot.settle()
    assert bot.rasa.turns[-1]["message"] == "/cancel"
    assert bot.telegram.texts(RESIDENT) == ["好的，已取消"]
