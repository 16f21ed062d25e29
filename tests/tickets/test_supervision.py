"""The supervision clock: warnings, 督办, urgent escalation, 跟踪办, 上门办, 公开办, 回访 and auto-close
happen at their times, once, from rows in the database, with an injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.tickets.factories import file, person
from tickets import clock as supervision_clock
from tickets import services
from tickets.clock import Duration, QuietHours, load_rules
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import ConfigError
from tickets.models import PLANNED_STATUS_SQL, DueItem, OutboxItem, TicketEvent, UnitChat
from tickets.settings import DATA_DIR
from tickets.statuses import HandlingMode, Role, Satisfaction, Status
from tickets.timelimits import WorkCalendar
from tickets.usecases import supervision

COMMUNITY_CHAT = -2001  # 幸福社区
STREET_CHAT = -2002  # 石岗街道
RESIDENT = 1001


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Guangzhou in November 2026, as UTC."""
    return (
        datetime(2026, 11, day, hour - 8, minute, tzinfo=UTC)
        if hour >= 8
        else datetime(2026, 11, day - 1, hour + 16, minute, tzinfo=UTC)
    )


def bind(session: Session, domain: Domain, unit: str, chat_id: int) -> None:
    session.add(UnitChat(unit_id=domain.units(session).get(unit).id, chat_id=chat_id, title=unit))
    session.flush()


def sent(session: Session, chat_id: int, kind_prefix: str = "") -> list[OutboxItem]:
    return [
        m
        for m in session.scalars(
            select(OutboxItem).where(OutboxItem.chat_id == chat_id).order_by(OutboxItem.id)
        )
        if m.kind.startswith(kind_prefix)
    ]


def run(db: Database, domain: Domain, clock: Clock, at: datetime) -> list[supervision.Step]:
    """Passes at ``at`` until one does nothing, as the bot's job and the command do."""
    clock.now = at
    steps: list[supervision.Step] = []
    while True:
        with db.unit_of_work() as uow:
            found = supervision.run_pass(uow.session, domain)
            uow.commit()
        if not found:
            return steps
        steps += found


def done(steps: list[supervision.Step]) -> list[tuple[str, str | None]]:
    """(kind, how long before the due time for a warning / whom for an escalation) of what was done."""

    def what(s: supervision.Step) -> str | None:
        if s.kind == "warn":
            return str(s.detail["before"])
        return s.detail.get("to") if s.kind in ("escalate", "urgent") else None

    return [(s.kind, what(s)) for s in steps if s.outcome == "done"]


def resolve(db: Database, domain: Domain, code: str) -> None:
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.get_ticket(uow.session, code)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=staff)
        services.resolve(
            session=uow.session, domain=domain, ticket=ticket, note="已修复", actor=staff
        )
        uow.commit()


@pytest.fixture
def elevator(db: Database, domain: Domain) -> str:
    """An elevator ticket at 幸福花园 filed Monday 09:00: the community handles it within 3 working
    days (due Thursday 09:00); the community and its street have work chats, the district has none."""
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG-XF", COMMUNITY_CHAT)
        bind(uow.session, domain, "YX-SG", STREET_CHAT)
        resident = person(uow.session, tg=RESIDENT)
        ticket = file(
            uow.session,
            domain,
            "幸福花园3栋电梯坏了三天",
            "elevator",
            locations=["幸福花园"],
            reporter=resident,
        )
        uow.commit()
        assert ticket.due_at == local(26, 9)
        return ticket.code


def test_the_card_goes_to_the_routed_units_work_chat(db: Database, elevator: str) -> None:
    with db.session() as session:
        cards = sent(session, COMMUNITY_CHAT, "staff_card")
        assert [c.payload["text"].splitlines()[0] for c in cards] == [f"【电梯】{elevator}"]
        assert sent(session, STAFF_CHAT_ID) == []


def test_warnings_then_escalations_follow_the_due_time(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    assert run(db, domain, clock, local(25, 8, 59)) == []
    assert done(run(db, domain, clock, local(25, 9))) == [("warn", "24h")]
    # 2 hours before is 07:00, inside quiet hours: a non-urgent ticket's warning waits until 08:00.
    held = run(db, domain, clock, local(26, 7))
    assert [(s.kind, s.outcome) for s in held] == [("warn", "held")]
    assert done(run(db, domain, clock, local(26, 8))) == [("warn", "2h")]
    assert done(run(db, domain, clock, local(26, 9))) == [("warn", "0")]
    assert done(run(db, domain, clock, local(26, 11))) == [("escalate", "YX-SG")]
    # The second period is one working day from the due time: Friday 09:00, to the district (no
    # work chat: the staff chat).
    assert done(run(db, domain, clock, local(27, 8, 59))) == []
    assert done(run(db, domain, clock, local(27, 9))) == [("escalate", "YX")]
    assert run(db, domain, clock, local(30, 12)) == []
    with db.session() as session:
        warnings = [m.payload["text"] for m in sent(session, COMMUNITY_CHAT, "clock_warn")]
        assert len(warnings) == 3
        assert "将在 24小时后到期" in warnings[0] and "已到办理时限" in warnings[2]
        street = sent(session, STREET_CHAT)
        assert len(street) == 1 and street[0].payload["text"].startswith(
            "🚨【督办·一级】已超过办理时限"
        )
        assert sent(session, STAFF_CHAT_ID)[0].payload["text"].startswith("🚨【督办·二级】")
        told = sent(session, COMMUNITY_CHAT, "clock_escalate")
        assert [m.payload["text"] for m in told] == [
            f"⚠️ 工单 {elevator}已超过办理时限，已报石岗街道督办。",
            f"⚠️ 工单 {elevator}已超过办理时限，已报云溪区督办。",
        ]
        ticket = services.get_ticket(session, elevator)
        assert ticket.escalation_level == 2 and ticket.escalated_to.code == "YX"
        assert [e.data["level"] for e in ticket.events if e.kind == "escalated"] == [1, 2]


def test_a_second_run_at_the_same_time_sends_nothing_again(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    first = run(db, domain, clock, local(26, 11))
    assert run(db, domain, clock, local(26, 11)) == []
    with db.session() as session:
        messages = session.scalar(select(func.count(OutboxItem.id)))
    assert run(db, domain, clock, local(26, 11, 1)) == []
    with db.session() as session:
        assert session.scalar(select(func.count(OutboxItem.id))) == messages
    assert first


def test_after_the_clock_was_down_stale_warnings_are_skipped(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    steps = run(db, domain, clock, local(26, 11, 30))
    # Even the warning at the due time is stale: the escalation two hours later is due too.
    assert [(s.kind, s.outcome) for s in steps] == [
        ("warn", "skipped"),
        ("warn", "skipped"),
        ("warn", "skipped"),
        ("escalate", "done"),
    ]


def test_a_pass_out_of_time_stops_after_one_batch_and_the_next_pass_goes_on(
    db: Database, domain: Domain, clock: Clock
) -> None:
    """A pass takes no further batch once its time is up (on SQLite a filing waits for it), but
    always does one: passes until one does nothing do every due item once."""
    extra = supervision.CLAIM_BATCH // 2
    with db.unit_of_work() as uow:
        for n in range(supervision.CLAIM_BATCH + extra):
            file(uow.session, domain, f"幸福花园{n % 9 + 1}栋电梯坏了", "elevator")
        uow.commit()
    clock.now = local(25, 9)  # each ticket's 24-hour warning is due

    def out_of_time() -> list[supervision.Step]:
        with db.unit_of_work() as uow:
            steps = supervision.run_pass(uow.session, domain, seconds=0)
            uow.commit()
        return steps

    passes = [out_of_time() for _ in range(3)]
    assert [len(p) for p in passes] == [supervision.CLAIM_BATCH, extra, 0]
    warned = [s.ticket for p in passes for s in p if (s.kind, s.outcome) == ("warn", "done")]
    assert len(warned) == len(set(warned)) == supervision.CLAIM_BATCH + extra


def test_finishing_the_ticket_cancels_what_was_planned(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.get_ticket(uow.session, elevator)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=staff)
        clock.advance(hours=5)
        services.resolve(
            session=uow.session, domain=domain, ticket=ticket, note="已更换主板", actor=staff
        )
        uow.commit()
    # No warning, no escalation: only the 回访 of the resolved ticket is left.
    assert done(run(db, domain, clock, local(27, 12))) == [("callback", None)]
    with db.session() as session:
        assert sent(session, COMMUNITY_CHAT, "clock_") == []
        statuses = session.execute(
            select(DueItem.kind, DueItem.status).where(DueItem.kind == "warn")
        ).all()
        assert statuses == [("warn", "cancelled")]


def test_an_unrated_ticket_is_called_back_then_closed(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    resolve(db, domain, elevator)
    # Resolved Monday 09:00: asked again Thursday 09:00, closed as 未评价 four days later.
    assert done(run(db, domain, clock, local(26, 8, 59))) == []
    assert done(run(db, domain, clock, local(26, 9))) == [("callback", None)]
    with db.session() as session:
        callback = sent(session, RESIDENT, "callback")
        assert len(callback) == 1
        assert "【民微回访】" in callback[0].payload["text"]
        assert "/p/" + elevator in callback[0].payload["text"]  # the signed progress link
        assert callback[0].payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
            f"rate:{elevator}:satisfied"
        )
    assert done(run(db, domain, clock, local(30, 8, 59))) == []
    assert done(run(db, domain, clock, local(30, 9))) == [("auto_close", None)]
    with db.session() as session:
        ticket = services.get_ticket(session, elevator)
        assert ticket.status is Status.CLOSED and ticket.satisfaction is None
        close = next(e for e in ticket.events if e.kind == "close")
        assert (close.actor_label, close.data["reason"]) == ("回访期满", "未评价")


def test_a_rating_after_the_callback_stops_the_auto_close(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    resolve(db, domain, elevator)
    run(db, domain, clock, local(26, 9))
    with db.unit_of_work() as uow:
        ticket = services.get_ticket(uow.session, elevator)
        services.rate(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            satisfaction=Satisfaction.BASIC,
            resident=ticket.reporter,
        )
        uow.commit()
    assert done(run(db, domain, clock, local(30, 10))) == []
    with db.session() as session:
        assert services.get_ticket(session, elevator).satisfaction is Satisfaction.BASIC


def test_callbacks_to_residents_wait_for_the_end_of_quiet_hours(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    clock.now = local(23, 22)
    resolve(db, domain, elevator)
    held = run(db, domain, clock, local(26, 22))
    assert [(s.kind, s.outcome, s.detail["until"]) for s in held] == [
        ("callback", "held", local(27, 8).isoformat())
    ]
    assert done(run(db, domain, clock, local(27, 7, 59))) == []
    assert done(run(db, domain, clock, local(27, 8))) == [("callback", None)]


def test_an_urgent_ticket_nobody_accepts_is_escalated_even_at_night(
    db: Database, domain: Domain, clock: Clock
) -> None:
    clock.now = local(23, 23)
    with db.unit_of_work() as uow:
        bind(uow.session, domain, "YX-SG", STREET_CHAT)
        ticket = file(
            uow.session,
            domain,
            "幸福花园2栋煤气好大阵味",
            "utilities",
            urgent=True,
            locations=["幸福花园"],
        )
        code = ticket.code
        uow.commit()
    # Urgent response limit: 1 hour; then again an hour later. Quiet hours never hold them.
    steps = run(db, domain, clock, local(24, 0, 0) + timedelta(minutes=0))
    assert done(steps) == [("urgent", "YX")]
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.STREET_STAFF, unit="YX-SG", domain=domain)
        services.accept(
            session=uow.session,
            domain=domain,
            ticket=services.get_ticket(uow.session, code),
            actor=staff,
        )
        uow.commit()
    assert [s for s in run(db, domain, clock, local(24, 2)) if s.kind == "urgent"] == []
    with db.session() as session:
        assert (
            sent(session, STAFF_CHAT_ID)[-1]
            .payload["text"]
            .startswith("🚨【督办·一级】紧急诉求未及时受理")
        )


def mark_urgent(db: Database, domain: Domain, code: str, urgent: bool = True) -> None:
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.get_ticket(uow.session, code)
        services.set_urgent(
            session=uow.session, domain=domain, ticket=ticket, urgent=urgent, actor=staff
        )
        uow.commit()


def urgent_steps(steps: list[supervision.Step]) -> list[tuple[str, int]]:
    return [(s.outcome, s.detail["level"]) for s in steps if s.kind == "urgent"]


def test_a_ticket_marked_urgent_after_filing_gets_the_urgent_clock_from_the_marking(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    clock.now = local(23, 10, 30)  # filed at 09:00, marked urgent an hour and a half later
    mark_urgent(db, domain, elevator)
    with db.session() as session:
        ticket = services.get_ticket(session, elevator)
        assert ticket.urgent_at == local(23, 10, 30)
        pending = session.scalars(
            select(DueItem).where(
                DueItem.ticket_id == ticket.id,
                DueItem.kind == "urgent",
                DueItem.status == "pending",
            )
        ).all()
        assert [(d.key.rsplit(":", 1)[-1], d.due_at) for d in pending] == [("1", local(23, 11, 30))]
    # Counted from the marking, not from filing (which would make it overdue at once).
    assert urgent_steps(run(db, domain, clock, local(23, 11, 29))) == []
    assert urgent_steps(run(db, domain, clock, local(23, 11, 30))) == [("done", 1)]
    with db.session() as session:
        assert (
            sent(session, STREET_CHAT)[-1]
            .payload["text"]
            .startswith("🚨【督办·一级】紧急诉求未及时受理")
        )


def test_unmarking_urgent_stops_the_urgent_clock_and_marking_again_starts_a_new_one(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    clock.now = local(23, 10)
    mark_urgent(db, domain, elevator)
    clock.now = local(23, 10, 20)
    mark_urgent(db, domain, elevator, urgent=False)
    assert urgent_steps(run(db, domain, clock, local(23, 12))) == []
    with db.session() as session:
        assert services.get_ticket(session, elevator).urgent_at is None
    clock.now = local(23, 13)
    mark_urgent(db, domain, elevator)
    assert urgent_steps(run(db, domain, clock, local(23, 13, 59))) == []
    assert urgent_steps(run(db, domain, clock, local(23, 14))) == [("done", 1)]


def test_tracked_tickets_ask_for_progress_and_pass_it_on(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.get_ticket(uow.session, elevator)
        services.set_handling_mode(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            mode=HandlingMode.TRACKED,
            actor=staff,
        )
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor=staff)
        uow.commit()
    # Accepted Monday 09:00; 跟踪办 asks every 2 working days: Wednesday 09:00.
    steps = run(db, domain, clock, local(25, 9))
    assert ("progress", None) in done(steps)
    with db.session() as session:
        request = sent(session, COMMUNITY_CHAT, "clock_progress")[0]
        assert request.payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
            f"t:progress:{elevator}"
        )
    with db.unit_of_work() as uow:
        member = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        clock.now = local(25, 15)
        services.add_note(
            session=uow.session,
            domain=domain,
            ticket=services.get_ticket(uow.session, elevator),
            text="配件已到，明天安装",
            actor=member,
            tell_resident=True,
        )
        uow.commit()
    # The note restarts the interval: the next request is Friday 15:00, not Friday 09:00.
    assert [s for s in run(db, domain, clock, local(27, 9, 30)) if s.kind == "progress"] == []
    assert ("progress", None) in done(run(db, domain, clock, local(27, 15)))
    with db.session() as session:
        assert "配件已到，明天安装" in sent(session, RESIDENT, "note")[0].payload["text"]


def test_a_visit_is_told_to_the_resident_and_reminded_to_the_unit(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.get_ticket(uow.session, elevator)
        services.set_visit(
            session=uow.session, domain=domain, ticket=ticket, at=local(25, 15), actor=staff
        )
        uow.commit()
    with db.session() as session:
        assert (
            "工作人员将于 11月25日 15:00 上门处理"
            in sent(session, RESIDENT, "visit")[0].payload["text"]
        )
    assert ("visit", None) in done(run(db, domain, clock, local(24, 15)))
    assert ("visit", None) in done(run(db, domain, clock, local(25, 14)))
    with db.session() as session:
        reminders = sent(session, COMMUNITY_CHAT, "clock_visit")
        assert len(reminders) == 2
        assert "约定 11月25日 15:00 上门，地点：幸福花园" in reminders[0].payload["text"]


def test_public_tickets_are_published_once_accepted(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        ticket = file(
            uow.session, domain, "翠湖小学门口交通好乱", "traffic", locations=["翠湖小学"]
        )
        code = ticket.code
        assert ticket.handling_mode is HandlingMode.PUBLIC
        uow.commit()
    assert [s for s in run(db, domain, clock, local(23, 10)) if s.kind == "publish"] == []
    with db.unit_of_work() as uow:
        admin = person(uow.session, Role.DISTRICT_ADMIN)
        services.accept(
            session=uow.session,
            domain=domain,
            ticket=services.get_ticket(uow.session, code),
            actor=admin,
        )
        uow.commit()
    assert ("publish", None) in done(run(db, domain, clock, local(23, 10, 1)))
    with db.session() as session:
        ticket = services.get_ticket(session, code)
        assert ticket.published_at == local(23, 10, 1)
        assert [e.kind for e in ticket.events][-1] == "published"


def test_changed_rules_replan_the_open_tickets(
    db: Database, domain: Domain, clock: Clock, elevator: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    text = (DATA_DIR / "supervision.yml").read_text(encoding="utf-8")
    changed = tmp_path / "supervision.yml"
    changed.write_text(text.replace("default: [24h, 2h, 0]", "default: [48h, 0]"), encoding="utf-8")
    domain.rules = load_rules(changed)
    steps = run(db, domain, clock, local(24, 9))
    assert done(steps) == [("warn", "48h")]
    with db.session() as session:
        assert services.get_ticket(session, elevator).clock_rules == domain.rules.digest
        assert (
            session.scalar(
                select(func.count()).where(
                    DueItem.status == "cancelled", DueItem.key.contains(":24h:")
                )
            )
            == 1
        )


def test_durations_count_working_days_from_the_calendar() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    calendar = WorkCalendar(holidays=frozenset({datetime(2026, 11, 25).date()}))
    friday = datetime(2026, 11, 20, 2, tzinfo=UTC)  # Friday 10:00 local
    assert Duration(2, "wd").after(friday, calendar, tz) == datetime(2026, 11, 24, 2, tzinfo=UTC)
    assert Duration(2, "wd").after(datetime(2026, 11, 24, 2, tzinfo=UTC), calendar, tz) == datetime(
        2026, 11, 27, 2, tzinfo=UTC
    )  # Wednesday is a holiday
    assert Duration(90, "m").before(friday, calendar, tz) == datetime(
        2026, 11, 20, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("start", "end", "at", "released"),
    [
        ("21:30", "08:00", "23:00", "next 08:00"),
        ("21:30", "08:00", "07:59", "08:00"),
        ("21:30", "08:00", "12:00", "12:00"),
        ("12:00", "14:00", "13:00", "14:00"),
    ],
)
def test_quiet_hours_hold_messages_until_they_end(
    start: str, end: str, at: str, released: str
) -> None:
    from datetime import time
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")

    def t(text: str) -> time:
        h, m = text.split(":")
        return time(int(h), int(m))

    quiet = QuietHours(t(start), t(end), staff=False)
    when = datetime(2026, 11, 23, *map(int, at.split(":")), tzinfo=tz)
    if released.startswith("next "):
        expected = datetime(2026, 11, 24, *map(int, released[5:].split(":")), tzinfo=tz)
    else:
        expected = datetime(2026, 11, 23, *map(int, released.split(":")), tzinfo=tz)
    assert quiet.release(when, tz) == expected


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("default: [24h, 2h, 0]", "default: [24x]"),
        ("  - after: 2h", "  - later: 2h"),
        ('  start: "21:30"', '  start: "25:30"'),
        ("  staff: true", "  staff: maybe"),
    ],
)
def test_bad_rules_are_refused_with_file_and_line(tmp_path, change: str, message: str) -> None:  # type: ignore[no-untyped-def]
    text = (DATA_DIR / "supervision.yml").read_text(encoding="utf-8")
    bad = tmp_path / "supervision.yml"
    bad.write_text(text.replace(change, message), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"supervision\.yml:\d+"):
        load_rules(bad)


def test_each_step_is_one_event_or_message(
    db: Database, domain: Domain, clock: Clock, elevator: str
) -> None:
    run(db, domain, clock, local(27, 12))
    with db.session() as session:
        kinds = session.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)).all()
        assert kinds == ["filed", "escalated", "escalated"]
        pending = select(func.count(DueItem.id)).where(
            DueItem.status == "pending", DueItem.ticket_id.is_not(None)
        )
        assert session.scalar(pending) == 0  # (the month's and quarter's 成绩单 are ticketless)
        assert supervision_clock.DueKind.WARN.label == "临期预警"


@pytest.mark.parametrize("planned_with", ["", "0000000000000000", "ffffffffffffffff"])
def test_a_ticket_planned_with_any_other_rules_is_planned_again(
    db: Database, domain: Domain, clock: Clock, elevator: str, planned_with: str
) -> None:
    """Digests sort below and above the current one (the pass reads the two ranges apart)."""
    with db.unit_of_work() as uow:
        services.get_ticket(uow.session, elevator).clock_rules = planned_with
        uow.commit()
    run(db, domain, clock, local(23, 9, 1))
    with db.session() as session:
        assert services.get_ticket(session, elevator).clock_rules == domain.rules.digest


def test_the_planned_tickets_index_names_every_status_that_holds_steps() -> None:
    planned = {s.value for s in Status if s.is_open} | {Status.RESOLVED.value}
    assert set(re.findall(r"'(\w+)'", PLANNED_STATUS_SQL)) == planned
