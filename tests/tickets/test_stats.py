"""Statistics: each rate follows its written definition, per dimension, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import outbox, services, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.statuses import Satisfaction


def build_month(db: Database, domain: Domain, clock: Clock) -> None:
    """Four tickets with known outcomes (times in hours after filing):

    A elevator: responded 1h, resolved 20h (due 3 working days), rated 满意, told of both → on time
    B elevator: responded 30h (late), resolved after its due time, rated 不满意 → reopened (not done)
    C parking:  rejected at 2h (not a demand)
    D parking:  never responded; merged E into it (E is not counted)
    """
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=9001)
        start = clock.now
        a = file(s, domain, "幸福花园3栋电梯又坏咗", "elevator", reporter=resident)
        b = file(s, domain, "康乐楼电梯成日异响", "elevator", reporter=resident)
        c = file(s, domain, "东风市场门口乱停车", "parking")
        d = file(s, domain, "大岭村市场冇车位", "parking")
        e = file(s, domain, "大岭村市场真系冇车位", "parking")
        clock.now = start + timedelta(hours=1)
        services.accept(session=s, domain=domain, ticket=a, actor="测试")
        clock.now = start + timedelta(hours=2)
        services.reject(session=s, domain=domain, ticket=c, reason="不是诉求", actor="测试")
        services.merge(session=s, domain=domain, ticket=e, into=d, actor="测试")
        clock.now = start + timedelta(hours=20)
        services.resolve(session=s, domain=domain, ticket=a, note="已修好", actor="测试")
        services.rate(
            session=s,
            domain=domain,
            ticket=a,
            satisfaction=Satisfaction.SATISFIED,
            resident=resident,
        )
        clock.now = start + timedelta(hours=30)
        services.accept(session=s, domain=domain, ticket=b, actor="测试")
        clock.now = start + timedelta(days=10)
        services.resolve(session=s, domain=domain, ticket=b, note="已处理", actor="测试")
        services.rate(
            session=s,
            domain=domain,
            ticket=b,
            satisfaction=Satisfaction.UNSATISFIED,
            resident=resident,
        )
        s.flush()
        # The outbox runs on the wall clock (delivery), not on the injected business clock.
        for item in outbox.claim_due(s, limit=100):
            if item.ticket_id == a.id:
                outbox.mark_sent(s, item, message_id=1, now=clock.now)
        uow.commit()


def test_rates_follow_their_definitions(db: Database, domain: Domain, clock: Clock) -> None:
    build_month(db, domain, clock)
    period = stats.parse_period("2026-11", domain.settings.timezone, clock.now)
    with db.session() as session:
        [total] = stats.compute(session, period=period, tz=domain.settings.timezone)
    assert (total.filed, total.accepted, total.done) == (4, 3, 1)
    assert total.response_rate == pytest.approx(2 / 4)  # A (1h) and C (2h) within 24h
    assert total.completion_rate == pytest.approx(1 / 3)
    assert total.on_time_rate == pytest.approx(1.0)
    assert total.satisfaction_rate == pytest.approx(1 / 2)
    assert total.inform_rate == pytest.approx(1.0)  # A's reporter was told of acceptance and result
    assert total.mean_response_hours == pytest.approx((1 + 2 + 30) / 3)
    assert total.mean_resolution_hours == pytest.approx(20)


def test_an_urgent_ticket_marked_later_is_on_time_counted_from_the_marking(
    db: Database, domain: Domain, clock: Clock
) -> None:
    """Urgent limit 1 hour: filed, marked urgent 5 hours later and accepted 30 minutes after that is
    on time; marked at 5 h and accepted at 6.5 h is late. Mean response still counts from filing."""
    with db.unit_of_work() as uow:
        s = uow.session
        start = clock.now
        quick = file(s, domain, "幸福花园3栋电梯停咗", "elevator")
        slow = file(s, domain, "康乐楼电梯停咗", "elevator")
        clock.now = start + timedelta(hours=5)
        for ticket in (quick, slow):
            services.set_urgent(session=s, domain=domain, ticket=ticket, urgent=True, actor="测试")
        clock.now = start + timedelta(hours=5, minutes=30)
        services.accept(session=s, domain=domain, ticket=quick, actor="测试")
        clock.now = start + timedelta(hours=6, minutes=30)
        services.accept(session=s, domain=domain, ticket=slow, actor="测试")
        uow.commit()
    period = stats.parse_period("2026-11", domain.settings.timezone, clock.now)
    with db.session() as session:
        [total] = stats.compute(
            session, period=period, tz=domain.settings.timezone, urgent_response_limit_hours=1
        )
    assert total.response_rate == pytest.approx(1 / 2)
    assert total.mean_response_hours == pytest.approx((5.5 + 6.5) / 2)


def test_figures_group_by_category_and_day(db: Database, domain: Domain, clock: Clock) -> None:
    build_month(db, domain, clock)
    period = stats.parse_period("2026-11", domain.settings.timezone, clock.now)
    with db.session() as session:
        by_category = {
            r.key: r
            for r in stats.compute(
                session, period=period, by="category", tz=domain.settings.timezone
            )
        }
        by_day = stats.compute(session, period=period, by="day", tz=domain.settings.timezone)
        by_unit = stats.compute(session, period=period, by="unit", tz=domain.settings.timezone)
    assert by_category["elevator"].filed == 2 and by_category["parking"].filed == 2
    assert by_category["parking"].accepted == 1
    assert [(r.key, r.filed) for r in by_day] == [("2026-11-23", 4)]
    assert sum(r.filed for r in by_unit) == 4
    assert all("（" in r.label for r in by_unit if r.key)


def test_hotspots_are_the_cases_with_most_reports(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        for text in ("幸福花园3栋电梯又坏咗", "幸福花园3栋电梯坏咗三日", "幸福花园3栋电梯又停咗"):
            file(s, domain, text, "elevator", locations=["幸福花园3栋"])
        file(s, domain, "东风路有个坑", "road_facility", locations=["东风路"])
        uow.commit()
    period = stats.parse_period("week", domain.settings.timezone, clock.now)
    with db.session() as session:
        spots = stats.hotspots(session, period=period)
    assert [(h.category, h.reports) for h in spots] == [("elevator", 3), ("road_facility", 1)]


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("today", "2026-11-23", "2026-11-24"),
        ("2026-11", "2026-11-01", "2026-12-01"),
        ("2026-12", "2026-12-01", "2027-01-01"),
        ("2026-11-01..2026-11-03", "2026-11-01", "2026-11-04"),
        ("7d", "2026-11-17", "2026-11-24"),
    ],
)
def test_periods_are_local_days(clock: Clock, spec: str, start: str, end: str) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    period = stats.parse_period(spec, tz, clock.now)
    assert period.start.astimezone(tz).strftime("%Y-%m-%d %H:%M") == f"{start} 00:00"
    assert period.end.astimezone(tz).strftime("%Y-%m-%d") == end


@pytest.mark.parametrize("spec", ["lastyear", "2026-13", "2026-11-05..2026-11-01"])
def test_a_bad_period_is_a_clear_error(clock: Clock, spec: str) -> None:
    from zoneinfo import ZoneInfo

    with pytest.raises(InvalidInput):
        stats.parse_period(spec, ZoneInfo("Asia/Shanghai"), clock.now)
