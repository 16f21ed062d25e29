"""On 已办结 the resident rates with buttons; 不满意 reopens the ticket and asks why (the reason stays out
of the real Rasa dialogue, which gets the next message)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot import texts
from tests.bot.conftest import Harness
from tests.support.rasa import RasaStack
from tests.tickets.factories import file
from tickets import services
from tickets.models import Person, Ticket, TicketEvent
from tickets.statuses import Role, Satisfaction, Status

RESIDENT = 501


async def resolved(bot: Harness) -> tuple[str, dict[str, object]]:
    with bot.db.unit_of_work() as uow:
        me = Person(role=Role.RESIDENT, telegram_user_id=RESIDENT, display_name="陈姨")
        uow.session.add(me)
        uow.session.flush()
        ticket = file(
            uow.session, bot.domain, "幸福花园北门垃圾堆咗三日", "sanitation", reporter=me
        )
        services.accept(session=uow.session, domain=bot.domain, ticket=ticket, actor="staff")
        services.resolve(
            session=uow.session, domain=bot.domain, ticket=ticket, note="已清运", actor="staff"
        )
        code = ticket.code
        uow.commit()
    await bot.settle()
    return code, await bot.message(RESIDENT, "已办结")


def ticket(bot: Harness, code: str) -> SimpleNamespace:
    with bot.db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        return SimpleNamespace(
            status=t.status, satisfaction=t.satisfaction, satisfaction_note=t.satisfaction_note
        )


@pytest.mark.parametrize("label", ["满意", "基本满意"])
async def test_a_satisfied_rating_closes_the_ticket(bot: Harness, label: str) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    code, notice = await resolved(bot)
    bot.telegram.press(chen, notice, label)
    await bot.settle()
    rated = ticket(bot, code)
    assert rated.status is Status.CLOSED
    assert rated.satisfaction is Satisfaction.SATISFIED if label == "满意" else Satisfaction.BASIC
    notice_now = bot.telegram.sent(RESIDENT)[1]
    assert notice_now["text"].endswith(f"您的评价：{label}") and "reply_markup" not in notice_now
    assert bot.telegram.texts(RESIDENT)[-1] == texts.rated(code, label)


async def test_unsatisfied_reopens_asks_why_and_passes_the_reason_to_staff(
    bot: Harness, rasa: RasaStack
) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    code, notice = await resolved(bot)
    bot.telegram.press(chen, notice, "不满意")
    await bot.settle()
    assert ticket(bot, code).status is Status.REOPENED
    await bot.message(RESIDENT, "哪里不满意")
    bot.telegram.message(chen, "只清走一半，仲有好多")
    await bot.settle()
    assert bot.telegram.texts(RESIDENT)[-1] == texts.unsatisfied_noted(code)
    assert ticket(bot, code).satisfaction_note == "只清走一半，仲有好多"
    with bot.db.session() as s:
        info = s.scalars(select(TicketEvent).where(TicketEvent.kind == "resident_info")).one()
        assert "只清走一半" in info.data["text"]
    assert rasa.said(f"tg:{RESIDENT}") == []  # the reason did not go to the dialogue

    # The rating conversation is over: back to the dialogue, which takes it as a new report.
    bot.telegram.message(chen, "另外幸福花园3栋电梯又坏咗")
    await bot.settle(timeout=60)
    assert rasa.said(f"tg:{RESIDENT}") == ["另外幸福花园3栋电梯又坏咗"]
    assert bot.telegram.texts(RESIDENT)[-1].startswith("您反映的是：")


async def test_a_second_press_is_refused_politely(bot: Harness) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    code, notice = await resolved(bot)
    bot.telegram.press(chen, notice, "满意")
    bot.telegram.push(
        "callback_query",
        {
            "id": "99",
            "from": chen,
            "chat_instance": "1",
            "data": f"rate:{code}:basic",
            "message": notice,
        },
    )
    await bot.settle()
    assert ticket(bot, code).satisfaction is Satisfaction.SATISFIED
    alert = bot.telegram.calls_to("answerCallbackQuery")[-1].params
    assert alert["show_alert"] is True and "办结后才能评价" in alert["text"]
