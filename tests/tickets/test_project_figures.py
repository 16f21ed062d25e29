"""民微实事 in the dashboard: projects by stage and money per area within a viewer's scope, compared
with reading every project row, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import Clock
from tests.tickets.factories import person
from tests.tickets.test_report_card import seed
from tickets import stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Project
from tickets.projectstatus import ProjectStatus
from tickets.statuses import Role
from tickets.usecases import projects


@pytest.mark.parametrize(
    ("role", "unit", "expected_projects"),
    [
        (Role.DISTRICT_ADMIN, None, 3),
        (Role.STREET_STAFF, "YX-SG", 3),
        (Role.COMMUNITY_STAFF, "YX-SG-XF", 2),
        (Role.COMMUNITY_STAFF, "YX-SG-CH", 1),
        (Role.GRID_MEMBER, "YX-SG-CH-01", 1),
        (Role.STREET_STAFF, "YX-NL", 0),
    ],
)
def test_project_figures_match_the_rows_the_viewer_may_see(
    db: Database,
    domain: Domain,
    clock: Clock,
    role: Role,
    unit: str | None,
    expected_projects: int,
) -> None:
    seed(db, domain, clock)  # three projects: approved+accepted, approved+implementing, rejected
    with db.unit_of_work() as uow:
        viewer = person(uow.session, role, unit=unit, domain=domain)
        uow.commit()
        viewer_id = viewer.id
    with db.session() as s:
        viewer = s.get_one(type(viewer), viewer_id)
        tree = domain.units(s)
        figures = stats.project_figures(s, scope=projects.visible_projects(viewer, tree))
        seen = [p for p in s.scalars(select(Project)) if projects.can_view(viewer, p, tree)]
        assert len(seen) == expected_projects
        assert figures.by_status == {
            status: sum(p.status is status for p in seen) for status in ProjectStatus
        }
        by_unit = {m.unit_id: m for m in figures.by_unit}
        assert set(by_unit) == {p.unit_id for p in seen}
        for unit_id, money in by_unit.items():
            mine = [p for p in seen if p.unit_id == unit_id]
            assert money.projects == len(mine)
            assert money.committed_fen == sum(p.approved_fen or 0 for p in mine)
            assert money.spent_fen == sum(p.spent_fen for p in mine)
        total = figures.total
        assert (total.projects, total.committed_fen, total.spent_fen) == (
            len(seen),
            sum(p.approved_fen or 0 for p in seen if p.status is not ProjectStatus.REJECTED),
            sum(p.spent_fen for p in seen),
        )
        if expected_projects == 3:  # the seed's money, so the comparison is not of zeros
            assert (total.committed_fen, total.spent_fen) == (4_200_000, 200_000)
