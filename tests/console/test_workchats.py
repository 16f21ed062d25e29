"""工作群: the units' Telegram work chats, listed and removed by those who manage the unit, every bind
and removal kept in the staff audit log."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from tests.console.conftest import post, sign_in
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, StaffAction, UnitChat
from tickets.usecases import unitchats


def bind(db: Database, domain: Domain, unit: str, chat_id: int, title: str, by: int) -> int:
    """Bind a work chat the way /bindunit does (a staff member linked to Telegram)."""
    with db.unit_of_work() as uow:
        person = uow.session.get(Person, by)
        assert person is not None
        person.telegram_user_id = person.telegram_user_id or 990000 + by
        uow.session.flush()
        view = unitchats.bind(
            uow.session,
            domain,
            chat_id=chat_id,
            title=title,
            unit_code=unit,
            telegram_user_id=person.telegram_user_id,
        )
        uow.commit()
        return view.id


def test_each_role_lists_the_work_chats_of_its_units(
    client: TestClient, db: Database, domain: Domain, staff: dict[str, int]
) -> None:
    bind(db, domain, "YX-SG-XF", -1001, "幸福社区工作群", staff["xingfu"])
    bind(db, domain, "YX-SG-CH", -1002, "翠湖社区工作群", staff["cuihu"])
    bind(db, domain, "YX-SG", -1003, "石岗街道工作群", staff["street"])

    def titles(username: str) -> list[str]:
        page = sign_in(client, username).get("/workchats").text
        table = page[page.index('data-testid="workchats"') :]
        return re.findall(r"<td>([^<]*工作群)</td>", table[: table.index("</table>")])

    assert titles("admin") == ["石岗街道工作群", "翠湖社区工作群", "幸福社区工作群"]
    assert titles("street") == ["石岗街道工作群", "翠湖社区工作群", "幸福社区工作群"]
    assert titles("xingfu") == ["幸福社区工作群"]
    page = client.get("/workchats").text
    assert "-1001" in page and "xingfu" in page  # chat id and who bound it


def test_removing_a_work_chat_is_scoped_csrf_checked_and_audited(
    client: TestClient, db: Database, domain: Domain, staff: dict[str, int]
) -> None:
    mine = bind(db, domain, "YX-SG-XF", -1001, "幸福社区工作群", staff["xingfu"])
    theirs = bind(db, domain, "YX-SG-CH", -1002, "翠湖社区工作群", staff["cuihu"])
    sign_in(client, "xingfu")

    # Another community's chat: not found, and still there.
    r = post(client, f"/workchats/{theirs}/remove", {}, page="/workchats")
    assert r.status_code == 404  # type: ignore[attr-defined]
    # Without the CSRF token: refused.
    r2 = client.post(f"/workchats/{mine}/remove", follow_redirects=False)
    assert r2.status_code == 403
    with db.session() as s:
        assert sorted(s.scalars(select(UnitChat.chat_id))) == [-1002, -1001]

    r = post(client, f"/workchats/{mine}/remove", {}, page="/workchats")
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = client.get("/workchats").text
    assert "已移除幸福社区的工作群「幸福社区工作群」" in page
    with db.session() as s:
        assert list(s.scalars(select(UnitChat.chat_id))) == [-1002]
        audit = [
            (a.kind, a.actor_id, a.channel, a.data["chat_id"], a.data["title"])
            for a in s.scalars(select(StaffAction).order_by(StaffAction.id))
        ]
    assert audit == [
        ("unit_chat_bound", staff["xingfu"], "telegram", -1001, "幸福社区工作群"),
        ("unit_chat_bound", staff["cuihu"], "telegram", -1002, "翠湖社区工作群"),
        ("unit_chat_removed", staff["xingfu"], "console", -1001, "幸福社区工作群"),
    ]
    changes = page[page.index('data-testid="workchat-changes"') :]
    assert "移除" in changes and "网页后台" in changes and "翠湖" not in changes

    # The street manages its communities' chats.
    sign_in(client, "street")
    r = post(client, f"/workchats/{theirs}/remove", {}, page="/workchats")
    assert r.status_code == 303  # type: ignore[attr-defined]
    with db.session() as s:
        assert list(s.scalars(select(UnitChat))) == []


def test_the_work_chats_page_needs_a_sign_in(client: TestClient) -> None:
    r = client.get("/workchats", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
