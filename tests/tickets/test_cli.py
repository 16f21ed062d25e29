"""``python -m tickets``: migrate, load units, create accounts and keys, print statistics."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tickets import auth
from tickets.cli import main
from tickets.db import Database
from tickets.models import ApiKey, Person, utcnow
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


def test_a_password_piped_with_a_windows_line_end_is_stored_without_it(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["migrate"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\r\n"))
    assert main(["user", "create", "--username", "li", "--role", "district_admin"]) == 0
    db = Database(database)
    with db.unit_of_work() as uow:
        person = auth.authenticate(
            uow.session, username="li", password="a-long-password", now=utcnow()
        )
        assert person.username == "li"
    db.dispose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.text(
        st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=80
    )
)
def test_any_username_is_created_or_refused_with_a_message(
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    username: str,
) -> None:
    assert main(["migrate"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    code = main(["user", "create", f"--username={username}", "--role", "district_admin"])
    err = capsys.readouterr().err
    assert code == 0 or (code == 1 and err.startswith("错误："))
