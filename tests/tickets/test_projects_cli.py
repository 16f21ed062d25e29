"""``python -m tickets demo``, ``projects list --json`` and ``report-card`` against the configured database
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tickets.cli import main
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import (
    Base,
    Need,
    OutboxItem,
    Project,
    ProjectVote,
    Resource,
    Service,
    Ticket,
)
from tickets.projectstatus import ProjectStatus
from tickets.settings import DATA_DIR


@pytest.fixture
def configured(db: Database, domain: Domain, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The CLI reads DATABASE_URL: point it at the test database (units loaded by ``domain``)."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("MINWEI_DATA_DIR", str(DATA_DIR))
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-key-for-public-links")
    return db


def _row_counts(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


def test_the_demo_loads_lists_and_two_projects_and_a_second_run_changes_nothing(
    configured: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    assert "已载入演示数据" in capsys.readouterr().out
    first = _row_counts(configured)
    assert main(["demo"]) == 0
    assert "演示数据已存在" in capsys.readouterr().out
    assert _row_counts(configured) == first
    with configured.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 6
        assert s.scalar(select(func.count(Need.id))) == 3  # two cases of 2+ reports, one survey
        assert s.scalar(select(func.count(Resource.id))) == 2
        assert s.scalar(select(func.count(Service.id))) == 2
        statuses = sorted(p.status.value for p in s.scalars(select(Project)))
        assert statuses == sorted([ProjectStatus.VOTING.value, ProjectStatus.IMPLEMENTING.value])
        # The demo residents do not exist on Telegram: the approval notices wait in the outbox.
        assert (
            s.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.kind == "project_approved"))
            == 2
        )


def test_projects_list_prints_one_json_object_per_project(
    configured: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    capsys.readouterr()
    assert main(["projects", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with configured.session() as s:
        projects = {
            p.code: (p.title, p.status.value, (p.approved_fen or p.estimated_fen) / 100)
            for p in s.scalars(select(Project))
        }
        votes = s.scalar(select(func.count(ProjectVote.id)))
    assert votes == 0
    assert {r["code"] for r in rows} == set(projects)
    for r in rows:
        title, status, budget = projects[r["code"]]
        assert {"code", "title", "status", "unit", "budget", "votes_for", "votes_against"} <= set(r)
        assert (r["title"], r["status"], r["unit"], r["budget"]) == (
            title,
            status,
            "YX-SG-XF",
            budget,
        )
        assert (r["votes_for"], r["votes_against"]) == (0, 0)
    assert main(["projects", "list", "--unit", "YX-SG-CH", "--json"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["projects", "list", "--unit", "NOPE", "--json"]) == 1


def test_the_report_card_of_the_demo(
    configured: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    capsys.readouterr()
    assert main(["report-card", "--unit", "YX-SG-XF", "--period", "month", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert (card["demands"], card["projects_proposed"], card["projects_approved"]) == (6, 2, 1)
    assert (card["money_committed"], card["money_spent"]) == (14500.0, 6200.0)


def test_first_run_on_a_fresh_sqlite_database_loads_the_demo_and_makes_one_admin(
    configured: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from tickets import auth
    from tickets.models import Person, utcnow
    from tickets.statuses import Role

    assert main(["first-run"]) == 0
    out = capsys.readouterr().out
    if configured.dialect != "sqlite":  # only the embedded database is set up this way
        assert out == ""
        assert _row_counts(configured)["projects"] == 0
        return
    assert "已载入演示数据" in out
    password = out.split("密码 ", 1)[1].split("（", 1)[0]
    with configured.session() as s:
        admin = s.scalars(select(Person).where(Person.role == Role.DISTRICT_ADMIN)).one()
        assert admin.username == "admin"
        assert (
            auth.authenticate(s, username="admin", password=password, now=utcnow()).id == admin.id
        )
    counts = _row_counts(configured)
    assert main(["first-run"]) == 0
    assert capsys.readouterr().out == ""
    assert _row_counts(configured) == counts
