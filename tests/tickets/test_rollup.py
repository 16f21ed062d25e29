"""The daily rollup gives exactly the figures of the live computation, however the tickets change.

Each check computes every dimension, scope and period twice — from the rollup (past days) plus the
tickets (today), and from the tickets alone — and asserts the results are equal, field by field.
Tickets are filed on both sides of local midnights (Asia/Shanghai) and then accepted, dispatched,
resolved, rated, rejected, merged, reopened, reclassified, re-flagged, notified and unlinked from
Telegram after their days were built, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement, false, func, or_, select, update

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import outbox, rollup, services, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, StatsDay, StatsDirty, Ticket
from tickets.statuses import HandlingMode, Satisfaction

TZ = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Guangzhou, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def scopes(db: Database, domain: Domain) -> dict[str, ColumnElement[bool] | None]:
    with db.session() as s:
        tree = domain.units(s)
        community = sorted(tree.subtree_ids(tree.get("YX-SG-XF")))
        grid = sorted(tree.subtree_ids(tree.get("YX-NL-DL-01")))
    return {
        "district": None,
        "community": or_(Ticket.unit_id.in_(community), Ticket.area_id.in_(community)),
        "grid": or_(Ticket.unit_id.in_(grid), Ticket.area_id.in_(grid)),
        "nobody": false(),
    }


def periods(now: datetime) -> list[stats.Period]:
    found = [stats.parse_period(spec, TZ, now) for spec in ("30d", "week", "2026-11", "today")]
    found.append(stats.parse_period("2026-11-16..2026-11-18", TZ, now))
    # Boundaries inside days: the partial days are read from the tickets.
    found.append(stats.Period(local(16, 12), local(19, 6, 30), "partial"))
    return found


def assert_rollup_matches_live(db: Database, domain: Domain, now: datetime) -> None:
    for name, scope in scopes(db, domain).items():
        for period in periods(now):
            for by in stats.DIMENSIONS:
                with db.session() as s:
                    fast = stats.compute(s, period=period, by=by, tz=TZ, scope=scope, now=now)
                    live = stats.compute(
                        s, period=period, by=by, tz=TZ, scope=scope, now=now, use_rollup=False
                    )
                assert fast == live, (name, period.label, by)
            with db.session() as s:  # the dashboard's call: two dimensions and the trend at once
                both = {"dims": ("category", "unit"), "trend": True, "tz": TZ, "scope": scope}
                fast_board = stats.breakdown(s, period=period, now=now, **both)
                live_board = stats.breakdown(s, period=period, now=now, use_rollup=False, **both)
            assert fast_board == live_board, (name, period.label)
            with db.session() as s:
                args = {"start": period.start, "end": period.end, "tz": TZ, "scope": scope}
                fast_trend = stats.daily_trend(s, now=now, **args)
                live_trend = stats.daily_trend(s, now=now, use_rollup=False, **args)
                fast_spots = stats.hotspots(s, period=period, scope=scope)
                live_spots = stats.hotspots(s, period=period, scope=scope, use_index=False)
            assert fast_trend == live_trend, (name, period.label)
            assert fast_spots == live_spots, (name, period.label)


def built_days(db: Database) -> list[str]:
    with db.session() as s:
        return [d.isoformat() for d in s.scalars(select(StatsDay.day).order_by(StatsDay.day))]


def deliver_all(db: Database, now: datetime) -> None:
    with db.unit_of_work() as uow:
        for item in outbox.claim_due(uow.session, limit=1000, now=now):
            outbox.mark_sent(uow.session, item, message_id=1, now=now)
        uow.commit()


def test_the_rollup_gives_the_live_figures_as_tickets_change(
    db: Database, domain: Domain, clock: Clock
) -> None:
    codes: dict[str, str] = {}

    def at(moment: datetime) -> None:
        clock.now = moment

    def act(fn: str, code: str, **kwargs: object) -> None:
        with db.unit_of_work() as uow:
            ticket = services.get_ticket(uow.session, codes[code])
            getattr(services, fn)(session=uow.session, domain=domain, ticket=ticket, **kwargs)
            uow.commit()

    def rate(code: str, satisfaction: Satisfaction) -> None:
        with db.unit_of_work() as uow:
            ticket = services.get_ticket(uow.session, codes[code])
            resident = uow.session.get(Person, ticket.reporter_id)
            services.rate(
                session=uow.session,
                domain=domain,
                ticket=ticket,
                satisfaction=satisfaction,
                resident=resident,
            )
            uow.commit()

    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=7001, name="甲")
        other = person(s, tg=7002, name="乙")
        at(local(16, 23, 50))  # ten minutes before midnight
        codes["a"] = file(s, domain, "幸福花园3栋电梯又坏咗", "elevator", reporter=resident).code
        codes["b"] = file(s, domain, "东风市场门口乱停车", "parking", reporter=other).code
        at(local(17, 0, 10))  # ten minutes after
        codes["c"] = file(
            s, domain, "大岭村有人晕倒", "health", urgent=True, locations=["大岭村"]
        ).code
        codes["d"] = file(s, domain, "幸福花园3栋电梯成日停", "elevator", reporter=resident).code
        codes["e"] = file(s, domain, "幸福花园3栋电梯又停咗", "elevator").code
        at(local(18, 15))
        codes["f"] = file(s, domain, "康乐楼楼下好嘈", "noise", reporter=other).code
        codes["g"] = file(s, domain, "翠湖公园路灯唔着", "road_facility").code
        uow.commit()

    at(local(17, 0, 30))
    act("accept", "a", actor="测试")
    act("reject", "b", reason="不是诉求", actor="测试")
    with db.unit_of_work() as uow:
        e = services.get_ticket(uow.session, codes["e"])
        d = services.get_ticket(uow.session, codes["d"])
        services.merge(session=uow.session, domain=domain, ticket=e, into=d, actor="测试")
        uow.commit()
    at(local(17, 1, 30))  # 1h20m after filing: late for an urgent ticket
    with db.unit_of_work() as uow:
        unit = domain.units(uow.session).get("YX-WJ")
        c = services.get_ticket(uow.session, codes["c"])
        services.assign(session=uow.session, domain=domain, ticket=c, unit=unit, actor="测试")
        uow.commit()
    at(local(17, 10))
    act("resolve", "a", note="已修好", actor="测试")
    act("start", "c", actor="测试")
    deliver_all(db, clock.now)
    rate("a", Satisfaction.SATISFIED)
    at(local(18, 23, 59))
    act("resolve", "c", note="已送医", actor="测试")

    now = local(20, 9)
    assert_rollup_matches_live(db, domain, now)
    assert built_days(db)[-4:] == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"]

    # Changes to tickets whose days are already built, on the following days.
    at(local(20, 9, 30))
    act("accept", "d", actor="测试")
    act("reclassify", "f", category="illegal_construction", actor="测试")
    act("set_urgent", "g", urgent=True, actor="测试")
    act("set_handling_mode", "g", mode=HandlingMode.IMMEDIATE, actor="测试")
    act("reopen", "b", reason="复核后受理", actor="测试")
    at(local(21, 0, 5))
    act("resolve", "d", note="已修好", actor="测试")
    deliver_all(db, clock.now)
    # A resident's Telegram account is unlinked (tickets.usecases.people).
    with db.unit_of_work() as uow:
        uow.session.execute(
            update(Person).where(Person.telegram_user_id == 7001).values(telegram_user_id=None)
        )
        uow.commit()
    assert_rollup_matches_live(db, domain, now=local(21, 12))
    assert_rollup_matches_live(db, domain, now=local(23, 12))

    # Resolved tickets reopened (an unsatisfied rating; staff) move their resolution out of its day.
    at(local(23, 13))
    act("reopen", "c", reason="未解决", actor="测试")
    rate("d", Satisfaction.UNSATISFIED)
    assert_rollup_matches_live(db, domain, now=local(24, 8))


def test_a_ticket_filed_into_a_built_day_marks_it(
    db: Database, domain: Domain, clock: Clock
) -> None:
    clock.now = local(16, 10)
    with db.unit_of_work() as uow:
        file(uow.session, domain, "幸福花园3栋电梯又坏咗", "elevator")
        uow.commit()
    assert_rollup_matches_live(db, domain, now=local(20, 9))
    clock.now = local(16, 23)  # a late import: filed "yesterday" after the day was built
    with db.unit_of_work() as uow:
        file(uow.session, domain, "康乐楼楼下好嘈", "noise")
        uow.commit()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(StatsDirty)) > 0
    assert_rollup_matches_live(db, domain, now=local(20, 9))
    period = stats.parse_period("week", TZ, local(20, 9))
    with db.session() as s:
        [total] = stats.compute(s, period=period, tz=TZ, now=local(20, 9))
    assert total.filed == 2


def test_other_response_limits_rebuild_the_days(db: Database, domain: Domain, clock: Clock) -> None:
    clock.now = local(16, 10)
    with db.unit_of_work() as uow:
        ticket = file(uow.session, domain, "幸福花园3栋电梯又坏咗", "elevator")
        clock.now = local(16, 13)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor="测试")
        uow.commit()
    period = stats.parse_period("week", TZ, local(20, 9))
    for hours, in_time in ((24, 1), (2, 0), (24, 1)):
        with db.session() as s:
            [total] = stats.compute(
                s, period=period, tz=TZ, now=local(20, 9), response_limit_hours=hours
            )
        assert total.responded_in_time == in_time


def test_figures_inside_a_writing_transaction_are_read_from_the_tickets(
    db: Database, domain: Domain, clock: Clock
) -> None:
    clock.now = local(16, 10)
    with db.unit_of_work() as uow:
        file(uow.session, domain, "幸福花园3栋电梯又坏咗", "elevator")
        uow.commit()
    period = stats.parse_period("week", TZ, local(20, 9))
    with db.unit_of_work() as uow:  # the refresh would wait for this transaction's lock on SQLite
        file(uow.session, domain, "康乐楼楼下好嘈", "noise")
        [total] = stats.compute(uow.session, period=period, tz=TZ, now=local(20, 9))
        uow.commit()
    assert total.filed == 2


@pytest.mark.parametrize("offset_days", [0, 1])
def test_whole_days_are_local_days(offset_days: int) -> None:
    start = local(16, 0) + timedelta(days=offset_days)
    first, last = rollup.whole_days(start, local(20, 0), TZ)
    assert (first.isoformat(), last.isoformat()) == (f"2026-11-{16 + offset_days}", "2026-11-20")
    first, last = rollup.whole_days(local(16, 0, 1), local(19, 23), TZ)
    assert (first.isoformat(), last.isoformat()) == ("2026-11-17", "2026-11-19")
