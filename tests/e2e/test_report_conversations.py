"""A report is the whole conversation, end to end: the real bot, Rasa server, action server and database.

- An urgent report filed at once, whose address comes two turns later: the ticket, the 🔴 staff card
  (edited in the staff chat) and a line to the duty chat carry the address; the console shows it.
- The independent multi-turn set (data/eval/dialogues.yml, never tuned on) and the team's own
  development set (tests/data/dialogues/dev.yml), played as the bot sends turns: the safety rules
  hold on both (every urgent ticket carries the place the resident gave; status questions and small
  talk file nothing), and every development conversation comes out right unless it is marked as a
  known miss of the classifier. The per-conversation results are written to reports/ for the README.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from console.app import create_app
from tests.e2e.conftest import Stack
from tests.e2e.script import Runner, Script
from tests.support import dialogues
from tickets import auth
from tickets.models import Person, Ticket
from tickets.statuses import Role

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "tests" / "data" / "dialogues" / "dev.yml"
REPORTS = ROOT / "reports"


def test_an_urgent_ticket_gets_the_address_given_two_turns_later_on_its_card_and_in_the_console(
    e2e: Stack,
) -> None:
    Runner(e2e, Script.load(DEV.parent / "urgent_address_later.yml")).run()
    with e2e.db.unit_of_work() as uow:
        ticket = uow.session.scalars(
            select(Ticket)
            .join(Person, Person.id == Ticket.reporter_id)
            .where(Person.telegram_user_id == 10031)
        ).one()
        code = ticket.code
        assert [e.kind for e in ticket.events] == ["filed", "resident_info", "place_added"]
        if uow.session.scalar(select(Person).where(Person.username == "admin-e2e")) is None:
            auth.create_user(
                uow.session,
                username="admin-e2e",
                password="e2e-admin-password",
                role=Role.DISTRICT_ADMIN,
                unit=None,
                display_name="区管理员",
            )
        uow.commit()
    settings = replace(e2e.settings, console_secret_key="e2e-console-secret")
    app = create_app(settings, database=e2e.db, classifier=None, group_classifier=None)
    with TestClient(app, base_url="http://testserver") as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post(
            "/login",
            data={
                "username": "admin-e2e",
                "password": "e2e-admin-password",
                "csrf_token": token[1],
            },
            follow_redirects=False,
        )
        page = client.get(f"/tickets/{code}").text
    assert "幸福花园5栋302" in page
    assert "居民补充地点" in page and "（无） → 幸福花园5栋302" in page
    assert "佢话个腰好痛" in page


@pytest.mark.parametrize("path", [dialogues.DIALOGUES, DEV], ids=["independent", "development"])
def test_the_dialogue_sets_keep_the_safety_rules(e2e: Stack, path: Path) -> None:
    conversations = dialogues.load(path)
    player = dialogues.Player(e2e.settings.rasa_url, e2e.db, e2e.domain())
    first = 7_700_000 if path == dialogues.DIALOGUES else 7_800_000
    played = dialogues.play_all(player, conversations, workers=4, first_user_id=first)
    scores = [dialogues.score(p) for p in played]
    summary = dialogues.summarise(scores)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / f"dialogues-{path.stem}.json").write_text(
        json.dumps(
            {"summary": summary.as_dict(), "conversations": [s.__dict__ for s in scores]},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    assert [p.conversation.id for p in played if p.error] == []
    assert summary.urgent_tickets_place_kept == summary.urgent_tickets_place_given
    assert summary.filed_nothing == summary.must_file_nothing
    if path == DEV:
        known = {c.id for c in conversations if c.known_miss}
        assert [s.id for s in scores if not s.ok and s.id not in known] == []
