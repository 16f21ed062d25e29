"""``python -m tickets supervise``, run as the operator runs it: a dry run lists the warnings and
escalations due and changes nothing; a real run does them, and a second run finds nothing to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.tickets.factories import file
from tests.tickets.test_report_card import counted, seed
from tickets import messages, report_card
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import (
    ChatBinding,
    DueItem,
    ListEvent,
    OutboxItem,
    Ticket,
    TicketEvent,
    UnitChat,
)
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


def supervise(
    db: Database, tmp_path: Path, *args: str, now: str = AFTER_DUE
) -> list[dict[str, Any]]:
    run = subprocess.run(
        _command(now, *args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(db, tmp_path),
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def _command(now: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tickets", "supervise", "--now", now, "--json", *args]


def _env(db: Database, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db.url,
        "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "MINWEI_DATA_DIR": str(DATA_DIR),
        "MINWEI_SECRET_FILE": str(tmp_path / "secret.key"),
        "MINWEI_TIMEZONE": "Asia/Shanghai",
    }


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


# --- the monthly and quarterly 成绩单 ----------------------------------------------------------------

GROUPS = {-1001: "YX-SG-XF-01", -1002: "YX-SG-XF-02", -1003: "YX-SG-CH-01"}


def _bind_groups(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        tree = domain.units(uow.session)
        for chat, grid in GROUPS.items():
            uow.session.add(ChatBinding(chat_id=chat, title=grid, grid_id=tree.get(grid).id))
        uow.commit()


def _cards(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["kind"] == "report_card" and line["outcome"] == "done"]


def test_the_month_s_report_card_goes_to_each_area_s_groups_once_with_two_clocks_running(
    db: Database, domain: Domain, clock: Clock, tmp_path: Path
) -> None:
    seed(db, domain, clock)  # November and December tickets and projects
    _bind_groups(db, domain)
    assert _cards(supervise(db, tmp_path, now="2026-11-25T10:00")) == []
    with db.session() as session:
        planned = session.execute(
            select(DueItem.key, DueItem.status, DueItem.due_at).where(DueItem.kind == "report_card")
        ).all()
    assert sorted(planned) == [  # 09:00 local on the first day after the period
        ("report_card:month:2026-11-01", "pending", datetime(2026, 12, 1, 1, tzinfo=UTC)),
        ("report_card:quarter:2026-10-01", "pending", datetime(2027, 1, 1, 1, tzinfo=UTC)),
    ]

    # Two clocks (say the bot and a cron'd supervise) reach 1 December 09:30 at the same moment.
    runs = [
        subprocess.Popen(
            _command("2026-12-01T09:30"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_env(db, tmp_path),
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    done = [c for out, _ in outputs for c in _cards([json.loads(x) for x in out.splitlines()])]
    assert len(done) == 1
    assert done[0]["units"] == {"YX-SG": 3, "YX-SG-CH": 1, "YX-SG-XF": 2}
    assert done[0]["period"] == "2026年11月"

    tz = domain.settings.timezone
    with db.session() as session:
        posts = [
            (p.chat_id, p.payload["text"])
            for p in session.scalars(select(OutboxItem).where(OutboxItem.kind == "report_card"))
        ]
        tree = domain.units(session)
        november = report_card.parse_period("2026-11", tz, clock.now)
        want = {code: counted(session, tree, tree.get(code), november) for code in done[0]["units"]}
        events = session.scalars(select(ListEvent).where(ListEvent.kind == "report_card_posted"))
        assert sorted((e.subject, e.actor_label) for e in events) == [
            ("YX-SG", "督办时钟"),
            ("YX-SG-CH", "督办时钟"),
            ("YX-SG-XF", "督办时钟"),
        ]
    # Every group hears its community's and its street's card, each once.
    names = {"YX-SG": "石岗街道", "YX-SG-CH": "翠湖社区", "YX-SG-XF": "幸福社区"}
    got = sorted((chat, text.splitlines()[0]) for chat, text in posts)
    assert got == sorted(
        (chat, f"【民微成绩单】{names[code]} 2026年11月")
        for chat, grid in GROUPS.items()
        for code in ("YX-SG", grid.rsplit("-", 1)[0])
    )
    for _, text in posts:
        code = next(c for c, name in names.items() if f"】{name} " in text)
        n = want[code]
        rate = n.done / n.accepted if n.accepted else None
        assert f"收集诉求 {n.demands} 件，办结率 {messages.pct(rate)}" in text
        assert f"完成 {n.finished} 个" in text and f"/p/lists/{code}" in text
    assert want["YX-SG"].demands > 0

    # Later the same morning: nothing again; December's card is planned.
    assert _cards(supervise(db, tmp_path, now="2026-12-01T11:00")) == []
    with db.session() as session:
        assert session.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.kind == "report_card")
        ) == len(posts)
        pending = session.scalars(
            select(DueItem.key).where(DueItem.kind == "report_card", DueItem.status == "pending")
        ).all()
    assert sorted(pending) == ["report_card:month:2026-12-01", "report_card:quarter:2026-10-01"]


def test_a_report_card_due_in_quiet_hours_waits_and_an_old_one_is_not_posted(
    db: Database, domain: Domain, clock: Clock
) -> None:
    from dataclasses import replace

    from tickets.clock import Duration
    from tickets.usecases import supervision

    _bind_groups(db, domain)
    domain.rules = replace(domain.rules, report_card_after=Duration(0, "h"))
    midnight = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 1 December 00:30 local
    with db.unit_of_work() as uow:
        supervision.plan_report_cards(uow.session, domain, datetime(2026, 11, 20, tzinfo=UTC))
        steps = supervision.run_pass(uow.session, domain, now=midnight)
        uow.commit()
    held = [s for s in steps if s.kind == "report_card"]
    assert [(s.outcome, s.detail["until"]) for s in held] == [
        ("held", datetime(2026, 12, 1, 0, tzinfo=UTC).isoformat())  # 08:00 local
    ]
    with db.unit_of_work() as uow:
        steps = supervision.run_pass(uow.session, domain, now=datetime(2026, 12, 1, 0, tzinfo=UTC))
        uow.commit()
    assert [s.outcome for s in steps if s.kind == "report_card"] == ["done"]
    # A clock first started in mid-December does not post November's card.
    with db.unit_of_work() as uow:
        s = uow.session
        s.execute(delete(DueItem).where(DueItem.kind == "report_card"))
        supervision.plan_report_cards(s, domain, datetime(2026, 12, 15, tzinfo=UTC))
        keys = s.scalars(select(DueItem.key).where(DueItem.kind == "report_card")).all()
    assert sorted(keys) == ["report_card:month:2026-12-01", "report_card:quarter:2026-10-01"]
