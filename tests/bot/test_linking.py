"""Console accounts are linked to Telegram users from the command line (python -m tickets user …)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.tickets.factories import file
from tickets.cli import main
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MINWEI_DATA_DIR", str(DATA_DIR))
    assert main(["migrate"]) == 0
    assert main(["load-units", str(DATA_DIR / "units.yml")]) == 0
    db = Database(url)
    yield db  # type: ignore[misc]
    db.dispose()


def test_a_staff_account_takes_over_its_owners_resident_record(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = Domain.load(Settings(database_url=database.url))
    with database.unit_of_work() as uow:  # 李主任 reported a problem as a resident first
        me = Person(role=Role.RESIDENT, telegram_user_id=601, display_name="李")
        uow.session.add(me)
        uow.session.flush()
        file(uow.session, domain, "东风路路灯唔着", "road_facility", reporter=me)
        uow.commit()
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    args = ["user", "create", "--username", "li", "--role", "community_staff", "--unit", "YX-SG-DF"]
    assert main([*args, "--telegram-id", "601"]) == 0
    assert "Telegram 601" in capsys.readouterr().out
    with database.session() as s:
        li = s.scalars(select(Person).where(Person.username == "li")).one()
        assert li.telegram_user_id == 601
        assert s.scalars(select(Ticket.reporter_id)).one() == li.id


def test_linking_an_existing_account_and_refusing_a_taken_telegram_user(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("wang", "zhao"):
        monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
        assert (
            main(
                [
                    "user",
                    "create",
                    "--username",
                    name,
                    "--role",
                    "grid_member",
                    "--unit",
                    "YX-SG-XF-01",
                ]
            )
            == 0
        )
    assert main(["user", "link", "--username", "wang", "--telegram-id", "801"]) == 0
    assert main(["user", "link", "--username", "zhao", "--telegram-id", "801"]) == 1
    assert "已关联到 wang" in capsys.readouterr().err
    assert main(["user", "link", "--username", "nobody", "--telegram-id", "802"]) == 1
