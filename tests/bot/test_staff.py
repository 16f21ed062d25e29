"""The staff group: every new ticket arrives as a card; staff act with its buttons; others cannot."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot import texts
from tests.bot.conftest import Harness
from tests.conftest import STAFF_CHAT_ID
from tests.tickets.factories import file
from tickets.models import BotState, LabelFeedback, Person, Ticket
from tickets.statuses import Role, Status

RESIDENT, STAFF, OUTSIDER = 501, 601, 701


@pytest.fixture
def people(bot: Harness) -> dict[str, dict[str, Any]]:
    bot.person(Role.COMMUNITY_STAFF, STAFF, unit="YX-SG-DF", name="李主任")
    with bot.db.unit_of_work() as uow:
        uow.session.add(Person(role=Role.RESIDENT, telegram_user_id=RESIDENT, display_name="陈姨"))
        uow.commit()
    return {
        "resident": bot.telegram.user(RESIDENT, "陈姨"),
        "staff": bot.telegram.user(STAFF, "李主任"),
        "outsider": bot.telegram.user(OUTSIDER, "路人"),
    }


async def filed(bot: Harness, text: str = "东风路路灯唔着，好黑", *, urgent: bool = False) -> str:
    with bot.db.unit_of_work() as uow:
        reporter = uow.session.scalars(
            select(Person).where(Person.telegram_user_id == RESIDENT)
        ).one()
        ticket = file(
            uow.session,
            bot.domain,
            text,
            "road_facility",
            locations=["东风路"],
            reporter=reporter,
            urgent=urgent,
        )
        code = ticket.code
        uow.commit()
    await bot.settle()
    return code


def status_of(bot: Harness, code: str) -> Status:
    with bot.db.session() as s:
        return s.scalars(select(Ticket.status).where(Ticket.code == code)).one()


async def test_a_new_ticket_is_posted_as_a_card_and_an_urgent_one_is_marked(
    bot: Harness, people: Any
) -> None:
    code = await filed(bot)
    urgent = await filed(bot, "东风路有条电线跌咗落地，仲有火花", urgent=True)
    cards = bot.telegram.sent(STAFF_CHAT_ID)
    assert cards[0]["text"].startswith("【道路设施】" + code)
    assert cards[1]["text"].startswith("🔴 紧急")
    assert urgent in cards[1]["text"]
    labels = [b["text"] for row in cards[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [
        "受理",
        "改类别",
        "派单",
        "处理中",
        "办结",
        "不受理",
        "退单",
        "协办",
        "上门",
        "合并",
    ]


async def test_staff_accept_the_resident_is_told_and_the_card_shows_it(
    bot: Harness, people: Any
) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "受理")
    await bot.settle()
    assert status_of(bot, code) is Status.ACCEPTED
    assert "已受理" in (await bot.message(RESIDENT, code))["text"]
    card_now = bot.telegram.sent(STAFF_CHAT_ID)[0]
    assert "状态：已受理" in card_now["text"] and "李主任" in card_now["text"]
    answers = bot.telegram.calls_to("answerCallbackQuery")
    assert "已受理" in answers[-1].params["text"]


async def test_someone_without_a_staff_role_is_refused_politely_and_nothing_changes(
    bot: Harness, people: Any
) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    for label in ("受理", "改类别", "办结"):
        bot.telegram.press(people["outsider"], card, label)
    await bot.settle()
    assert status_of(bot, code) is Status.NEW
    alerts = [c.params for c in bot.telegram.calls_to("answerCallbackQuery")]
    assert len(alerts) == 3
    assert all(a["show_alert"] is True and "工作人员" in a["text"] for a in alerts)
    assert len(bot.telegram.sent(STAFF_CHAT_ID)) == 1


async def test_resolving_asks_for_a_note_and_the_resident_gets_it_with_rating_buttons(
    bot: Harness, people: Any
) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "受理")
    bot.telegram.press(people["staff"], card, "办结")
    await bot.settle()
    prompt = await bot.message(STAFF_CHAT_ID, "办结说明")
    bot.telegram.reply_to(people["staff"], prompt, "已更换路灯灯泡，今晚恢复照明")
    await bot.settle()
    assert status_of(bot, code) is Status.RESOLVED
    notice = await bot.message(RESIDENT, "已办结")
    assert "已更换路灯灯泡" in notice["text"]
    assert [b["text"] for b in notice["reply_markup"]["inline_keyboard"][0]] == [
        "满意",
        "基本满意",
        "不满意",
    ]
    assert (await bot.message(STAFF_CHAT_ID, "已办结："))["text"].endswith(code)


async def test_rejecting_asks_for_a_reason_and_cancel_drops_it(bot: Harness, people: Any) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "不受理")
    await bot.settle()
    bot.telegram.message(people["staff"], "/cancel", chat=bot.telegram.chats[STAFF_CHAT_ID])
    await bot.settle()
    assert status_of(bot, code) is Status.NEW
    assert bot.telegram.texts(STAFF_CHAT_ID)[-1] == texts.STAFF_CANCELLED
    bot.telegram.press(people["staff"], card, "不受理")
    await bot.settle()
    prompt = await bot.message(STAFF_CHAT_ID, "不予受理的原因", after=2)
    bot.telegram.reply_to(people["staff"], prompt, "属于市政道路，已转12345")
    await bot.settle()
    assert status_of(bot, code) is Status.REJECTED
    assert "属于市政道路" in (await bot.message(RESIDENT, "未予受理"))["text"]


async def test_changing_the_category_swaps_the_buttons_for_a_chooser(
    bot: Harness, people: Any
) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "改类别")
    await bot.settle()
    bot.telegram.press(people["staff"], card, "物业管理")
    await bot.settle()
    with bot.db.session() as s:
        assert (
            s.scalars(select(Ticket.category).where(Ticket.code == code)).one() == "property_mgmt"
        )
        feedback = s.scalars(select(LabelFeedback)).one()
        assert feedback.corrected["category"] == "property_mgmt"
    card_now = bot.telegram.sent(STAFF_CHAT_ID)[0]
    assert card_now["text"].startswith("【物业管理】")
    assert card_now["reply_markup"]["inline_keyboard"][0][0]["text"] == "受理"


async def test_dispatching_offers_the_units_around_the_place(bot: Harness, people: Any) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "受理")
    bot.telegram.press(people["staff"], card, "派单")
    await bot.settle()
    chooser = bot.telegram.sent(STAFF_CHAT_ID)[0]
    units = [b["text"] for row in chooser["reply_markup"]["inline_keyboard"] for b in row]
    assert "东风社区" in units and "« 返回" in units
    bot.telegram.press(people["staff"], card, "东风社区")
    await bot.settle()
    assert status_of(bot, code) is Status.ASSIGNED
    assert "东风社区" in (await bot.message(RESIDENT, "已派单"))["text"]


async def test_merging_into_another_ticket(bot: Harness, people: Any) -> None:
    main = await filed(bot)
    duplicate = await filed(bot, "东风路嘅路灯坏咗成个礼拜")
    card = await bot.message(STAFF_CHAT_ID, duplicate)
    bot.telegram.press(people["staff"], card, "合并")
    await bot.settle()
    prompt = await bot.message(STAFF_CHAT_ID, "主工单号")
    bot.telegram.reply_to(people["staff"], prompt, main.lower())
    await bot.settle()
    assert status_of(bot, duplicate) is Status.MERGED


async def test_stats_for_staff_and_not_for_residents(bot: Harness, people: Any) -> None:
    await filed(bot)
    bot.telegram.message(people["staff"], "/stats")
    bot.telegram.message(people["resident"], "/stats")
    await bot.settle()
    report = bot.telegram.texts(STAFF)[-1]
    assert "今日" in report and "本月" in report and "诉求 1" in report and "东风社区" in report
    assert bot.telegram.texts(RESIDENT)[-1] == "只有工作人员可以操作工单"


async def test_a_step_begun_on_one_worker_is_finished_by_another(bot: Harness, people: Any) -> None:
    code = await filed(bot)
    card = await bot.message(STAFF_CHAT_ID, code)
    bot.telegram.press(people["staff"], card, "受理")
    bot.telegram.press(people["staff"], card, "办结")
    await bot.settle()
    prompt = await bot.message(STAFF_CHAT_ID, "办结说明")
    with bot.db.session() as s:  # the step is in the database, not in the worker's memory
        assert {r.key for r in s.scalars(select(BotState))} == {
            f"user:{STAFF}",
            f"conv:staff_text:{STAFF_CHAT_ID}:{STAFF}",
        }
    assert bot.stack.app.user_data.get(STAFF, {}) == {}
    await bot.stop()
    other = bot.peer()
    await other.start()  # a second process: a new Application that never saw the button
    try:
        bot.telegram.reply_to(people["staff"], prompt, "已更换路灯灯泡，今晚恢复照明")
        await other.settle()
        assert status_of(other, code) is Status.RESOLVED
        assert "已更换路灯灯泡" in (await other.message(RESIDENT, "已办结"))["text"]
    finally:
        await other.stop()
        await bot.start()  # the fixture stops it
    with bot.db.session() as s:
        assert list(s.scalars(select(BotState))) == []


async def test_card_calls_up_a_tickets_card_whose_buttons_work_and_refuses_others(
    bot: Harness, people: Any
) -> None:
    """/card: a ticket listed in a backlog digest (no card of its own) gets one on request."""
    code = await filed(bot)
    chat = bot.telegram.chats[STAFF_CHAT_ID]
    bot.telegram.message(people["staff"], f"/card {code}", chat=chat)
    bot.telegram.message(people["outsider"], f"/card {code}", chat=chat)
    bot.telegram.message(people["staff"], "/card", chat=chat)
    await bot.settle()
    sent = bot.telegram.sent(STAFF_CHAT_ID)
    assert [m["text"].split("\n")[0] for m in sent] == [
        f"【道路设施】{code}",
        f"【道路设施】{code}",
        "只有工作人员可以操作工单",
        texts.CARD_USAGE,
    ]
    bot.telegram.press(people["staff"], sent[1], "受理")
    await bot.settle()
    assert status_of(bot, code) is Status.ACCEPTED
    called_up = bot.telegram.bot_messages[(STAFF_CHAT_ID, sent[1]["message_id"])]
    assert "状态：已受理" in called_up["text"] and "李主任" in called_up["text"]
