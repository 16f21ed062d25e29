"""Dispatch to the unit that owns the ticket: work chats with fallback up the tree, 派单 and 改派, 退单
with a reason (flagged for the level above after two), 协办, and group status lines."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.tickets.factories import classified, file, person
from tickets import commands, services, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import ChatBinding, DueItem, OutboxItem, Person, UnitChat
from tickets.statuses import Role, Source, Status
from tickets.usecases import groupstatus, supervision, unitchats
from tickets.usecases.groups import Thresholds, record_group_message

STREET_CHAT = -3001  # 石岗街道
COMMUNITY_CHAT = -3002  # 幸福社区
DEPT_CHAT = -3003  # 石岗街道城管执法队
GROUP_CHAT = -4001  # 幸福社区第一网格's grid group


def bind(session: Session, domain: Domain, unit: str, chat_id: int) -> None:
    session.add(UnitChat(unit_id=domain.units(session).get(unit).id, chat_id=chat_id, title=unit))
    session.flush()


def cards(session: Session, chat_id: int) -> list[str]:
    return [
        m.payload["text"]
        for m in session.scalars(
            select(OutboxItem)
            .where(OutboxItem.chat_id == chat_id, OutboxItem.kind.like("staff_card%"))
            .order_by(OutboxItem.id)
        )
    ]


def staff(session: Session, domain: Domain, unit: str, role: Role = Role.COMMUNITY_STAFF) -> Person:
    return person(session, role, unit=unit, domain=domain, name=f"{unit}工作人员")


@pytest.mark.parametrize(
    ("bound", "expected_chat"),
    [
        ({"YX-SG-XF": COMMUNITY_CHAT, "YX-SG": STREET_CHAT}, COMMUNITY_CHAT),
        ({"YX-SG": STREET_CHAT}, STREET_CHAT),  # the community has none: the street above
        ({}, STAFF_CHAT_ID),  # nobody has one: the staff chat
    ],
)
def test_a_card_goes_to_the_nearest_work_chat_up_the_tree(
    db: Database, domain: Domain, bound: dict[str, int], expected_chat: int
) -> None:
    with db.unit_of_work() as uow:
        for unit, chat in bound.items():
            bind(uow.session, domain, unit, chat)
        ticket = file(uow.session, domain, "幸福花园电梯坏了", "elevator", locations=["幸福花园"])
        assert ticket.unit.code == "YX-SG-XF"
        uow.commit()
    with db.session() as session:
        chats = session.scalars(
            select(OutboxItem.chat_id).where(OutboxItem.kind == "staff_card")
        ).all()
        assert chats == [expected_chat]


def test_a_dispatch_sends_the_card_to_the_new_units_chat_and_remembers_the_dispatcher(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG", STREET_CHAT)
        bind(uow.session, domain, "YX-SG-CG", DEPT_CHAT)
        ticket = file(uow.session, domain, "石岗路有人乱摆卖", "other", locations=["石岗路"])
        assert ticket.unit.code == "YX-SG"
        street = staff(uow.session, domain, "YX-SG", Role.STREET_STAFF)
        dept = domain.units(uow.session).get("YX-SG-CG")
        services.assign(session=uow.session, domain=domain, ticket=ticket, unit=dept, actor=street)
        uow.commit()
        assert ticket.dispatcher_id == domain.units(uow.session).get("YX-SG").id
        assert ticket.status is Status.ASSIGNED
    with db.session() as session:
        assert cards(session, DEPT_CHAT)[0].startswith("📌 派单至石岗街道城管执法队")


def test_a_send_back_returns_the_ticket_to_its_dispatcher_with_the_reason(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG", STREET_CHAT)
        bind(uow.session, domain, "YX-SG-CG", DEPT_CHAT)
        ticket = file(uow.session, domain, "石岗路有人乱摆卖", "other", locations=["石岗路"])
        street = staff(uow.session, domain, "YX-SG", Role.STREET_STAFF)
        dept_staff = staff(uow.session, domain, "YX-SG-CG", Role.STREET_STAFF)
        services.assign(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            unit=domain.units(uow.session).get("YX-SG-CG"),
            actor=street,
        )
        with pytest.raises(InvalidInput, match="退单原因"):
            commands.perform(uow.session, domain, ticket, commands.Command.SEND_BACK, dept_staff)
        said = commands.perform(
            uow.session,
            domain,
            ticket,
            commands.Command.SEND_BACK,
            dept_staff,
            commands.Args(reason="不属于本单位职责"),
        )
        uow.commit()
        assert said == "已退回石岗街道"
        assert (ticket.unit.code, ticket.status, ticket.sent_back_count) == (
            "YX-SG",
            Status.ACCEPTED,
            1,
        )
        back = next(e for e in ticket.events if e.kind == "send_back")
        assert back.data["reason"] == "不属于本单位职责" and back.data["to"] == "YX-SG"
        assert back.actor_id == dept_staff.id
    with db.session() as session:
        assert cards(session, STREET_CHAT)[-1].startswith(
            "↩️ 石岗街道城管执法队退单（第 1 次）：不属于本单位职责"
        )


def test_a_ticket_sent_back_twice_is_flagged_for_the_level_above(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG-XF", COMMUNITY_CHAT)
        ticket = file(uow.session, domain, "幸福花园电梯坏了", "elevator", locations=["幸福花园"])
        community = staff(uow.session, domain, "YX-SG-XF")
        street = staff(uow.session, domain, "YX-SG", Role.STREET_STAFF)
        # Routed by the system to the community: a send-back goes to the unit above, the street.
        services.send_back(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            reason="地址不在本辖区",
            actor=community,
        )
        assert ticket.unit.code == "YX-SG" and ticket.escalation_level == 0
        services.assign(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            unit=domain.units(uow.session).get("YX-SG-XF"),
            actor=street,
        )
        assign = [e for e in ticket.events if e.kind == "assign"][-1]
        assert assign.data["redispatch"] is True  # 改派
        services.send_back(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            reason="确实不归我们",
            actor=community,
        )
        uow.commit()
        assert ticket.sent_back_count == 2
        assert (ticket.escalation_level, ticket.escalated_to.code) == (1, "YX")
        flagged = next(e for e in ticket.events if e.kind == "escalated")
        assert flagged.data["reason"] == "sent_back"
    with db.session() as session:
        assert cards(session, STAFF_CHAT_ID)[-1].startswith("🚨【督办·一级】多次退单")


def test_nothing_above_the_district_to_send_back_to(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        ticket = file(uow.session, domain, "有个问题", "other")
        assert ticket.unit.code == "YX"
        admin = person(uow.session, Role.DISTRICT_ADMIN)
        with pytest.raises(InvalidInput, match="最上级单位"):
            services.send_back(
                session=uow.session, domain=domain, ticket=ticket, reason="不归我", actor=admin
            )


def test_helpers_see_note_and_finish_their_part_but_only_the_lead_resolves(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG-CG", DEPT_CHAT)
        ticket = file(
            uow.session, domain, "幸福花园物业乱收费", "property_mgmt", locations=["幸福花园"]
        )
        lead = staff(uow.session, domain, "YX-SG-XF")
        helper = staff(uow.session, domain, "YX-SG-CG", Role.STREET_STAFF)
        tree = domain.units(uow.session)
        from tickets import access

        assert not access.can_view(helper, ticket, tree)
        commands.perform(
            uow.session, domain, ticket, commands.Command.HELP, lead, commands.Args(unit="YX-SG-CG")
        )
        assert access.can_view(helper, ticket, tree) and not access.can_act(helper, ticket, tree)
        assert commands.allowed(ticket, helper_only=True) == [
            commands.Command.NOTE,
            commands.Command.HELPED,
        ]
        services.add_note(
            session=uow.session, domain=domain, ticket=ticket, text="已约谈物业", actor=helper
        )
        with pytest.raises(PermissionDenied):
            services.accept(session=uow.session, domain=domain, ticket=ticket, actor=helper)
        commands.perform(
            uow.session,
            domain,
            ticket,
            commands.Command.HELPED,
            helper,
            commands.Args(note="已责令退费"),
        )
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=lead)
        services.resolve(
            session=uow.session, domain=domain, ticket=ticket, note="已退费", actor=lead
        )
        uow.commit()
        assert ticket.helpers[0].done_at is not None and ticket.helpers[0].note == "已责令退费"
    with db.session() as session:
        helper_card = session.scalars(
            select(OutboxItem).where(OutboxItem.chat_id == DEPT_CHAT)
        ).first()
        assert helper_card is not None and helper_card.payload["text"].startswith(
            "🤝 请石岗街道城管执法队协办"
        )
        buttons = [
            b["callback_data"] for b in helper_card.payload["reply_markup"]["inline_keyboard"][0]
        ]
        assert buttons == [f"t:note:{ticket.code}", f"t:helped:{ticket.code}"]
        # Counted once, under the lead unit.
        period = stats.parse_period("today", domain.settings.timezone, clock())
        rows = stats.compute(
            session,
            period=period,
            tz=domain.settings.timezone,
            by="unit",
            response_limit_hours=24,
            urgent_response_limit_hours=1,
        )
        assert [(r.label, r.filed, r.done) for r in rows] == [("幸福社区（YX-SG-XF）", 1, 1)]


def test_unit_chats_are_bound_by_the_units_staff_and_never_in_a_grid_group(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        community = person(
            uow.session, Role.COMMUNITY_STAFF, tg=501, unit="YX-SG-XF", domain=domain
        )
        person(uow.session, Role.COMMUNITY_STAFF, tg=502, unit="YX-SG-DF", domain=domain)
        uow.session.add(
            ChatBinding(chat_id=GROUP_CHAT, grid_id=domain.units(uow.session).get("YX-SG-XF-01").id)
        )
        uow.session.flush()
        view = unitchats.bind(
            uow.session,
            domain,
            chat_id=COMMUNITY_CHAT,
            title="幸福社区工作群",
            unit_code="yx-sg-xf",
            telegram_user_id=501,
        )
        assert (view.unit_code, view.bound_by) == ("YX-SG-XF", "社区工作人员")
        with pytest.raises(PermissionDenied):
            unitchats.bind(
                uow.session,
                domain,
                chat_id=-5,
                title="",
                unit_code="YX-SG-XF",
                telegram_user_id=502,
            )
        with pytest.raises(InvalidInput, match="网格群"):
            unitchats.bind(
                uow.session,
                domain,
                chat_id=GROUP_CHAT,
                title="",
                unit_code="YX-SG-XF-01",
                telegram_user_id=501,
            )
        # A unit has one work chat: binding another replaces it.
        unitchats.bind(
            uow.session,
            domain,
            chat_id=-6,
            title="新群",
            unit_code="YX-SG-XF",
            telegram_user_id=501,
        )
        assert [v.chat_id for v in unitchats.listed(uow.session, domain, viewer=community)] == [-6]
        assert unitchats.unbind(uow.session, domain, chat_id=-6, telegram_user_id=501) == "幸福社区"
        assert unitchats.listed(uow.session, domain, viewer=community) == []


def test_every_notice_to_a_resident_carries_the_signed_progress_link(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        resident = person(uow.session, tg=1001)
        ticket = file(
            uow.session,
            domain,
            "幸福花园电梯坏了",
            "elevator",
            locations=["幸福花园"],
            reporter=resident,
        )
        admin = person(uow.session, Role.DISTRICT_ADMIN)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=admin)
        uow.commit()
    with db.session() as session:
        notice = session.scalars(select(OutboxItem).where(OutboxItem.chat_id == 1001)).one()
        link = domain.links.url(ticket.code)
        assert f"办理进度：{link}" in notice.payload["text"]
        assert domain.links.check(ticket.code, link.rsplit("k=", 1)[1])


def group_ticket(
    session: Session, domain: Domain, message_id: int, text: str = "幸福花园门口垃圾堆成山"
):  # type: ignore[no-untyped-def]
    reporter = person(session, tg=7000 + message_id)
    recorded = record_group_message(
        session,
        domain,
        text=text,
        result=classified("sanitation", locations=["幸福花园"], text=text),
        thresholds=Thresholds(file=0.8, review=0.4),
        source=Source.GROUP,
        chat_id=GROUP_CHAT,
        message_id=message_id,
        grid_id=domain.units(session).get("YX-SG-XF-01").id,
        reporter=reporter,
        origin_label="街坊",
    )
    assert recorded.ticket is not None
    return recorded.ticket


def test_group_status_lines_are_rate_limited_and_combined(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(
            ChatBinding(
                chat_id=GROUP_CHAT,
                grid_id=domain.units(uow.session).get("YX-SG-XF-01").id,
                reply_in_group=True,
            )
        )
        first = group_ticket(uow.session, domain, 1)
        assert groupstatus.tell(uow.session, domain, first, groupstatus.FILED)
        clock.advance(minutes=2)
        second = group_ticket(uow.session, domain, 2, "幸福花园路灯唔着")
        groupstatus.tell(uow.session, domain, second, groupstatus.FILED)
        third = group_ticket(uow.session, domain, 3, "幸福花园有老鼠")
        groupstatus.tell(uow.session, domain, third, groupstatus.FILED)
        uow.commit()
    with db.session() as session:
        lines = session.scalars(select(OutboxItem).where(OutboxItem.chat_id == GROUP_CHAT)).all()
        assert len(lines) == 1
        text = lines[0].payload["text"]
        assert text.startswith(
            f"【民微】📋 {first.code}（环境卫生）已登记，工作人员会跟进　进度：http"
        )
        assert "街坊" not in text and "垃圾" not in text  # de-identified: no name, no words
        waiting = session.scalars(
            select(DueItem).where(DueItem.chat_id == GROUP_CHAT, DueItem.status == "pending")
        ).all()
        assert [w.ticket_id for w in waiting] == [second.id, third.id]
    clock.advance(minutes=8)
    with db.unit_of_work() as uow:
        steps = supervision.run_pass(uow.session, domain)
        uow.commit()
    assert [(s.kind, s.detail["lines"]) for s in steps] == [("group_status", 2)]
    with db.session() as session:
        combined = session.scalars(
            select(OutboxItem).where(OutboxItem.chat_id == GROUP_CHAT).order_by(OutboxItem.id)
        ).all()[-1]
        assert combined.payload["text"].startswith("【民微】本群反映的问题有新进展：\n📋")
        assert second.code in combined.payload["text"] and third.code in combined.payload["text"]


def test_a_refused_private_notice_is_told_in_the_group_instead(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        uow.session.add(
            ChatBinding(chat_id=GROUP_CHAT, grid_id=domain.units(uow.session).get("YX-SG-XF-01").id)
        )
        ticket = group_ticket(uow.session, domain, 9)
        admin = person(uow.session, Role.DISTRICT_ADMIN)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=admin)
        notice = uow.session.scalars(select(OutboxItem).where(OutboxItem.kind == "accepted")).one()
        assert groupstatus.refused(uow.session, domain, [notice.id]) == 1
        assert (
            groupstatus.refused(uow.session, domain, [notice.id]) == 1
        )  # the same line: queued once
        uow.commit()
    with db.session() as session:
        told = session.scalars(select(OutboxItem).where(OutboxItem.chat_id == GROUP_CHAT)).all()
        assert [t.payload["text"].split("　")[0] for t in told] == [
            f"【民微】📋 {ticket.code}（环境卫生）已受理"
        ]
        assert (
            session.scalar(
                select(func.count(DueItem.id)).where(
                    DueItem.chat_id == GROUP_CHAT, DueItem.status == "pending"
                )
            )
            == 0
        )


def test_a_batch_tells_its_group_as_one_tell_per_ticket_would(db: Database, domain: Domain) -> None:
    """``tell_many`` (a group batch's status lines): the first line goes out now, the others wait
    for the group's next line, each ticket once, as with one ``tell`` per ticket."""
    with db.unit_of_work() as uow:
        uow.session.add(
            ChatBinding(
                chat_id=GROUP_CHAT,
                grid_id=domain.units(uow.session).get("YX-SG-XF-01").id,
                reply_in_group=True,
            )
        )
        tickets = [
            group_ticket(uow.session, domain, 1),
            group_ticket(uow.session, domain, 2, "幸福花园路灯唔着"),
            group_ticket(uow.session, domain, 3, "幸福花园有老鼠"),
        ]
        assert groupstatus.tell_many(uow.session, domain, tickets, groupstatus.FILED) == 3
        assert groupstatus.tell_many(uow.session, domain, tickets[:1], groupstatus.FILED) == 1
        uow.commit()
    with db.session() as session:
        sent = session.scalars(select(OutboxItem).where(OutboxItem.chat_id == GROUP_CHAT)).all()
        assert [s.payload["text"].split("（")[0] for s in sent] == [f"【民微】📋 {tickets[0].code}"]
        rows = session.execute(
            select(DueItem.ticket_id, DueItem.status)
            .where(DueItem.chat_id == GROUP_CHAT)
            .order_by(DueItem.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (tickets[0].id, "done"),
            (tickets[1].id, "pending"),
            (tickets[2].id, "pending"),
        ]
