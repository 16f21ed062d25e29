"""``python -m tickets``: migrate, load units, create accounts and keys, print statistics."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tickets.cli import main
from tickets.db import Database
from tickets.models import ApiKey, Person
from tickets.settings import DATA_DIR


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MINWEI_DATA_DIR", str(DATA_DIR))
    return url


def test_a_new_deployment_is_set_up_from_the_command_line(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["load-units", str(DATA_DIR / "units.yml")]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    assert (
        main(
            [
                "user",
                "create",
                "--username",
                "chen",
                "--role",
                "community_staff",
                "--unit",
                "YX-SG-XF",
            ]
        )
        == 0
    )
    assert main(["api-key", "create", "open311-test"]) == 0
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    assert key.startswith("mw_")
    assert main(["stats", "--period", "month", "--by", "category"]) == 0
    assert "诉求量" in capsys.readouterr().out
    db = Database(database)
    with db.session() as session:
        person = session.scalars(select(Person)).one()
        assert (
            person.username == "chen"
            and person.password_hash
            and "a-long-password" not in person.password_hash
        )
        assert session.scalars(select(ApiKey)).one().key_hash != key
    db.dispose()


def test_errors_are_reported_in_chinese_with_a_non_zero_exit(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["migrate"])
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "create", "--username", "x", "--role", "district_admin"]) == 1
    assert "密码至少" in capsys.readouterr().err
    assert main(["stats", "--period", "someday"]) == 1
    assert "无法识别的时间段" in capsys.readouterr().err
