"""公开栏 /p/board: 公开办 tickets the supervision clock published, for the district and per unit, with
nothing personal on them and no sign-in."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket
from tickets.statuses import HandlingMode, Role
from tickets.usecases import supervision


def publish(db: Database, domain: Domain, clock: Clock, code: str, admin: int) -> None:
    """公开办 the ticket, accept it and let the supervision clock publish it."""
    with db.unit_of_work() as uow:
        s = uow.session
        t = s.scalar(select(Ticket).where(Ticket.code == code))
        actor = s.get(Person, admin)
        assert t is not None and actor is not None
        services.set_handling_mode(
            session=s, domain=domain, ticket=t, mode=HandlingMode.PUBLIC, actor=actor
        )
        services.accept(session=s, domain=domain, ticket=t, actor=actor)
        services.add_note(
            session=s, domain=domain, ticket=t, text="已联系陈姨，电话13812345678", actor=actor
        )
        uow.commit()
    clock.advance(minutes=5)
    with db.unit_of_work() as uow:
        supervision.run_pass(uow.session, domain)
        uow.commit()


def cards(page: str) -> list[str]:
    return re.findall(r'<small class="muted">(MW-[0-9-]+)</small>', page)


def test_the_board_shows_published_tickets_without_anything_personal(
    client: TestClient, db: Database, domain: Domain, clock: Clock, staff: dict[str, int]
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=777002, name="陈姨")
        forwarder = person(s, Role.GRID_MEMBER, tg=777003, name="李网格")
        public = file(
            s,
            domain,
            "陈姨话幸福花园5栋化粪池满咗，李网格都睇过，打13812345678或者身份证440106199001011234",
            "sanitation",
            locations=["幸福花园5栋"],
            reporter=resident,
            forwarder=forwarder,
        ).code
        quiet = file(s, domain, "翠湖花园路灯唔着", "road_facility", locations=["翠湖花园"]).code
        other = file(s, domain, "翠湖花园垃圾冇人收", "sanitation", locations=["翠湖花园"]).code
        uow.commit()
    publish(db, domain, clock, public, staff["admin"])
    publish(db, domain, clock, other, staff["admin"])
    with db.session() as s:
        published = {
            t.code: t.published_at for t in s.scalars(select(Ticket).where(Ticket.code != quiet))
        }
    assert all(published.values())

    client.cookies.clear()
    r = client.get("/p/board")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers and r.headers["x-robots-tag"] == "noindex"
    page = r.text
    assert cards(page) == [other, public]  # newest first; the quiet (not 公开办) one is not there
    for personal in ("陈姨", "李网格", "13812345678", "440106199001011234", "admin", "已联系"):
        assert personal not in page
    assert "138****5678" in page and "＊＊话幸福花园5栋化粪池满咗" in page
    assert "环境卫生" in page and "幸福花园5栋" in page
    assert "受理" in page and "公开办理" in page  # public steps only: no note, no actor
    assert "<div><span>公开办理</span><b>2</b></div>" in page

    xingfu = client.get("/p/board/YX-SG-XF").text
    assert cards(xingfu) == [public]
    assert cards(client.get("/p/board/YX-SG-CH").text) == [other]
    assert cards(client.get("/p/board/YX-NL").text) == []
    assert "暂无公开办理的诉求" in client.get("/p/board/YX-NL").text
    assert client.get("/p/board/NOPE").status_code == 404
    # The progress page of a single ticket still works beside the board.
    assert client.get(f"/p/{public}").status_code == 404  # no signature, as before


def test_the_board_keeps_its_sections_for_later_lists(
    client: TestClient, staff: dict[str, int]
) -> None:
    page = client.get("/p/board").text
    assert 'data-testid="board-summary"' in page and 'data-testid="board-tickets"' in page
    assert '<a href="/p/board/YX-SG">' in page  # the streets below the district
