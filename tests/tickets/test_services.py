"""Filing and handling tickets: every change is checked, logged and told to the resident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.tickets.factories import classified, file, person
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import IllegalTransition, InvalidInput, PermissionDenied, UnknownCategory
from tickets.models import LabelFeedback, OutboxItem, Ticket, TicketEvent
from tickets.statuses import HandlingMode, Role, Satisfaction, Source, Status


def outbox(session, chat_id: int) -> list[OutboxItem]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            select(OutboxItem).where(OutboxItem.chat_id == chat_id).order_by(OutboxItem.id)
        )
    )


def test_filing_gives_a_daily_code_redacts_pii_and_routes_by_place(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        resident = person(uow.session, tg=1001)
        ticket = file(
            uow.session,
            domain,
            "幸福花园3栋电梯又坏咗，我阿妈落唔到楼，电话13812345678",
            "elevator",
            locations=["幸福花园3栋"],
            reporter=resident,
        )
        uow.commit()
    with db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.code == "MW-20261123-0001"
        assert ticket.redacted_text == "幸福花园3栋电梯又坏咗，我阿妈落唔到楼，电话138****5678"
        assert ticket.original_text.endswith("13812345678")
        assert ticket.area.code == "YX-SG-XF-01"  # the grid whose gazetteer names 幸福花园
        assert ticket.unit.code == "YX-SG-XF"  # elevators go to the community
        assert ticket.status is Status.NEW
        assert ticket.handling_mode is HandlingMode.ONSITE
        assert ticket.location_text == "幸福花园3栋"
        assert [e.kind for e in ticket.events] == ["filed"]
        assert ticket.case is not None and ticket.case.report_count == 1


def test_codes_count_up_within_a_day_and_restart_the_next_day(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        codes = [
            file(uow.session, domain, f"东风路第{i}盏路灯唔着", "road_facility").code
            for i in (1, 2)
        ]
        clock.advance(days=1)
        codes.append(file(uow.session, domain, "东风路路灯又唔着", "road_facility").code)
        uow.commit()
    assert codes == ["MW-20261123-0001", "MW-20261123-0002", "MW-20261124-0001"]


def test_the_day_s_counters_are_taken_ticket_first_then_case(db: Database, domain: Domain) -> None:
    """Every transaction locks the day's counter rows in one order, so two workers filing batches
    cannot deadlock on them (one batch joined a case then opened one: ticket row, then case row; the
    other opened a case first: case row, then ticket row — PostgreSQL found the cycle 210 times in
    the 20,000-update cluster run)."""
    scopes: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "counters" in statement and isinstance(parameters, dict | tuple | list):
            values = parameters.values() if isinstance(parameters, dict) else parameters
            scopes.extend(v for v in values if v in ("ticket", "case"))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.unit_of_work() as uow:
            file(
                uow.session, domain, "幸福花园3栋电梯又坏咗", "elevator", locations=["幸福花园3栋"]
            )
            file(uow.session, domain, "康乐楼楼下垃圾堆咗三日", "sanitation", locations=["康乐楼"])
            uow.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert scopes == ["ticket", "case", "ticket", "case"]


def test_the_same_message_filed_twice_gives_one_ticket(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        first = file(
            uow.session,
            domain,
            "井盖冇咗",
            "road_facility",
            chat_id=-100,
            message_id=7,
            source=Source.GROUP,
        )
        again = file(
            uow.session,
            domain,
            "井盖冇咗",
            "road_facility",
            chat_id=-100,
            message_id=7,
            source=Source.GROUP,
        )
        uow.commit()
        assert again.id == first.id
        assert uow.session.scalar(select(func.count(Ticket.id))) == 1


def test_an_urgent_demand_is_immediate_due_in_hours_and_posted_to_staff_marked(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        ticket = file(
            uow.session,
            domain,
            "救命！康乐楼5栋电梯困住人，打我13812345678",
            "elevator",
            urgent=True,
            locations=["康乐楼5栋"],
        )
        uow.commit()
        assert ticket.handling_mode is HandlingMode.IMMEDIATE
        assert ticket.due_at == clock.now + timedelta(hours=domain.taxonomy.immediate_hours)
        [card] = outbox(uow.session, STAFF_CHAT_ID)
        assert card.kind == "staff_card_urgent"
        assert card.payload["text"].startswith("🔴 紧急 【电梯】")
        assert "康乐楼5栋" in card.payload["text"]
        assert "138****5678" in card.payload["text"] and "13812345678" not in card.payload["text"]


def test_working_day_time_limits_skip_the_weekend(
    db: Database, domain: Domain, clock: Clock
) -> None:
    clock.now = clock.now.replace(day=27)  # Friday 2026-11-27, 09:00 local
    with db.unit_of_work() as uow:
        ticket = file(uow.session, domain, "楼道垃圾三日冇人收", "sanitation")  # 3 working days
        uow.commit()
    assert ticket.due_at is not None
    assert (
        ticket.due_at.astimezone(domain.settings.timezone).strftime("%Y-%m-%d %H:%M")
        == "2026-12-02 09:00"
    )


@pytest.mark.parametrize(
    ("text", "limit", "message"),
    [("   ", 10_000, "不能为空"), ("长" * 10_001, 10_000, "过长")],
)
def test_empty_or_oversized_text_is_refused_and_nothing_is_filed(
    db: Database, domain: Domain, text: str, limit: int, message: str
) -> None:
    with db.unit_of_work() as uow:
        with pytest.raises(InvalidInput, match=message):
            file(uow.session, domain, text, "other")
        assert uow.session.scalar(select(func.count(Ticket.id))) == 0


def test_an_unknown_category_is_refused(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow, pytest.raises(UnknownCategory):
        services.file_ticket(
            session=uow.session,
            domain=domain,
            text="有问题",
            source=Source.WEB,
            classification=classified("parkng"),
        )


def test_the_full_life_of_a_ticket_is_in_its_events_and_told_to_the_resident(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=2002)
        staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain, name="陈主任")
        ticket = file(
            s,
            domain,
            "幸福花园东门口嘅路灯唔着",
            "road_facility",
            locations=["幸福花园东门"],
            reporter=resident,
        )
        services.accept(session=s, domain=domain, ticket=ticket, actor=staff)
        services.assign(
            session=s, domain=domain, ticket=ticket, unit=domain.units(s).get("YX-ZJ"), actor=staff
        )
        services.start(session=s, domain=domain, ticket=ticket, actor=staff)
        services.resolve(
            session=s, domain=domain, ticket=ticket, note="已更换灯泡，恢复照明", actor=staff
        )
        services.rate(
            session=s,
            domain=domain,
            ticket=ticket,
            satisfaction=Satisfaction.SATISFIED,
            resident=resident,
        )
        uow.commit()
        assert ticket.status is Status.CLOSED
        kinds = [e.kind for e in ticket.events]
        assert kinds == ["filed", "accept", "assign", "start", "resolve", "rated", "close"]
        assert all(e.at is not None for e in ticket.events)
        assert ticket.events[1].actor_id == staff.id
        messages = outbox(s, 2002)
        assert [m.kind for m in messages] == ["accepted", "assigned", "in_progress", "resolved"]
        assert "已更换灯泡" in messages[-1].payload["text"]
        buttons = messages[-1].payload["reply_markup"]["inline_keyboard"][0]
        assert [b["text"] for b in buttons] == ["满意", "基本满意", "不满意"]
        assert ticket.first_response_at == ticket.events[1].at


def test_dispatching_a_new_ticket_tells_the_resident_it_was_accepted_and_dispatched(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=2100)
        ticket = file(s, domain, "康乐苑门口嘅井盖松咗", "road_facility", reporter=resident)
        services.assign(
            session=s, domain=domain, ticket=ticket, unit=domain.units(s).get("YX-ZJ"), actor="测试"
        )
        uow.commit()
        assert [m.kind for m in outbox(s, 2100)] == ["accepted", "assigned"]
        assert "云溪区住房和城乡建设局" in outbox(s, 2100)[1].payload["text"]


def test_an_unsatisfied_rating_reopens_the_ticket(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=3003)
        ticket = file(s, domain, "大岭村市场门口积水成日唔退", "drainage", reporter=resident)
        services.accept(session=s, domain=domain, ticket=ticket, actor="测试")
        services.resolve(session=s, domain=domain, ticket=ticket, note="已疏通", actor="测试")
        services.rate(
            session=s,
            domain=domain,
            ticket=ticket,
            satisfaction=Satisfaction.UNSATISFIED,
            resident=resident,
            note="落雨又浸",
        )
        uow.commit()
        assert ticket.status is Status.REOPENED
        assert ticket.satisfaction is Satisfaction.UNSATISFIED
        assert ticket.events[-1].data["reason"] == "居民评价不满意：落雨又浸"
        # it goes back to work: it can be resolved again
        services.resolve(session=s, domain=domain, ticket=ticket, note="已加装排水管", actor="测试")
        assert ticket.status is Status.RESOLVED


@pytest.mark.parametrize(
    ("steps", "action"),
    [
        ([], "resolve_closed"),
        (["accept"], "accept"),
        (["reject"], "start"),
        (["accept", "resolve"], "merge"),
    ],
)
def test_an_illegal_transition_raises_and_changes_nothing(
    db: Database, domain: Domain, steps: list[str], action: str
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        ticket = file(s, domain, "新塘公园健身器材烂咗", "greening_space")
        other = file(s, domain, "新塘公园秋千断咗", "greening_space")
        for step in steps:
            if step == "accept":
                services.accept(session=s, domain=domain, ticket=ticket, actor="测试")
            elif step == "resolve":
                services.resolve(session=s, domain=domain, ticket=ticket, note="已修", actor="测试")
            elif step == "reject":
                services.reject(
                    session=s, domain=domain, ticket=ticket, reason="重复", actor="测试"
                )
        s.flush()
        before = (ticket.status, len(ticket.events), s.scalar(select(func.count(TicketEvent.id))))
        with pytest.raises(IllegalTransition, match=ticket.code):
            if action == "accept":
                services.accept(session=s, domain=domain, ticket=ticket, actor="测试")
            elif action == "start":
                services.start(session=s, domain=domain, ticket=ticket, actor="测试")
            elif action == "merge":
                services.merge(session=s, domain=domain, ticket=ticket, into=other, actor="测试")
            else:
                services.close(session=s, domain=domain, ticket=ticket, actor="测试")
        s.flush()
        assert (
            ticket.status,
            len(ticket.events),
            s.scalar(select(func.count(TicketEvent.id))),
        ) == before


def test_a_merged_tickets_reporter_still_hears_about_the_main_ticket(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        first, second = person(s, tg=4001), person(s, tg=4002)
        main = file(s, domain, "锦绣华庭2栋电梯异响好大声", "elevator", reporter=first)
        dup = file(s, domain, "锦绣华庭2栋部电梯响到好惊", "elevator", reporter=second)
        services.merge(session=s, domain=domain, ticket=dup, into=main, actor="测试")
        services.accept(session=s, domain=domain, ticket=main, actor="测试")
        services.resolve(session=s, domain=domain, ticket=main, note="已更换导靴", actor="测试")
        uow.commit()
        assert dup.status is Status.MERGED and dup.duplicate_of_id == main.id
        assert [m.kind for m in outbox(s, 4002)] == ["merged", "accepted", "resolved"]
        assert [m.kind for m in outbox(s, 4001)] == ["accepted", "resolved"]
        # the merged reporter may rate the main ticket
        services.rate(
            session=s, domain=domain, ticket=main, satisfaction=Satisfaction.BASIC, resident=second
        )
        assert main.status is Status.CLOSED


def test_reclassifying_reroutes_and_records_label_feedback(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.STREET_STAFF, unit="YX-SG", domain=domain)
        ticket = file(
            s, domain, "东风市场门口成日有货车乱停，堵住晒", "sanitation", locations=["东风市场"]
        )
        assert ticket.unit.code == "YX-SG-CG"  # sanitation → the street's urban-management team
        services.reclassify(
            session=s, domain=domain, ticket=ticket, category="parking", actor=staff
        )
        s.flush()
        s.refresh(ticket)
        assert ticket.category == "parking"
        assert ticket.unit.code == "YX-SG-DF"  # parking → the community of 东风市场
        feedback = s.scalars(select(LabelFeedback)).one()
        assert feedback.predicted["category"] == "sanitation"
        assert feedback.corrected == {"is_demand": True, "category": "parking", "urgent": False}
        assert ticket.events[-1].kind == "reclassified"


def test_rejecting_as_not_a_demand_is_label_feedback(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        ticket = file(s, domain, "明天上午2栋电梯维保，请大家错峰出行", "elevator")
        services.reject(
            session=s,
            domain=domain,
            ticket=ticket,
            reason="通知，不是诉求",
            actor="测试",
            not_demand=True,
        )
        feedback = s.scalars(select(LabelFeedback)).one()
        assert feedback.corrected["is_demand"] is False


def test_changing_the_handling_mode_recomputes_the_due_time(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        ticket = file(s, domain, "石岗路有条电线跌咗落地", "utilities")
        services.set_handling_mode(
            session=s, domain=domain, ticket=ticket, mode=HandlingMode.IMMEDIATE, actor="测试"
        )
        assert ticket.due_at == clock.now + timedelta(hours=domain.taxonomy.immediate_hours)
        assert ticket.events[-1].data == {"from": "coordinated", "to": "immediate"}


def test_staff_of_another_unit_cannot_act_and_nothing_changes(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        outsider = person(s, Role.COMMUNITY_STAFF, unit="YX-NL-DL", domain=domain)
        resident = person(s, tg=5005)
        ticket = file(
            s, domain, "幸福花园8栋楼道灯坏咗", "property_mgmt", locations=["幸福花园8栋"]
        )
        with pytest.raises(PermissionDenied):
            services.accept(session=s, domain=domain, ticket=ticket, actor=outsider)
        with pytest.raises(PermissionDenied):
            services.accept(session=s, domain=domain, ticket=ticket, actor=resident)
        assert ticket.status is Status.NEW
        assert [e.kind for e in ticket.events] == ["filed"]


def test_a_resident_adds_information_only_to_their_own_open_ticket(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        owner, stranger = person(s, tg=6001), person(s, tg=6002)
        ticket = file(s, domain, "湖景楼后面条渠好臭", "sanitation", reporter=owner)
        event = services.add_resident_info(
            session=s,
            domain=domain,
            ticket=ticket,
            text="补充：夜晚九点后最臭，电话13900001111",
            resident=owner,
        )
        assert event.data["text"] == "补充：夜晚九点后最臭，电话139****1111"
        with pytest.raises(LookupError):
            services.add_resident_info(
                session=s, domain=domain, ticket=ticket, text="我都係", resident=stranger
            )
