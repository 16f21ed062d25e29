"""Location pins from Telegram through the real bot (fake Bot API on loopback): a pin shared in a grid
group in reply to a message that was filed becomes the ticket's coordinates, the staff card says where
it is, and the console's ticket page and Open311 JSON return it. (A resident's pin in the private
dialogue goes through Rasa and the action server: tests/e2e/test_geo.py.)"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from console.app import create_app
from tests.bot.conftest import Harness, demand
from tests.conftest import STAFF_CHAT_ID
from tests.console.conftest import sign_in
from tickets import auth
from tickets.models import Ticket, TicketEvent
from tickets.statuses import Role

GROUP = -100200301
GRID_MEMBER, NEIGHBOUR, STRANGER = 811, 812, 813
PIN = {"latitude": 23.129123, "longitude": 113.264456}
TEXT = "北门出面个渠盖冇咗，好危险"


@pytest.fixture
def grid(bot: Harness) -> dict[str, Any]:
    bot.person(Role.GRID_MEMBER, GRID_MEMBER, unit="YX-SG-XF-01", name="小李")
    return {
        "member": bot.telegram.user(GRID_MEMBER, "网格员小李"),
        "neighbour": bot.telegram.user(NEIGHBOUR, "黄伯"),
        "stranger": bot.telegram.user(STRANGER, "路人"),
        "chat": bot.telegram.group(GROUP, "幸福花园业主群"),
    }


async def filed_in_group(bot: Harness, grid: dict[str, Any]) -> dict[str, Any]:
    bot.telegram.message(grid["member"], "/bind YX-SG-XF-01", chat=grid["chat"])
    await bot.settle()
    bot.classifier.table[TEXT] = demand("road_facility", text=TEXT)
    said = bot.telegram.message(grid["neighbour"], TEXT, chat=grid["chat"])
    await bot.settle()
    return said


def staff_client(bot: Harness) -> TestClient:
    with bot.db.unit_of_work() as uow:
        auth.create_user(
            uow.session,
            username="xingfu",
            password="correct horse battery",
            role=Role.COMMUNITY_STAFF,
            unit=bot.domain.units(uow.session).get("YX-SG-XF"),
            display_name="幸福社区",
        )
        uow.commit()
    settings = replace(bot.domain.settings, console_secret_key="test-secret-key-for-the-console")
    app = create_app(settings, database=bot.db, domain=bot.domain, classifier=None)
    return TestClient(app, base_url="http://testserver")


async def test_a_grid_member_s_pin_in_reply_to_a_filed_message_reaches_the_card_console_and_open311(
    bot: Harness, grid: dict[str, Any]
) -> None:
    said = await filed_in_group(bot, grid)
    bot.telegram.message(
        grid["member"], None, chat=grid["chat"], location=PIN, reply_to_message=said
    )
    await bot.settle()
    with bot.db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.latitude, ticket.longitude) == (23.129123, 113.264456)
        [event] = s.scalars(select(TicketEvent).where(TicketEvent.kind == "pin_added")).all()
        assert event.data["near"] == "YX-SG-XF"
        code = ticket.code
    [card] = bot.telegram.texts(STAFF_CHAT_ID)  # the card itself, edited
    assert "定位（23.12912, 113.26446）· 近 幸福社区" in card
    assert len(bot.telegram.texts(GROUP)) == 1  # only the /bind answer: the group hears nothing
    with staff_client(bot) as client:
        sign_in(client, "xingfu")
        assert "定位（23.12912, 113.26446）· 近 幸福社区" in client.get(f"/tickets/{code}").text
        [body] = client.get(f"/open311/v2/requests/{code}.json").json()
        assert (body["lat"], body["long"]) == (23.129123, 113.264456)


async def test_a_venue_counts_as_a_pin_and_a_stranger_s_pin_does_not(
    bot: Harness, grid: dict[str, Any]
) -> None:
    said = await filed_in_group(bot, grid)
    venue = {"location": PIN, "title": "幸福花园北门", "address": "幸福路1号"}
    bot.telegram.message(
        grid["stranger"], None, chat=grid["chat"], location=PIN, venue=venue, reply_to_message=said
    )
    await bot.settle()
    with bot.db.session() as s:
        assert s.scalars(select(Ticket)).one().latitude is None  # not theirs, not a grid member
    bot.telegram.message(
        grid["neighbour"], None, chat=grid["chat"], location=PIN, venue=venue, reply_to_message=said
    )
    await bot.settle()
    with bot.db.session() as s:
        assert s.scalars(select(Ticket)).one().latitude == PIN["latitude"]  # the reporter's own


async def test_a_pin_that_replies_to_chatter_changes_nothing(
    bot: Harness, grid: dict[str, Any]
) -> None:
    await filed_in_group(bot, grid)
    chatter = bot.telegram.message(grid["neighbour"], "早晨！", chat=grid["chat"])
    bot.telegram.message(
        grid["member"], None, chat=grid["chat"], location=PIN, reply_to_message=chatter
    )
    await bot.settle()
    with bot.db.session() as s:
        assert s.scalars(select(Ticket)).one().latitude is None
        assert s.scalars(select(TicketEvent).where(TicketEvent.kind == "pin_added")).all() == []
