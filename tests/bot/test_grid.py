"""Grid groups and grid members: binding, silent filing of what the group says, forwards, the digest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot import texts
from tests.bot.conftest import CHATTER, Harness, demand
from tests.conftest import STAFF_CHAT_ID
from tests.support.rasa import RasaStack
from tickets.models import ChatBinding, InboxItem, LabelFeedback, Person, ReviewItem, Ticket
from tickets.statuses import Role, Source, Status

GROUP = -100200300
GRID_MEMBER, NEIGHBOUR, OTHER_NEIGHBOUR = 801, 802, 803


@pytest.fixture
def grid(bot: Harness) -> dict[str, Any]:
    bot.person(Role.GRID_MEMBER, GRID_MEMBER, unit="YX-SG-XF-01", name="小李")
    return {
        "member": bot.telegram.user(GRID_MEMBER, "网格员小李"),
        "neighbour": bot.telegram.user(NEIGHBOUR, "黄伯", "wongbak"),
        "other": bot.telegram.user(OTHER_NEIGHBOUR, "阿珍"),
        "chat": bot.telegram.group(GROUP, "幸福花园业主群"),
    }


async def bound(bot: Harness, grid: dict[str, Any], *args: str) -> None:
    bot.telegram.message(
        grid["member"], " ".join(["/bind", "YX-SG-XF-01", *args]), chat=grid["chat"]
    )
    await bot.settle()


async def test_a_grid_member_binds_the_group_and_others_cannot(
    bot: Harness, grid: dict[str, Any]
) -> None:
    bot.telegram.message(grid["neighbour"], "/bind YX-SG-XF-01", chat=grid["chat"])
    await bot.settle()
    assert bot.telegram.texts(GROUP) == ["只有工作人员可以操作工单"]
    await bound(bot, grid)
    assert "幸福社区第一网格" in bot.telegram.texts(GROUP)[-1]
    assert "/setprivacy" in bot.telegram.texts(GROUP)[-1]
    with bot.db.session() as s:
        binding = s.scalars(select(ChatBinding)).one()
        assert (binding.chat_id, binding.title, binding.reply_in_group) == (
            GROUP,
            "幸福花园业主群",
            False,
        )


async def test_being_added_to_a_group_says_how_to_bind(bot: Harness, grid: dict[str, Any]) -> None:
    bot.telegram.add_bot_to(grid["member"], grid["chat"])
    await bot.settle()
    assert bot.telegram.texts(GROUP) == [texts.ADDED_TO_GROUP]


async def test_demands_in_a_bound_group_are_filed_silently_unsure_ones_reviewed_chatter_dropped(
    bot: Harness, grid: dict[str, Any]
) -> None:
    await bound(bot, grid)
    said = {
        "早晨！今日好天": CHATTER,
        "北门嗰度垃圾堆咗三日，好臭": demand("sanitation", text="北门嗰度垃圾堆咗三日，好臭"),
        "幸福花园3栋电梯又坏咗": demand(
            "elevator", locations=["幸福花园3栋"], text="幸福花园3栋电梯又坏咗"
        ),
        "有冇人觉得楼下好嘈": demand("noise", confidence=0.55),
    }
    bot.classifier.table.update(said)
    sent = {text: bot.telegram.message(grid["neighbour"], text, chat=grid["chat"]) for text in said}
    await bot.settle()
    assert len(bot.telegram.texts(GROUP)) == 1  # only the /bind answer: the bot says nothing
    with bot.db.session() as s:
        tickets = {t.original_text: t for t in s.scalars(select(Ticket))}
        assert set(tickets) == {"北门嗰度垃圾堆咗三日，好臭", "幸福花园3栋电梯又坏咗"}
        lift = tickets["幸福花园3栋电梯又坏咗"]
        assert (lift.source, lift.chat_id, lift.message_id) == (
            Source.GROUP,
            GROUP,
            sent["幸福花园3栋电梯又坏咗"]["message_id"],
        )
        assert lift.area is not None and lift.area.code == "YX-SG-XF-01"
        reporter = s.get(Person, lift.reporter_id)
        assert reporter is not None and reporter.telegram_user_id == NEIGHBOUR
        review = s.scalars(select(ReviewItem)).one()
        assert (review.text, review.area_id, review.status) == (
            "有冇人觉得楼下好嘈",
            lift.area_id,
            "pending",
        )
    cards = bot.telegram.texts(STAFF_CHAT_ID)
    assert len(cards) == 2 and all("来源：网格群" in c for c in cards)


async def test_the_group_can_ask_for_replies(bot: Harness, grid: dict[str, Any]) -> None:
    await bound(bot, grid, "reply")
    bot.classifier.table["东门个井盖冇咗"] = demand("road_facility")
    bot.telegram.message(grid["other"], "东门个井盖冇咗", chat=grid["chat"])
    await bot.settle()
    line = bot.telegram.sent(GROUP)[-1]["text"]
    # One short line with no name and none of the words said, and the public progress link.
    assert (
        line.startswith("【民微】📋 MW-")
        and "（道路设施）已登记，工作人员会跟进　进度：http" in line
    )
    assert "井盖" not in line


async def test_a_group_reporter_who_cannot_get_private_messages_is_told_in_the_group(
    bot: Harness, grid: dict[str, Any]
) -> None:
    """The neighbour never started the bot: Telegram refuses the private notice (403), so the group
    gets one de-identified status line with the public progress link instead."""
    await bound(bot, grid)  # replies off: filing says nothing in the group
    bot.classifier.table["东门个井盖冇咗"] = demand("road_facility")
    bot.telegram.blocked.add(OTHER_NEIGHBOUR)
    bot.telegram.message(grid["other"], "东门个井盖冇咗", chat=grid["chat"])
    await bot.settle()
    before = len(bot.telegram.sent(GROUP))
    staff = bot.person(Role.COMMUNITY_STAFF, 901, unit="YX-SG-XF", name="幸福社区小李")
    with bot.db.unit_of_work() as uow:
        from tickets import services

        ticket = uow.session.scalars(select(Ticket)).one()
        services.accept(
            session=uow.session,
            domain=bot.domain,
            ticket=ticket,
            actor=uow.session.get(Person, staff.id),
        )
        code = ticket.code
        uow.commit()
    await bot.settle()
    line = await bot.message(GROUP, code, after=before)
    assert "已受理" in line["text"] and "进度：http" in line["text"]
    assert "井盖" not in line["text"] and "阿珍" not in line["text"]
    assert bot.telegram.texts(OTHER_NEIGHBOUR) == []  # nothing reached the private chat
    await bot.settle()
    assert len([t for t in bot.telegram.texts(GROUP) if code in t]) == 1  # told once


async def test_an_unbound_group_is_not_read(bot: Harness, grid: dict[str, Any]) -> None:
    bot.classifier.table["东门个井盖冇咗"] = demand("road_facility")
    bot.telegram.message(grid["other"], "东门个井盖冇咗", chat=grid["chat"])
    await bot.settle()
    assert bot.classifier.calls == []
    with bot.db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 0


async def test_an_edited_group_message_that_became_a_demand_is_filed_once(
    bot: Harness, grid: dict[str, Any]
) -> None:
    await bound(bot, grid)
    bot.classifier.table["6栋天台道门锁死咗，消防通道过唔到"] = demand("public_safety")
    message = bot.telegram.message(grid["other"], "6栋天台", chat=grid["chat"])
    bot.telegram.edit(message, "6栋天台道门锁死咗，消防通道过唔到")
    bot.telegram.edit(message, "6栋天台道门锁死咗，消防通道过唔到")
    await bot.settle()
    with bot.db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 1


async def test_a_burst_of_forwards_is_filed_for_the_original_senders_and_shown_with_buttons(
    bot: Harness, grid: dict[str, Any]
) -> None:
    lift = "3栋电梯又困人啦，快啲嚟"
    lamp = "北门路灯唔着一个礼拜"
    bot.classifier.table.update(
        {
            lift: demand("elevator", urgent=True, locations=["3栋"], text=lift),
            lamp: demand("road_facility", locations=["北门"], text=lamp),
        }
    )
    member = grid["member"]
    bot.telegram.forward(member, lift, grid["neighbour"])
    bot.telegram.forward(member, lamp, {"type": "hidden_user", "sender_user_name": "隐藏的街坊"})
    bot.telegram.forward(member, "多谢晒大家", grid["other"])
    await bot.settle()
    summary = await bot.message(GRID_MEMBER, "收到 3 条转发消息")
    assert "登记了 2 张工单" in summary["text"] and "1 条看起来不是诉求" in summary["text"]
    results = bot.telegram.sent(GRID_MEMBER)[1:]
    assert [r["text"].splitlines()[1] for r in results] == ["反映人：黄伯", "反映人：隐藏的街坊"]
    assert results[0]["text"].startswith("🔴 紧急")
    labels = [b["text"] for b in results[0]["reply_markup"]["inline_keyboard"][0]]
    assert labels == ["✓ 确认", "改类别", "不是诉求"]
    with bot.db.session() as s:
        tickets = {t.original_text: t for t in s.scalars(select(Ticket))}
        by_lift, by_lamp = tickets[lift], tickets[lamp]
        assert by_lift.source is Source.FORWARD
        assert s.get(Person, by_lift.reporter_id).telegram_user_id == NEIGHBOUR  # type: ignore[union-attr]
        assert s.get(Person, by_lift.forwarder_id).telegram_user_id == GRID_MEMBER  # type: ignore[union-attr]
        assert (by_lamp.reporter_id, by_lamp.origin_label) == (None, "隐藏的街坊")
        assert by_lamp.area is not None and by_lamp.area.code == "YX-SG-XF-01"  # the member's grid
    assert len(bot.classifier.calls) == 1  # one burst, one classification


async def test_a_neighbours_message_in_fragments_is_one_demand(
    bot: Harness, grid: dict[str, Any]
) -> None:
    whole = "5栋天台\n有条水管爆咗\n水一直流落楼梯"
    bot.classifier.table[whole] = demand("drainage")
    for part in whole.split("\n"):
        bot.telegram.forward(grid["member"], part, grid["neighbour"], date=1_700_000_000)
    await bot.settle()
    await bot.message(GRID_MEMBER, "收到 3 条转发消息，登记了 1 张工单")
    with bot.db.session() as s:
        assert s.scalars(select(Ticket.original_text)).one() == whole


async def test_the_grid_members_corrections_change_the_ticket_and_are_stored_as_labels(
    bot: Harness, grid: dict[str, Any]
) -> None:
    texts_ = ["3栋电梯又困人啦", "北门路灯唔着", "楼下士多今日大减价"]
    bot.classifier.table.update(
        {t: demand("elevator" if i == 0 else "road_facility") for i, t in enumerate(texts_)}
    )
    for t in texts_:
        bot.telegram.forward(
            grid["member"], t, grid["neighbour"], date=1_700_000_000 + 1000 * texts_.index(t)
        )
    await bot.settle()
    await bot.message(GRID_MEMBER, "登记了 3 张工单")
    ok, wrong, not_demand = bot.telegram.sent(GRID_MEMBER)[1:]
    member = grid["member"]
    bot.telegram.press(member, ok, "✓ 确认")
    bot.telegram.press(member, wrong, "改类别")
    await bot.settle()
    bot.telegram.press(member, wrong, "物业管理")
    bot.telegram.press(member, not_demand, "不是诉求")
    await bot.settle()
    assert bot.telegram.sent(GRID_MEMBER)[1]["text"].endswith("✓ 已确认")
    assert bot.telegram.sent(GRID_MEMBER)[2]["text"].endswith("✓ 已改为「物业管理」")
    assert bot.telegram.sent(GRID_MEMBER)[3]["text"].endswith("✗ 已标记为不是诉求，工单已撤销")
    with bot.db.session() as s:
        tickets = {t.original_text: t for t in s.scalars(select(Ticket))}
        assert tickets["北门路灯唔着"].category == "property_mgmt"
        assert tickets["楼下士多今日大减价"].status is Status.REJECTED
        labels = {
            (f.text, f.corrected["is_demand"], f.corrected["category"], f.source)
            for f in s.scalars(select(LabelFeedback))
        }
    cards = {c["text"].splitlines()[-2]: c for c in bot.telegram.sent(STAFF_CHAT_ID)}
    rejected = cards["内容：楼下士多今日大减价"]
    assert "状态：不予受理" in rejected["text"] and "reply_markup" not in rejected
    assert "网格员小李" in rejected["text"]
    assert labels == {
        ("3栋电梯又困人啦", True, "elevator", "grid_member"),
        ("北门路灯唔着", True, "property_mgmt", "grid_member"),
        ("楼下士多今日大减价", False, None, "grid_member"),
    }


async def test_a_residents_forward_is_just_a_message(
    bot: Harness, grid: dict[str, Any], rasa: RasaStack
) -> None:
    bot.telegram.forward(grid["other"], "幸福花园3栋电梯又坏咗", grid["neighbour"])
    await bot.settle(timeout=60)
    assert rasa.said(f"tg:{OTHER_NEIGHBOUR}") == ["幸福花园3栋电梯又坏咗"]
    assert bot.telegram.texts(OTHER_NEIGHBOUR)[-1].startswith("您反映的是：")


async def test_digest_shows_the_grids_open_tickets_and_hotspots(
    bot: Harness, grid: dict[str, Any]
) -> None:
    await bound(bot, grid)
    for n in range(3):
        text = f"幸福花园3栋电梯又坏咗，第{n + 1}次"
        bot.classifier.table[text] = demand("elevator", locations=["幸福花园3栋"], text=text)
        bot.telegram.message(grid["neighbour"], text, chat=grid["chat"])
    await bot.settle()
    bot.telegram.message(grid["member"], "/digest", chat=grid["chat"])
    await bot.settle()
    digest = bot.telegram.texts(GROUP)[-1]
    assert digest.startswith("📋 幸福社区第一网格：未办结工单 3 张")
    assert "待受理 3" in digest and "热点" in digest and "（3 次）" in digest


@pytest.mark.parametrize(
    ("origin", "label"),
    [
        (
            {
                "type": "channel",
                "chat": {"id": -100900, "type": "channel", "title": "石岗街道发布"},
                "message_id": 3,
                "author_signature": "小编",
            },
            "石岗街道发布（小编）",
        ),
        (
            {
                "type": "chat",
                "sender_chat": {"id": -100901, "type": "supergroup", "title": "康乐苑业主群"},
            },
            "康乐苑业主群",
        ),
    ],
    ids=["channel", "chat"],
)
async def test_a_forward_from_a_channel_or_group_is_filed_under_its_name(
    bot: Harness, grid: dict[str, Any], origin: dict[str, Any], label: str
) -> None:
    bot.classifier.table["康乐苑2座天台水箱漏水，漏到走廊"] = demand("drainage")
    bot.telegram.forward(grid["member"], "康乐苑2座天台水箱漏水，漏到走廊", origin)
    await bot.settle()
    await bot.message(GRID_MEMBER, f"反映人：{label}")
    with bot.db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.reporter_id, ticket.origin_label, ticket.source) == (
            None,
            label,
            Source.FORWARD,
        )


async def test_one_bad_message_does_not_lose_the_rest_of_its_batch(
    bot: Harness, grid: dict[str, Any]
) -> None:
    """An over-long demand and a message with a NUL byte arrive with 15 ordinary demands: the 15 are
    filed, the over-long one waits in review whole, the NUL is cleaned away, the group hears nothing
    and no update is lost."""
    await bound(bot, grid)
    ordinary = [f"{n}栋楼道灯坏咗成个礼拜" for n in range(1, 16)]
    long_text = "幸福花园北门垃圾堆成山，" * 1_000  # 12,000 characters
    with_nul = "有冇人觉得\x00楼下好嘈"
    bot.classifier.table.update({t: demand("property_mgmt", text=t) for t in ordinary})
    bot.classifier.table[long_text] = demand("sanitation")
    bot.classifier.table["有冇人觉得楼下好嘈"] = demand("noise", confidence=0.55)
    for text in [*ordinary[:7], long_text, with_nul, *ordinary[7:]]:
        bot.telegram.message(grid["neighbour"], text, chat=grid["chat"])
    await bot.settle()
    assert len(bot.telegram.texts(GROUP)) == 1  # only the /bind answer
    with bot.db.session() as s:
        assert sorted(s.scalars(select(Ticket.original_text))) == sorted(ordinary)
        reviews = {r.reason: r for r in s.scalars(select(ReviewItem))}
        assert set(reviews) == {"too_long", "low_confidence"}
        assert reviews["too_long"].text == long_text
        assert reviews["low_confidence"].text == "有冇人觉得楼下好嘈"
        statuses = s.scalars(select(InboxItem.status)).all()
        assert set(statuses) == {"done"}
