"""成绩单: every figure compared with counting the rows directly, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import report_card, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import Person, Project, ProjectUpdate, Ticket, Unit
from tickets.stats import Period
from tickets.statuses import Role, Satisfaction, Status
from tickets.units import UnitTree
from tickets.usecases import projects
from tickets.usecases.projects import Args, ProjectCommand


def seed(db: Database, domain: Domain, clock: Clock) -> None:
    """November and December tickets and projects in 幸福社区 and 翠湖社区."""
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.DISTRICT_ADMIN, name="区管理员")
        resident = person(s, tg=7001)
        places = [("幸福花园", "greening_space"), ("翠湖花园", "noise"), ("康乐楼", "sanitation")]
        for i in range(9):
            place, category = places[i % 3]
            t = file(
                s,
                domain,
                f"{place}第{i}个问题需要处理",
                category,
                locations=[place],
                reporter=resident,
            )
            if i % 2 == 0:
                services.accept(session=s, domain=domain, ticket=t, actor=staff)
                services.resolve(session=s, domain=domain, ticket=t, note="已处理", actor=staff)
                services.rate(
                    session=s,
                    domain=domain,
                    ticket=t,
                    satisfaction=[Satisfaction.SATISFIED, Satisfaction.UNSATISFIED][i % 4 // 2],
                    resident=resident,
                )
            elif i == 3:
                services.reject(session=s, domain=domain, ticket=t, reason="不属于", actor=staff)
            clock.advance(days=3)
        for n, (unit, budget) in enumerate(
            (("YX-SG-XF", "30000"), ("YX-SG-CH", "12000"), ("YX-SG-XF", "5000"))
        ):
            p = projects.propose(
                s, domain, actor=staff, title=f"项目{n}", unit_code=unit, estimated=budget
            )
            for command, args in (
                (ProjectCommand.DELIBERATE, Args()),
                (ProjectCommand.OPEN_VOTE, Args()),
                (ProjectCommand.APPROVE, Args()),
                (ProjectCommand.START, Args()),
                (ProjectCommand.UPDATE, Args(text="进展", spent="1000")),
            ):
                if n == 2 and command is ProjectCommand.APPROVE:
                    projects.perform(
                        s, domain, p, ProjectCommand.REJECT, staff, Args(reason="重复")
                    )
                    break
                projects.perform(s, domain, p, command, staff, args)
                clock.advance(hours=12)
            if n == 0:
                projects.perform(s, domain, p, ProjectCommand.ACCEPT, staff, Args(result="完成"))
        uow.commit()


@dataclass(frozen=True)
class Counted:
    """The 成绩单's counts, found by reading every row in Python (no SQL aggregate)."""

    demands: int
    accepted: int
    done: int
    done_on_time: int
    rated: int
    satisfied: int
    proposed: int
    approved: int
    finished: int
    rejected: int
    committed_fen: int
    spent_fen: int


def counted(s: Session, tree: UnitTree, unit: Unit, period: Period) -> Counted:
    ids = tree.subtree_ids(unit)
    tickets = [
        t
        for t in s.scalars(
            select(Ticket).where(or_(Ticket.unit_id.in_(ids), Ticket.area_id.in_(ids)))
        )
        if period.start <= t.created_at < period.end and t.status is not Status.MERGED
    ]
    accepted = [t for t in tickets if t.status is not Status.REJECTED]
    done = [t for t in tickets if t.status in (Status.RESOLVED, Status.CLOSED)]
    on_time = [t for t in done if t.due_at and t.resolved_at and t.resolved_at <= t.due_at]
    rated = [t for t in tickets if t.satisfaction is not None]
    satisfied = [t for t in rated if t.satisfaction is not Satisfaction.UNSATISFIED]
    ps = [p for p in s.scalars(select(Project)) if p.unit_id in ids or p.owner_unit_id in ids]

    def within(at: datetime | None) -> bool:
        return at is not None and period.start <= at < period.end

    updates = s.scalars(
        select(ProjectUpdate).where(ProjectUpdate.project_id.in_([p.id for p in ps] or [0]))
    ).all()
    return Counted(
        demands=len(tickets),
        accepted=len(accepted),
        done=len(done),
        done_on_time=len(on_time),
        rated=len(rated),
        satisfied=len(satisfied),
        proposed=sum(within(p.created_at) for p in ps),
        approved=sum(within(p.approved_at) for p in ps),
        finished=sum(within(p.accepted_at) for p in ps),
        rejected=sum(within(p.closed_at) and p.reject_reason is not None for p in ps),
        committed_fen=sum(p.approved_fen or 0 for p in ps if within(p.approved_at)),
        spent_fen=sum(u.spent_fen for u in updates if within(u.at)),
    )


@pytest.mark.parametrize("unit_code", ["YX-SG-XF", "YX-SG", "YX-SG-CH"])
@pytest.mark.parametrize("spec", ["2026-11", "2026-12", "2026-Q4"])
def test_the_report_card_matches_counting_rows(
    db: Database, domain: Domain, clock: Clock, unit_code: str, spec: str
) -> None:
    seed(db, domain, clock)
    tz = domain.settings.timezone
    with db.session() as s:
        tree = domain.units(s)
        unit = tree.get(unit_code)
        period = report_card.parse_period(spec, tz, clock.now)
        card = report_card.report_card(s, tree=tree, unit=unit, period=period, tz=tz, now=clock.now)
        rows = counted(s, tree, unit, period)
        assert (card.demands, card.accepted, card.done, card.done_on_time) == (
            rows.demands,
            rows.accepted,
            rows.done,
            rows.done_on_time,
        )
        assert (card.rated, card.satisfied) == (rows.rated, rows.satisfied)
        assert card.completion_rate == (rows.done / rows.accepted if rows.accepted else None)
        assert (card.proposed, card.approved, card.finished, card.rejected) == (
            rows.proposed,
            rows.approved,
            rows.finished,
            rows.rejected,
        )
        assert (card.committed_fen, card.spent_fen) == (rows.committed_fen, rows.spent_fen)
        assert s.scalar(select(func.count(Person.id))) == 2  # nothing else was created reading it


def test_the_seed_spreads_over_both_months_so_the_comparison_means_something(
    db: Database, domain: Domain, clock: Clock
) -> None:
    seed(db, domain, clock)
    tz = domain.settings.timezone
    with db.session() as s:
        tree = domain.units(s)
        cards = {
            spec: report_card.report_card(
                s,
                tree=tree,
                unit=tree.get("YX-SG"),
                period=report_card.parse_period(spec, tz, clock.now),
                tz=tz,
                now=clock.now,
            )
            for spec in ("2026-11", "2026-12", "2026-Q4")
        }
    nov, dec, q4 = cards["2026-11"], cards["2026-12"], cards["2026-Q4"]
    assert nov.demands > 0 and dec.demands > 0 and nov.demands + dec.demands == q4.demands == 9
    assert q4.proposed == 3 and q4.approved == 2 and q4.finished == 1 and q4.rejected == 1
    assert q4.committed_fen == 4_200_000 and q4.spent_fen == 200_000
    assert nov.approved + dec.approved == q4.approved


def test_periods_are_months_and_quarters() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 23, 1, tzinfo=UTC)
    q = report_card.parse_period("quarter", tz, now)
    assert q.label == "2026年第4季度"
    assert q.start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert q.end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert report_card.parse_period("2026-Q1", tz, now).end == datetime(2026, 3, 31, 16, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        report_card.parse_period("2026-Q5", tz, now)


def test_the_report_card_and_the_services_list_go_to_the_grid_groups_once(
    db: Database, domain: Domain, clock: Clock
) -> None:
    from tickets.models import ChatBinding, ListEvent, OutboxItem
    from tickets.usecases import lists

    seed(db, domain, clock)
    tz = domain.settings.timezone
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        for chat, grid in ((-1001, "YX-SG-XF-01"), (-1002, "YX-SG-XF-02"), (-1003, "YX-SG-CH-01")):
            s.add(ChatBinding(chat_id=chat, title=grid, grid_id=tree.get(grid).id))
        staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain, name="陈主任")
        other = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-CH", domain=domain)
        period = report_card.parse_period("2026-Q4", tz, clock.now)
        card = report_card.report_card(
            s, tree=tree, unit=tree.get("YX-SG-XF"), period=period, tz=tz, now=clock.now
        )
        assert report_card.post_report_card(s, domain, staff, card) == 2
        assert report_card.post_report_card(s, domain, staff, card) == 0  # once per period
        lists.add_service(
            s, domain, staff, unit_code="YX-SG-XF", title="长者饭堂", schedule="每天11:30"
        )
        assert lists.post_services(s, domain, staff, unit_code="YX-SG-XF") == 2
        with pytest.raises(PermissionError):
            lists.post_services(s, domain, other, unit_code="YX-SG-XF")
        with pytest.raises(InvalidInput):
            lists.post_to_groups(s, domain, staff, unit_code="YX-ZJ", text="x", kind="k", key="k")
        uow.commit()
    with db.session() as s:
        rows = s.scalars(
            select(OutboxItem).where(OutboxItem.kind.in_(("report_card", "services_list")))
        ).all()
        assert sorted((r.kind, r.chat_id) for r in rows) == [
            ("report_card", -1002),
            ("report_card", -1001),
            ("services_list", -1002),
            ("services_list", -1001),
        ]
        text = next(r.payload["text"] for r in rows if r.kind == "report_card")
        assert f"收集诉求 {card.demands} 件" in text and "2026年第4季度" in text
        assert "/p/lists/YX-SG-XF" in text
        services = next(r.payload["text"] for r in rows if r.kind == "services_list")
        assert "长者饭堂（每天11:30）" in services and "民微实事：项目0" in services
        posted = {e.kind for e in s.scalars(select(ListEvent))}
        assert {"report_card_posted", "services_list_posted"} <= posted
