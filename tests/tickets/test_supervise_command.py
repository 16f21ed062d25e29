"""``python -m tickets supervise``, run as the operator runs it: a dry run lists the warnings and
escalations due and changes nothing; a real run does them, and a second run finds nothing to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.tickets.factories import file
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import DueItem, OutboxItem, Ticket, TicketEvent, UnitChat
from tickets.settings import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
COMMUNITY_CHAT = -2001  # 幸福社区 (YX-SG-XF)
STREET_CHAT = -2002  # 石岗街道 (YX-SG)
#: Thursday 2026-11-26 11:30 in Guangzhou, as an operator types it (local time, no offset).
AFTER_DUE = "2026-11-26T11:30"


@pytest.fixture
def overdue(db: Database, domain: Domain, clock: Clock) -> tuple[str, str]:
    """Two elevator tickets at 幸福花园, handled by the community within 3 working days: one filed
    Monday 09:00 (due Thursday 09:00, overdue at AFTER_DUE), one filed Tuesday 09:00 (due Friday
    09:00: its 24-hour warning is due at AFTER_DUE)."""
    with db.unit_of_work() as uow:
        tree = domain.units(uow.session)
        for unit, chat in (("YX-SG-XF", COMMUNITY_CHAT), ("YX-SG", STREET_CHAT)):
            uow.session.add(UnitChat(unit_id=tree.get(unit).id, chat_id=chat, title=unit))
        late = file(
            uow.session, domain, "幸福花园3栋电梯坏了三天", "elevator", locations=["幸福花园"]
        )
        clock.advance(days=1)
        soon = file(uow.session, domain, "幸福花园5栋电梯关人", "elevator", locations=["幸福花园"])
        uow.commit()
        return late.code, soon.code


def supervise(db: Database, tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "DATABASE_URL": db.url,
        "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "MINWEI_DATA_DIR": str(DATA_DIR),
        "MINWEI_SECRET_FILE": str(tmp_path / "secret.key"),
        "MINWEI_TIMEZONE": "Asia/Shanghai",
    }
    run = subprocess.run(
        [sys.executable, "-m", "tickets", "supervise", "--now", AFTER_DUE, "--json", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a run of the clock may change."""
    with db.session() as session:
        return {
            "due": [
                tuple(r)
                for r in session.execute(
                    select(DueItem.key, DueItem.status, DueItem.due_at).order_by(DueItem.key)
                )
            ],
            "outbox": [
                tuple(r) for r in session.execute(select(OutboxItem.id, OutboxItem.dedupe_key))
            ],
            "events": [tuple(r) for r in session.execute(select(TicketEvent.id, TicketEvent.kind))],
            "tickets": [
                tuple(r)
                for r in session.execute(
                    select(Ticket.code, Ticket.escalation_level, Ticket.status)
                )
            ],
        }


def actions(lines: list[dict[str, Any]]) -> set[tuple[str, str, str, str | None]]:
    """(kind, ticket, unit, to whom it goes up) of each action taken."""
    return {
        (
            line["kind"],
            line["ticket"],
            line["unit"],
            line.get("to") if line["kind"] == "escalate" else None,
        )
        for line in lines
        if line["outcome"] == "done"
    }


def test_a_dry_run_lists_the_warnings_and_escalations_and_changes_nothing(
    db: Database, overdue: tuple[str, str], tmp_path: Path
) -> None:
    late, soon = overdue
    before = state(db)
    lines = supervise(db, tmp_path, "--dry-run")
    assert actions(lines) == {
        ("escalate", late, "YX-SG-XF", "YX-SG"),
        ("warn", soon, "YX-SG-XF", None),
    }
    assert all(line["dry_run"] is True for line in lines)
    # The overdue ticket's three warnings came too late to matter: skipped, not sent.
    assert sorted((line["kind"], line["outcome"]) for line in lines if line["ticket"] == late) == [
        ("escalate", "done"),
        ("warn", "skipped"),
        ("warn", "skipped"),
        ("warn", "skipped"),
    ]
    assert state(db) == before


def test_a_real_run_does_them_once(db: Database, overdue: tuple[str, str], tmp_path: Path) -> None:
    late, soon = overdue
    dry = supervise(db, tmp_path, "--dry-run")
    filed = {row[0] for row in state(db)["outbox"]}
    real = supervise(db, tmp_path)
    assert actions(real) == actions(dry)
    with db.session() as session:
        messages = {
            (m.chat_id, m.kind, m.payload["text"].splitlines()[0])
            for m in session.scalars(select(OutboxItem).where(OutboxItem.id.not_in(filed)))
        }
        assert messages == {
            (
                COMMUNITY_CHAT,
                "clock_warn",
                f"⏰ 工单 {soon} 将在 24小时后到期（11月27日 09:00），当前状态：待受理。",
            ),
            (  # the card, to the street
                STREET_CHAT,
                "staff_card",
                "🚨【督办·一级】已超过办理时限，超期 2 小时。承办单位：幸福社区。请督促办理。",
            ),
            (COMMUNITY_CHAT, "clock_escalate", f"⚠️ 工单 {late}已超过办理时限，已报石岗街道督办。"),
        }
        escalated = session.scalars(select(Ticket).where(Ticket.code == late)).one()
        assert escalated.escalation_level == 1
    after = state(db)
    assert supervise(db, tmp_path) == []
    assert state(db) == after
