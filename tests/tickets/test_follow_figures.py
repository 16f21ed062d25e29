"""超期率, 退单率 and 回访率 (tickets.stats.follow_figures) equal the counts of the rows themselves, read
with the definitions of the module docstring, in total and per lead unit, on both backends; with past
days read from the daily rollup they equal the figures read from every ticket, however the tickets
change after those days were built."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, or_, select

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import access, rollup, services, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import StatsDay, Ticket
from tickets.statuses import Role, Satisfaction, Status

PLACES = [
    ("elevator", "幸福花园3栋", "幸福花园3栋电梯坏咗"),
    ("sanitation", "康乐楼", "康乐楼门口垃圾冇人收"),
    ("noise", "翠湖花园", "翠湖花园广场舞好嘈"),
    ("road_facility", "大岭村市场", "大岭村市场路灯唔着"),
]


def build(db: Database, domain: Domain, clock: Clock, n: int = 48) -> None:
    """``n`` tickets over five days with seeded random outcomes: left open, resolved on time or
    late, rejected, merged, sent back (once or twice, then re-dispatched), co-handled, rated,
    asked again (回访) or called back by phone."""
    rng = random.Random(12)
    start = clock.now
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        resident = person(s, tg=880011, name="黄伯")
        admin = person(s, Role.DISTRICT_ADMIN, name="管理员")
        plan: list[tuple[Ticket, int]] = []
        for i in range(n):
            clock.now = start + timedelta(hours=i * 2.5)
            category, place, text = PLACES[i % len(PLACES)]
            t = file(s, domain, f"{text}（{i}）", category, locations=[place], reporter=resident)
            plan.append((t, rng.randrange(9)))
        clock.now = start + timedelta(days=5, hours=1)
        for t, outcome in plan:
            if outcome in (1, 2, 5, 6, 7, 8):
                services.accept(session=s, domain=domain, ticket=t, actor="测试")
            if outcome == 3:
                services.reject(session=s, domain=domain, ticket=t, reason="不是诉求", actor="测试")
            if outcome == 4 and plan[0][0].id != t.id:
                services.merge(session=s, domain=domain, ticket=t, into=plan[0][0], actor="测试")
            if outcome in (6, 7) and t.unit is not None and t.unit.parent_id is not None:
                services.send_back(
                    session=s, domain=domain, ticket=t, reason="不属于本单位职责", actor="测试"
                )
                if outcome == 7:
                    services.assign(
                        session=s, domain=domain, ticket=t, unit=tree.get("YX-SG-XF"), actor="测试"
                    )
            if outcome == 8 and t.unit_id != tree.get("YX-SG-CH").id:
                services.add_helper(
                    session=s, domain=domain, ticket=t, unit=tree.get("YX-SG-CH"), actor="测试"
                )
        # Some resolved early (before most due times), some late (after every due time).
        for phase in (timedelta(days=5, hours=2), timedelta(days=12)):
            clock.now = start + phase
            for t, outcome in plan:
                if t.status.is_open and outcome in (1, 2, 7, 8) and rng.random() < 0.6:
                    services.resolve(
                        session=s, domain=domain, ticket=t, note="已处理", actor="测试"
                    )
        clock.now = start + timedelta(days=13)
        for t, _ in plan:
            if t.status is not Status.RESOLVED:
                continue
            roll = rng.randrange(4)
            if roll == 0:
                services.rate(
                    session=s,
                    domain=domain,
                    ticket=t,
                    satisfaction=rng.choice(list(Satisfaction)),
                    resident=resident,
                )
            elif roll == 1:
                services.ask_callback(session=s, domain=domain, ticket=t)
            elif roll == 2:
                services.record_callback(
                    session=s,
                    domain=domain,
                    ticket=t,
                    satisfaction=Satisfaction.BASIC,
                    note="电话回访",
                    actor=admin,
                )
        uow.commit()


def counted(
    tickets: list[Ticket], start: datetime, end: datetime, now: datetime
) -> stats.FollowFigures:
    """The figures counted from the rows, one definition at a time (tickets.stats' docstring)."""
    kept = [t for t in tickets if t.status is not Status.MERGED]
    due = [
        t
        for t in kept
        if t.status is not Status.REJECTED
        and t.due_at is not None
        and start <= t.due_at < min(end, now)
    ]
    late = [
        t
        for t in due
        if (t.resolved_at is not None and t.resolved_at > t.due_at)  # type: ignore[operator]
        or (t.resolved_at is None and t.status.is_open)
    ]
    dispatched = [t for t in kept if start <= t.created_at < end and t.unit_id is not None]
    resolved = [t for t in kept if t.resolved_at is not None and start <= t.resolved_at < end]
    return stats.FollowFigures(
        "total",
        "合计",
        due=len(due),
        overdue=len(late),
        dispatched=len(dispatched),
        sent_back=sum(1 for t in dispatched if t.sent_back_count >= 1),
        resolved=len(resolved),
        called_back=sum(
            1 for t in resolved if t.callback_at is not None or t.satisfaction is not None
        ),
    )


@pytest.mark.parametrize(
    "spec",
    ["2026-11", "2026-11-25..2026-12-10", "2026-11-23", "2026-12-01..2026-12-31", "2026-10"],
)
def test_the_figures_equal_the_rows_counted_directly(
    db: Database, domain: Domain, clock: Clock, spec: str
) -> None:
    build(db, domain, clock)
    now = clock.now
    period = stats.parse_period(spec, domain.settings.timezone, now)
    with db.session() as s:
        rows = list(s.scalars(select(Ticket)))
        (total,) = stats.follow_figures(s, period=period, now=now, tz=domain.settings.timezone)
        by_unit = stats.follow_figures(
            s, period=period, now=now, tz=domain.settings.timezone, by="unit"
        )
        assert total == counted(rows, period.start, period.end, now)
        for figures in by_unit:
            mine = [t for t in rows if str(t.unit_id) == figures.key]
            own = counted(mine, period.start, period.end, now)
            assert figures == replace(own, key=figures.key, label=figures.label)
    # Every ticket counts once, under its lead unit: the units add up to the total.
    for name in ("due", "overdue", "dispatched", "sent_back", "resolved", "called_back"):
        assert sum(getattr(f, name) for f in by_unit) == getattr(total, name)


def test_the_data_covers_every_case(db: Database, domain: Domain, clock: Clock) -> None:
    """The random outcomes above reach every branch of the definitions (or the equality says little)."""
    build(db, domain, clock)
    period = stats.parse_period("2026-11-20..2026-12-31", domain.settings.timezone, clock.now)
    with db.session() as s:
        (f,) = stats.follow_figures(s, period=period, now=clock.now, tz=domain.settings.timezone)
        rows = list(s.scalars(select(Ticket)))
        assert any(t.status is Status.MERGED for t in rows)
        assert any(t.helpers for t in rows)
        assert any(t.resolved_at and t.due_at and t.resolved_at > t.due_at for t in rows)
        assert any(t.resolved_at and t.due_at and t.resolved_at <= t.due_at for t in rows)
    assert 0 < f.overdue < f.due
    assert 0 < f.sent_back < f.dispatched
    assert 0 < f.called_back < f.resolved


def test_a_co_handled_ticket_counts_once_under_the_lead(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        t = file(s, domain, "幸福花园3栋电梯坏咗", "elevator", locations=["幸福花园3栋"])
        services.add_helper(
            session=s, domain=domain, ticket=t, unit=tree.get("YX-SG-CH"), actor="测试"
        )
        services.add_helper(
            session=s, domain=domain, ticket=t, unit=tree.get("YX-SG-CG"), actor="测试"
        )
        services.send_back(
            session=s, domain=domain, ticket=t, reason="地址不在本辖区", actor="测试"
        )
        uow.commit()
    period = stats.parse_period("2026-11", domain.settings.timezone, clock.now)
    with db.session() as s:
        tree = domain.units(s)
        (total,) = stats.follow_figures(
            s, period=period, now=clock.now, tz=domain.settings.timezone
        )
        by_unit = stats.follow_figures(
            s, period=period, now=clock.now, tz=domain.settings.timezone, by="unit"
        )
        ch_staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-CH", domain=domain)
        (in_ch_scope,) = stats.follow_figures(
            s,
            period=period,
            now=clock.now,
            tz=domain.settings.timezone,
            scope=access.visible_tickets(ch_staff, tree),
        )
    assert (total.dispatched, total.sent_back) == (1, 1)
    assert [(f.label, f.dispatched) for f in by_unit] == [("石岗街道（YX-SG）", 1)]
    assert (in_ch_scope.dispatched, in_ch_scope.send_back_rate) == (0, None)


def test_only_total_and_unit_are_offered(db: Database, domain: Domain, clock: Clock) -> None:
    period = stats.parse_period("2026-11", domain.settings.timezone, clock.now)
    with db.session() as s, pytest.raises(InvalidInput):
        stats.follow_figures(
            s, period=period, now=clock.now, tz=domain.settings.timezone, by="category"
        )


def assert_the_rollup_gives_the_rows(db: Database, domain: Domain, now: datetime) -> None:
    """Every period, scope and grouping: the figures with past days from the daily rollup equal
    those read from every ticket, and the rollup did answer (its days for the period are built)."""
    tz = domain.settings.timezone
    with db.session() as s:
        tree = domain.units(s)
        community = sorted(tree.subtree_ids(tree.get("YX-SG-XF")))
    scopes = {
        "district": None,
        "community": or_(Ticket.unit_id.in_(community), Ticket.area_id.in_(community)),
    }
    for spec in ("30d", "week", "2026-11", "2026-11-25..2026-12-03", "today"):
        period = stats.parse_period(spec, tz, now)
        stats.prepare(db.engine, period=period, tz=tz, now=now)
        first, last = rollup.whole_days(period.start, period.end, tz)
        last = min(last, max(first, now.astimezone(tz).date()))
        with db.session() as s:
            built = s.scalar(
                select(func.count())
                .select_from(StatsDay)
                .where(StatsDay.day >= first, StatsDay.day < last)
            )
            assert built == (last - first).days, spec
            for name, scope in scopes.items():
                for by in ("total", "unit"):
                    args = {"period": period, "now": now, "tz": tz, "by": by, "scope": scope}
                    fast = stats.follow_figures(s, **args)
                    rows = stats.follow_figures(s, use_rollup=False, **args)
                    assert fast == rows, (spec, name, by)


def test_the_rollup_gives_the_figures_of_the_rows_as_tickets_change(
    db: Database, domain: Domain, clock: Clock
) -> None:
    """Past days are read from the daily rollup; a ticket sent back, called back, rejected, merged or
    reopened after its days were built (filed, due or resolved on them) rebuilds those days."""
    build(db, domain, clock)
    assert_the_rollup_gives_the_rows(db, domain, clock.now)
    clock.advance(days=1)
    with db.unit_of_work() as uow:
        s = uow.session
        tickets = list(s.scalars(select(Ticket).order_by(Ticket.id)))
        overdue_open = [
            t for t in tickets if t.status.is_open and t.due_at and t.due_at < clock.now
        ]
        new = [t for t in overdue_open if t.status is Status.NEW]
        accepted = [
            t
            for t in overdue_open
            if t.status is Status.ACCEPTED and t.unit is not None and t.unit.parent_id is not None
        ]
        resolved = [t for t in tickets if t.status is Status.RESOLVED]
        uncalled = [t for t in resolved if t.callback_at is None and t.satisfaction is None]
        assert new and len(accepted) >= 2 and len(resolved) >= 2 and uncalled
        services.reject(session=s, domain=domain, ticket=new[0], reason="不是诉求", actor="测试")
        services.merge(session=s, domain=domain, ticket=accepted[0], into=tickets[0], actor="测试")
        services.send_back(
            session=s, domain=domain, ticket=accepted[1], reason="地址不在本辖区", actor="测试"
        )
        services.record_callback(
            session=s,
            domain=domain,
            ticket=uncalled[0],
            satisfaction=Satisfaction.SATISFIED,
            note="电话回访",
            actor=person(s, Role.DISTRICT_ADMIN, name="回访员"),
        )
        reopened = next(t for t in resolved if t is not uncalled[0])
        services.reopen(session=s, domain=domain, ticket=reopened, reason="没修好", actor="测试")
        uow.commit()
    assert_the_rollup_gives_the_rows(db, domain, clock.now)
    with db.session() as s:
        rows = list(s.scalars(select(Ticket)))
        period = stats.parse_period("30d", domain.settings.timezone, clock.now)
        (total,) = stats.follow_figures(
            s, period=period, now=clock.now, tz=domain.settings.timezone
        )
        assert total == counted(rows, period.start, period.end, clock.now)
