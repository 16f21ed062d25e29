"""A resident's Telegram location pin, end to end: the real bot, Rasa server, action server and database.
The urgent report's "where exactly?" is answered with a pin; the ticket gets its coordinates and goes to
the nearest community; the staff card, the console's ticket page and Open311 JSON show them."""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from console.app import create_app
from tests.e2e.conftest import Stack
from tests.e2e.script import Runner, Script
from tickets import auth
from tickets.models import Person, Ticket
from tickets.statuses import Role

SCRIPT = Path(__file__).resolve().parents[1] / "data" / "dialogues" / "urgent_pin.yml"


def test_a_pin_answering_where_reaches_the_ticket_the_console_and_open311(e2e: Stack) -> None:
    Runner(e2e, Script.load(SCRIPT)).run()
    with e2e.db.unit_of_work() as uow:
        ticket = uow.session.scalars(
            select(Ticket)
            .join(Person, Person.id == Ticket.reporter_id)
            .where(Person.telegram_user_id == 10032)
        ).one()
        code = ticket.code
        assert ticket.area is not None and ticket.area.name == "幸福社区"
        if uow.session.scalar(select(Person).where(Person.username == "geo-e2e")) is None:
            auth.create_user(
                uow.session,
                username="geo-e2e",
                password="e2e-geo-password",
                role=Role.COMMUNITY_STAFF,
                unit=e2e.domain().units(uow.session).get("YX-SG-XF"),
                display_name="幸福社区",
            )
        _, key = auth.create_api_key(uow.session, name="e2e 地图")
        uow.commit()
    settings = replace(e2e.settings, console_secret_key="e2e-console-secret")
    app = create_app(settings, database=e2e.db, classifier=None, group_classifier=None)
    with TestClient(app, base_url="http://testserver") as client:
        [public] = client.get(
            f"/open311/v2/requests/{code}.json", headers={"X-Api-Key": key}
        ).json()
        assert (public["lat"], public["long"]) == (23.129, 113.264)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post(
            "/login",
            data={"username": "geo-e2e", "password": "e2e-geo-password", "csrf_token": token[1]},
            follow_redirects=False,
        )
        page = client.get(f"/tickets/{code}").text
        [staff] = client.get(f"/open311/v2/requests/{code}.json").json()
    assert "定位（23.12912, 113.26446）· 近 幸福社区" in page
    assert (staff["lat"], staff["long"]) == (23.129123, 113.264456)
