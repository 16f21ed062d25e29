"""Follow-through in Telegram: a unit binds its work chat and gets its cards there; only staff whose
scope covers a ticket can press its buttons; 退单 with a reason, 协办, 上门 and 跟踪办 progress from the
card; the supervision clock runs in the bot on the job queue."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.bot.conftest import Harness
from tests.conftest import STAFF_CHAT_ID
from tests.tickets.factories import file
from tickets.models import Person, Ticket, TicketEvent
from tickets.statuses import HandlingMode, Role, Status

RESIDENT, COMMUNITY, STREET, DEPT, OTHER_COMMUNITY = 501, 601, 602, 603, 604
COMMUNITY_CHAT, STREET_CHAT, DEPT_CHAT = -7001, -7002, -7003


@pytest.fixture
def people(bot: Harness) -> dict[str, dict[str, Any]]:
    bot.person(Role.COMMUNITY_STAFF, COMMUNITY, unit="YX-SG-XF", name="幸福社区小李")
    bot.person(Role.STREET_STAFF, STREET, unit="YX-SG", name="街道老王")
    bot.person(Role.STREET_STAFF, DEPT, unit="YX-SG-CG", name="城管小张")
    bot.person(Role.COMMUNITY_STAFF, OTHER_COMMUNITY, unit="YX-SG-DF", name="东风社区小陈")
    with bot.db.unit_of_work() as uow:
        uow.session.add(Person(role=Role.RESIDENT, telegram_user_id=RESIDENT, display_name="陈姨"))
        uow.commit()
    for chat, title in (
        (COMMUNITY_CHAT, "幸福社区工作群"),
        (STREET_CHAT, "石岗街道工作群"),
        (DEPT_CHAT, "城管执法队工作群"),
    ):
        bot.telegram.group(chat, title)
    return {
        "resident": bot.telegram.user(RESIDENT, "陈姨"),
        "community": bot.telegram.user(COMMUNITY, "小李"),
        "street": bot.telegram.user(STREET, "老王"),
        "dept": bot.telegram.user(DEPT, "小张"),
        "other": bot.telegram.user(OTHER_COMMUNITY, "小陈"),
    }


async def bind_chats(bot: Harness, people: dict[str, dict[str, Any]]) -> None:
    for who, chat, code in (
        ("community", COMMUNITY_CHAT, "YX-SG-XF"),
        ("street", STREET_CHAT, "YX-SG"),
        ("dept", DEPT_CHAT, "YX-SG-CG"),
    ):
        bot.telegram.message(people[who], f"/bindunit {code}", chat=bot.telegram.chats[chat])
    await bot.settle()


async def filed(bot: Harness, text: str = "幸福花园3栋电梯坏咗", category: str = "elevator") -> str:
    with bot.db.unit_of_work() as uow:
        reporter = uow.session.scalars(
            select(Person).where(Person.telegram_user_id == RESIDENT)
        ).one()
        ticket = file(
            uow.session, bot.domain, text, category, locations=["幸福花园"], reporter=reporter
        )
        code = ticket.code
        uow.commit()
    await bot.settle()
    return code


def ticket_of(bot: Harness, code: str) -> Ticket:
    with bot.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        s.expunge(ticket)
        return ticket


async def test_bindunit_routes_the_units_cards_to_its_chat(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    said = await bot.message(COMMUNITY_CHAT, "工作群")
    assert said["text"].startswith("已把本群设为「幸福社区」（YX-SG-XF）的工作群")
    bot.telegram.message(
        people["other"], "/bindunit YX-SG-XF", chat=bot.telegram.group(-7009, "别人的群")
    )
    await bot.settle()
    refusal = bot.telegram.sent(-7009)[-1]["text"]
    assert "不能为幸福社区绑定工作群" in refusal
    code = await filed(bot)
    card = await bot.message(COMMUNITY_CHAT, code)
    assert card["text"].startswith("【电梯】" + code)
    assert all(code not in t for t in bot.telegram.texts(STAFF_CHAT_ID))


async def test_only_staff_whose_scope_covers_the_ticket_can_press_its_buttons(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    code = await filed(bot)
    card = await bot.message(COMMUNITY_CHAT, code)
    bot.telegram.press(people["other"], card, "受理")  # another community's staff
    await bot.settle()
    assert ticket_of(bot, code).status is Status.NEW
    alert = bot.telegram.calls_to("answerCallbackQuery")[-1].params
    assert alert["show_alert"] is True and "没有处理工单" in alert["text"]
    bot.telegram.press(people["street"], card, "受理")  # the street above covers it
    await bot.settle()
    assert ticket_of(bot, code).status is Status.ACCEPTED


async def test_a_send_back_with_a_reason_goes_to_the_dispatchers_chat(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    code = await filed(bot, "石岗路有人占道经营", "other")
    street_card = await bot.message(STREET_CHAT, code)
    bot.telegram.press(people["street"], street_card, "派单")
    await bot.settle()
    bot.telegram.press(people["street"], street_card, "石岗街道城管执法队")
    await bot.settle()
    dept_card = await bot.message(DEPT_CHAT, code)
    assert dept_card["text"].startswith("📌 派单至石岗街道城管执法队")
    bot.telegram.press(people["dept"], dept_card, "退单")
    await bot.settle()
    bot.telegram.press(people["dept"], dept_card, "其他原因…")
    await bot.settle()
    prompt = await bot.message(DEPT_CHAT, "退单原因")
    bot.telegram.reply_to(people["dept"], prompt, "该路段属交警管理")
    await bot.settle()
    ticket = ticket_of(bot, code)
    assert (ticket.status, ticket.sent_back_count) == (Status.ACCEPTED, 1)
    back = await bot.message(STREET_CHAT, "退单（第 1 次）")
    assert "该路段属交警管理" in back["text"] and back["reply_markup"]["inline_keyboard"]


async def test_helpers_get_a_helpers_card_and_finish_their_part(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    code = await filed(bot, "幸福花园物业乱收停车费", "property_mgmt")
    card = await bot.message(COMMUNITY_CHAT, code)
    bot.telegram.press(people["community"], card, "协办")
    await bot.settle()
    bot.telegram.press(people["community"], card, "石岗街道城管执法队")
    await bot.settle()
    helper_card = await bot.message(DEPT_CHAT, "请石岗街道城管执法队协办")
    assert [b["text"] for b in helper_card["reply_markup"]["inline_keyboard"][0]] == [
        "备注",
        "协办完成",
    ]
    bot.telegram.press(people["dept"], helper_card, "协办完成")
    await bot.settle()
    with bot.db.session() as s:
        kinds = s.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)).all()
    assert kinds == ["filed", "helper_added", "helper_done"]
    refreshed = bot.telegram.bot_messages[(DEPT_CHAT, helper_card["message_id"])]
    assert "石岗街道城管执法队（已完成）" in refreshed["text"]
    assert [b["text"] for b in refreshed["reply_markup"]["inline_keyboard"][0]] == [
        "备注",
        "协办完成",
    ]


async def test_a_visit_time_typed_on_the_card_is_told_to_the_resident(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    code = await filed(bot)
    card = await bot.message(COMMUNITY_CHAT, code)
    bot.telegram.press(people["community"], card, "上门")
    await bot.settle()
    prompt = await bot.message(COMMUNITY_CHAT, "上门时间")
    bot.telegram.reply_to(people["community"], prompt, "明天下午3点")
    await bot.settle()
    assert ticket_of(bot, code).visit_at is not None
    notice = await bot.message(RESIDENT, "上门处理")
    assert "15:00" in notice["text"] and "办理进度：http" in notice["text"]


async def test_the_clock_runs_in_the_bot_and_asks_a_tracked_unit_for_progress(
    bot: Harness, people: dict[str, dict[str, Any]]
) -> None:
    await bind_chats(bot, people)
    code = await filed(bot)
    with bot.db.unit_of_work() as uow:
        from tickets import services

        ticket = services.get_ticket(uow.session, code)
        staff = uow.session.scalars(
            select(Person).where(Person.telegram_user_id == COMMUNITY)
        ).one()
        services.set_handling_mode(
            session=uow.session,
            domain=bot.domain,
            ticket=ticket,
            mode=HandlingMode.TRACKED,
            actor=staff,
        )
        services.accept(session=uow.session, domain=bot.domain, ticket=ticket, actor=staff)
        uow.commit()
    # Three working days later at noon, with the clock on the job queue every 0.2 s.
    later = bot.domain.clock() + timedelta(days=5)
    bot.domain.clock = lambda: later.replace(hour=4)  # 12:00 in Guangzhou
    await bot.stop()
    bot.config = replace(bot.config, supervision_seconds=0.2)
    await bot.start()
    request = await bot.message(COMMUNITY_CHAT, "请填写最新办理进展")
    bot.telegram.press(people["community"], request, "填写进展")
    await bot.settle()
    prompt = await bot.message(COMMUNITY_CHAT, "最新办理进展（会转告居民）")
    bot.telegram.reply_to(people["community"], prompt, "电梯配件已订，周五更换")
    await bot.settle()
    notice = await bot.message(RESIDENT, "电梯配件已订，周五更换")
    assert "有新的办理进展" in notice["text"]
    await asyncio.sleep(0.5)  # more runs of the job: nothing is asked twice
    assert len([t for t in bot.telegram.texts(COMMUNITY_CHAT) if "请填写最新办理进展" in t]) == 1
