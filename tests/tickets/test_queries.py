"""The console's list queries: filters, scopes, bounded counts, counts per filter option, daily trend."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import access, queries, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import Person
from tickets.queries import TicketFilter
from tickets.statuses import HandlingMode, Role, Source, Status

# (text, category, place, urgent, source)
TICKETS = [
    ("幸福花园3栋电梯困人", "elevator", "幸福花园3栋", True, Source.PRIVATE),
    ("幸福花园5栋电梯异响", "elevator", "幸福花园5栋", False, Source.GROUP),
    ("康乐楼门口垃圾冇人收", "sanitation", "康乐楼", False, Source.GROUP),
    ("翠湖花园广场舞好嘈", "noise", "翠湖花园", False, Source.FORWARD),
    ("大岭村市场路灯唔着", "road_facility", "大岭村市场", False, Source.WEB),
]


@pytest.fixture
def world(db: Database, domain: Domain, clock: Clock) -> dict[str, int]:
    """Five tickets over three days, one accepted, one resolved; returns staff ids by role."""
    with db.unit_of_work() as uow:
        for i, (text, category, place, urgent, source) in enumerate(TICKETS):
            file(
                uow.session, domain, text, category, locations=[place], urgent=urgent, source=source
            )
            if i in (1, 3):
                clock.advance(days=1)
        uow.commit()
    with db.unit_of_work() as uow:
        s = uow.session
        staff = {
            "admin": person(s, Role.DISTRICT_ADMIN, domain=domain),
            "community": person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain),
            "grid": person(s, Role.GRID_MEMBER, unit="YX-SG-XF-01", domain=domain),
        }
        tickets = {
            t.original_text[:4]: t
            for t in queries.iter_tickets(
                s,
                TicketFilter(),
                scope=true(),
                tree=domain.units(s),
                now=clock(),
                tz=domain.settings.timezone,
                limit=10,
            )
        }
        services.accept(session=s, domain=domain, ticket=tickets["康乐楼门"], actor=staff["admin"])
        services.accept(session=s, domain=domain, ticket=tickets["大岭村市"], actor=staff["admin"])
        services.resolve(
            session=s,
            domain=domain,
            ticket=tickets["大岭村市"],
            note="已修复",
            actor=staff["admin"],
        )
        uow.commit()
        return {name: p.id for name, p in staff.items()}


def listed(
    db: Database, domain: Domain, clock: Clock, f: TicketFilter, viewer_id: int | None = None
) -> list[str]:
    with db.session() as session:
        scope = _scope(session, domain, viewer_id)
        page = queries.list_tickets(
            session,
            f,
            scope=scope,
            tree=domain.units(session),
            now=clock(),
            tz=domain.settings.timezone,
        )
        return [t.original_text[:4] for t in page.items]


def _scope(session: Session, domain: Domain, viewer_id: int | None) -> ColumnElement[bool]:
    if viewer_id is None:
        return true()
    viewer = session.get(Person, viewer_id)
    assert viewer is not None
    return access.visible_tickets(viewer, domain.units(session))


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (TicketFilter(), ["大岭村市", "翠湖花园", "康乐楼门", "幸福花园", "幸福花园"]),
        (
            TicketFilter(sort="created", descending=False),
            ["幸福花园", "幸福花园", "康乐楼门", "翠湖花园", "大岭村市"],
        ),
        (TicketFilter(statuses=(Status.NEW,)), ["翠湖花园", "幸福花园", "幸福花园"]),
        (TicketFilter(statuses=queries.STATUS_TABS["working"]), ["康乐楼门"]),
        (TicketFilter(categories=("elevator",)), ["幸福花园", "幸福花园"]),
        (TicketFilter(urgent=True), ["幸福花园"]),
        (TicketFilter(urgent=False, categories=("elevator",)), ["幸福花园"]),
        (TicketFilter(handling_mode=HandlingMode.IMMEDIATE), ["幸福花园"]),
        (TicketFilter(source=Source.GROUP), ["康乐楼门", "幸福花园"]),
        (
            TicketFilter(area="YX-SG-XF"),
            ["康乐楼门", "幸福花园", "幸福花园"],
        ),  # the community's grids
        (TicketFilter(area="YX-SG-XF-02"), ["康乐楼门"]),
        (
            TicketFilter(date_from=date(2026, 11, 24), date_to=date(2026, 11, 24)),
            ["翠湖花园", "康乐楼门"],
        ),
        (TicketFilter(q="电梯"), ["幸福花园", "幸福花园"]),
        (TicketFilter(q="电梯", urgent=True), ["幸福花园"]),
        (TicketFilter(q="MW-20261123-0002"), ["幸福花园"]),
    ],
)
def test_the_list_filters_and_sorts(
    db: Database,
    domain: Domain,
    clock: Clock,
    world: dict[str, int],
    f: TicketFilter,
    expected: list[str],
) -> None:
    assert listed(db, domain, clock, f) == expected


def test_overdue_lists_open_tickets_past_their_due_time(
    db: Database, domain: Domain, clock: Clock, world: dict[str, int]
) -> None:
    clock.advance(hours=5)  # the urgent one (立即办, 4 hours) is now late
    assert listed(db, domain, clock, TicketFilter(overdue=True)) == ["幸福花园"]
    clock.advance(days=30)
    assert listed(db, domain, clock, TicketFilter(overdue=True)) == [
        "翠湖花园",
        "康乐楼门",
        "幸福花园",
        "幸福花园",
    ]  # the resolved one is not overdue


def test_each_role_lists_only_its_own_units(
    db: Database, domain: Domain, clock: Clock, world: dict[str, int]
) -> None:
    assert len(listed(db, domain, clock, TicketFilter(), world["admin"])) == 5
    assert listed(db, domain, clock, TicketFilter(), world["community"]) == [
        "康乐楼门",
        "幸福花园",
        "幸福花园",
    ]
    assert listed(db, domain, clock, TicketFilter(), world["grid"]) == ["幸福花园", "幸福花园"]
    assert listed(db, domain, clock, TicketFilter(area="YX-SG-CH"), world["community"]) == []


def test_counts_stop_at_the_cap_and_say_so(
    db: Database, domain: Domain, world: dict[str, int]
) -> None:
    with db.session() as session:
        assert queries.bounded_count(session, [true()], cap=3) == (3, True)
        assert queries.bounded_count(session, [true()], cap=5) == (5, False)


def test_pages_beyond_what_can_be_counted_are_refused(
    db: Database, domain: Domain, clock: Clock, world: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput, match="页码超出范围"):
        listed(db, domain, clock, TicketFilter(page=queries.COUNT_CAP))


def facets(
    db: Database, domain: Domain, clock: Clock, f: TicketFilter, viewer_id: int
) -> queries.FacetCounts:
    with db.session() as session:
        return queries.facet_counts(
            session,
            f,
            scope=_scope(session, domain, viewer_id),
            tree=domain.units(session),
            now=clock(),
            tz=domain.settings.timezone,
            categories=domain.taxonomy.codes,
        )


@pytest.mark.parametrize(
    "f",
    [
        TicketFilter(),
        TicketFilter(statuses=(Status.NEW,)),
        TicketFilter(categories=("elevator",), urgent=True),
        TicketFilter(q="花园"),
        TicketFilter(overdue=True, source=Source.GROUP),
    ],
)
@pytest.mark.parametrize("viewer", ["admin", "community"])
def test_counts_per_option_are_what_choosing_that_option_would_list(
    db: Database,
    domain: Domain,
    clock: Clock,
    world: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    f: TicketFilter,
    viewer: str,
) -> None:
    clock.advance(days=30)

    def expected(g: TicketFilter) -> int:
        return len(listed(db, domain, clock, replace(g, page_size=200), world[viewer]))

    monkeypatch.setattr(queries, "FACET_BUDGET_SECONDS", 3600.0)  # however busy the test machine is
    grouped = facets(db, domain, clock, f, world[viewer])
    monkeypatch.setattr(queries, "GROUP_MAX", 0)  # force one bounded count per option
    per_option = facets(db, domain, clock, f, world[viewer])
    for counts in (grouped, per_option) if not f.q else (grouped,):
        assert counts.statuses["all"].value == expected(f.without("statuses"))
        for tab, statuses in queries.STATUS_TABS.items():
            assert counts.statuses[tab].value == expected(replace(f, statuses=statuses)), tab
        for code in ("elevator", "noise", "other"):
            assert counts.categories[code].value == expected(replace(f, categories=(code,))), code
        assert counts.flags["urgent"].value == expected(replace(f, urgent=True))
        assert counts.flags["overdue"].value == expected(replace(f, overdue=True))
    if f.q:
        assert not per_option.available  # a search too broad to count per option says so


def test_counts_past_the_time_budget_are_unknown_rather_than_slow(
    db: Database,
    domain: Domain,
    clock: Clock,
    world: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queries, "GROUP_MAX", 0)
    monkeypatch.setattr(queries, "FACET_BUDGET_SECONDS", 0.0)
    with db.session() as session:
        counts = queries.bounded_facet_counts(
            session,
            TicketFilter(),
            scope=_scope(session, domain, world["admin"]),
            tree=domain.units(session),
            now=clock(),
            tz=domain.settings.timezone,
            categories=domain.taxonomy.codes,
        )
    assert str(counts.categories["elevator"]) == "…"
    assert str(counts.flags["urgent"]) == "…"


@pytest.mark.parametrize(
    "f",
    [
        TicketFilter(),
        TicketFilter(statuses=queries.STATUS_TABS["working"]),
        TicketFilter(categories=("elevator", "noise"), urgent=True),
        TicketFilter(urgent=False, needs_review=True),
        TicketFilter(overdue=True),
        TicketFilter(overdue=True, statuses=(Status.NEW,), source=Source.GROUP),
        TicketFilter(area="YX-SG-XF", handling_mode=HandlingMode.ONSITE),
        TicketFilter(unit="YX-SG", categories=("sanitation",)),
        TicketFilter(date_from=date(2026, 11, 24), date_to=date(2026, 11, 25)),
        TicketFilter(q="花园"),
        TicketFilter(q="花园", statuses=(Status.NEW,), overdue=True),
        TicketFilter(q="MW-20261123-0001"),
    ],
)
@pytest.mark.parametrize(("group_max", "cap"), [(20_000, 1_000), (2, 1)])
@pytest.mark.parametrize("viewer", ["admin", "community"])
def test_counts_from_the_summary_are_those_counted_option_by_option(
    db: Database,
    domain: Domain,
    clock: Clock,
    world: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    f: TicketFilter,
    group_max: int,
    cap: int,
    viewer: str,
) -> None:
    """Same numbers, same "1000+" capping and the same "too broad to count" as counting each option."""
    clock.advance(days=30)
    with db.unit_of_work() as uow:  # changes after the summary was filled: its delta rows
        s = uow.session
        t = file(s, domain, "幸福花园9栋电梯又坏", "elevator", locations=["幸福花园9栋"])
        services.accept(session=s, domain=domain, ticket=t, actor="测试")
        services.reclassify(session=s, domain=domain, ticket=t, category="noise", actor="测试")
        uow.commit()
    monkeypatch.setattr(queries, "FACET_BUDGET_SECONDS", 3600.0)
    monkeypatch.setattr(queries, "GROUP_MAX", group_max)
    with db.session() as session:
        args = {
            "scope": _scope(session, domain, world[viewer]),
            "tree": domain.units(session),
            "now": clock(),
            "tz": domain.settings.timezone,
            "categories": domain.taxonomy.codes,
            "cap": cap,
        }
        summed = queries.facet_counts(session, f, **args)  # type: ignore[arg-type]
        counted = queries.bounded_facet_counts(session, f, **args)  # type: ignore[arg-type]
    assert summed == counted


def test_the_daily_trend_counts_filed_and_resolved_per_local_day(
    db: Database, domain: Domain, clock: Clock, world: dict[str, int]
) -> None:
    start = clock() - timedelta(days=3)
    with db.session() as session:
        trend = queries.daily_trend(
            session,
            start=start,
            end=clock() + timedelta(hours=1),
            tz=domain.settings.timezone,
            scope=true(),
        )
    by_day = {d.isoformat(): (n, r) for d, n, r in trend}
    assert by_day["2026-11-23"] == (2, 0)
    assert by_day["2026-11-24"] == (2, 0)
    assert by_day["2026-11-25"] == (1, 1)
