"""ticket_counts always sums to the tickets' own counts: after filing, changes, bulk SQL and folding."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from tests.conftest import Clock
from tests.tickets.factories import file
from tickets import counts, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Ticket, TicketCount
from tickets.statuses import HandlingMode, Status


def counted_from_tickets(db: Database) -> dict[tuple[object, ...], int]:
    columns = [getattr(Ticket, name) for name in counts.DIMENSIONS]
    with db.session() as s:
        rows = s.execute(select(*columns, func.count()).group_by(*columns))
        return {tuple(getattr(v, "value", v) for v in row[:-1]): int(row[-1]) for row in rows.all()}


def summed(db: Database) -> dict[tuple[object, ...], int]:
    with db.session() as s:
        return counts.cube(s, [], counts.DIMENSIONS)


def delta_rows(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).where(TicketCount.delta)) or 0)


def test_the_summary_follows_every_change_and_survives_folding(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        a = file(s, domain, "幸福花园3栋电梯又坏咗", "elevator", locations=["幸福花园3栋"])
        b = file(s, domain, "康乐楼楼下好嘈", "noise", urgent=True)
        c = file(s, domain, "翠湖公园路灯唔着", "road_facility", locations=["翠湖公园"])
        uow.commit()
    assert summed(db) == counted_from_tickets(db)
    with db.unit_of_work() as uow:
        s = uow.session
        a, b, c = (s.get(Ticket, t.id) for t in (a, b, c))
        assert a and b and c
        services.accept(session=s, domain=domain, ticket=a, actor="测试")
        services.reclassify(session=s, domain=domain, ticket=b, category="dispute", actor="测试")
        services.set_urgent(session=s, domain=domain, ticket=b, urgent=False, actor="测试")
        services.set_handling_mode(
            session=s, domain=domain, ticket=c, mode=HandlingMode.IMMEDIATE, actor="测试"
        )
        services.merge(session=s, domain=domain, ticket=c, into=a, actor="测试")
        s.execute(update(Ticket).where(Ticket.id == a.id).values(needs_review=True))  # bulk SQL
        uow.commit()
    assert delta_rows(db) > 0
    assert summed(db) == counted_from_tickets(db)
    counts.fold(db.engine)
    assert delta_rows(db) == 0
    assert summed(db) == counted_from_tickets(db)
    with db.session() as s:  # one row per combination after folding
        combinations = s.scalar(select(func.count()).select_from(TicketCount))
    assert combinations == len(counted_from_tickets(db))
    with db.unit_of_work() as uow:
        s = uow.session
        a = s.get(Ticket, a.id)
        assert a is not None and a.status is Status.ACCEPTED
        services.resolve(session=s, domain=domain, ticket=a, note="已修好", actor="测试")
        uow.commit()
    assert summed(db) == counted_from_tickets(db)


def test_reads_fold_many_deltas(
    db: Database, domain: Domain, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "FOLD_AFTER", 3)
    with db.unit_of_work() as uow:
        for i in range(5):
            file(uow.session, domain, f"幸福花园{i}栋电梯又坏咗", "elevator")
        uow.commit()
    assert delta_rows(db) == 5
    counts.fold_if_needed(db.engine)
    assert delta_rows(db) == 0
    assert summed(db) == counted_from_tickets(db)


def test_rebuild_recounts_from_the_tickets(db: Database, domain: Domain, clock: Clock) -> None:
    with db.unit_of_work() as uow:
        file(uow.session, domain, "幸福花园3栋电梯又坏咗", "elevator")
        uow.commit()
    with db.engine.begin() as conn:
        counts.rebuild(conn)
    assert delta_rows(db) == 0
    assert summed(db) == counted_from_tickets(db)
