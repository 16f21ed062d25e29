"""The 督办台 (tickets.usecases.follow.board) and the public board (tickets.usecases.publicboard.board)
read the open and published tickets through partial indexes (migration 0016); their lists and counts
equal those picked from every ticket in Python, for each unit level and scope, on both backends."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import access
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Ticket
from tickets.statuses import Role, Status
from tickets.units import UnitTree
from tickets.usecases import follow, publicboard

TEXTS = [
    ("elevator", "幸福花园3栋", "幸福花园3栋电梯坏咗"),
    ("sanitation", "康乐楼", "康乐楼门口垃圾冇人收"),
    ("noise", "翠湖花园", "翠湖花园广场舞好嘈"),
    ("road_facility", "大岭村市场", "大岭村市场路灯唔着"),
]
STATUSES = [
    Status.NEW,
    Status.ACCEPTED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.REOPENED,
    Status.RESOLVED,
    Status.CLOSED,
    Status.REJECTED,
]


def build(db: Database, domain: Domain, clock: Clock, n: int = 120) -> None:
    """``n`` tickets in several communities with seeded random follow-through columns (as the services
    and the supervision clock leave them): due times around now, send-backs, escalations to the
    street or district, visits, publication, some closed or merged (out of every list)."""
    rng = random.Random(7)
    now = clock.now
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        street, district = tree.get("YX-SG"), tree.root
        assert district is not None
        units = [tree.get(c) for c in ("YX-SG-XF", "YX-SG-CH", "YX-SG-CG", "YX-SG")]
        for i in range(n):
            category, place, text = TEXTS[i % len(TEXTS)]
            t = file(s, domain, f"{text}（{i}）", category, locations=[place])
            t.unit_id = rng.choice(units).id
            t.status = Status.MERGED if i % 13 == 0 else rng.choice(STATUSES)
            t.due_at = now + timedelta(hours=rng.randint(-48, 20))
            if rng.random() < 0.3:
                t.sent_back_count, t.sent_back_at = 1, now - timedelta(hours=rng.randint(1, 48))
            if rng.random() < 0.3:
                t.escalation_level = rng.choice([1, 2])
                t.escalated_to_id = rng.choice([street.id, district.id])
                t.escalated_at = now - timedelta(hours=rng.randint(1, 48))
            if rng.random() < 0.3:
                t.visit_at = now + timedelta(days=rng.uniform(-3, 20))
            if rng.random() < 0.5:
                t.published_at = now - timedelta(hours=rng.randint(1, 200))
        uow.commit()


def picked(
    tickets: list[Ticket],
    keep: Callable[[Ticket], bool],
    order: Callable[[Ticket], tuple[object, ...]],
    limit: int,
) -> tuple[list[str], int]:
    chosen = sorted((t for t in tickets if keep(t)), key=order)
    return [t.code for t in chosen[:limit]], len(chosen)


def expected_board(
    tickets: list[Ticket],
    tree: UnitTree,
    code: str,
    seen: Callable[[Ticket], bool],
    now: datetime,
    tz: ZoneInfo,
) -> dict[str, tuple[list[str], int]]:
    """Each list of the 督办台 by its definitions (tickets.usecases.follow), from every ticket."""
    unit = tree.get(code)
    ids = tree.subtree_ids(unit)
    top = unit.parent_id is None
    _, day_end = follow.local_day(now, tz)

    def ours(t: Ticket) -> bool:
        return t.unit_id is not None and (top or t.unit_id in ids)

    def base(t: Ticket) -> bool:
        return t.status.is_open and seen(t)

    limit = follow.LIST_LIMIT
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return {
        "due_today": picked(
            tickets,
            lambda t: base(t) and ours(t) and t.due_at is not None and now <= t.due_at < day_end,
            lambda t: (t.due_at or far, t.id),
            limit,
        ),
        "overdue": picked(
            tickets,
            lambda t: base(t) and ours(t) and t.due_at is not None and t.due_at < now,
            lambda t: (t.due_at or far, t.id),
            limit,
        ),
        "sent_back": picked(
            tickets,
            lambda t: base(t) and ours(t) and t.sent_back_at is not None,
            lambda t: (-(t.sent_back_at or now).timestamp(), t.id),
            limit,
        ),
        "escalated": picked(
            tickets,
            lambda t: (
                base(t) and t.escalation_level > 0 and (top or ours(t) or t.escalated_to_id in ids)
            ),
            lambda t: (-t.escalation_level, -(t.escalated_at or now).timestamp(), t.id),
            limit,
        ),
        "visits": picked(
            tickets,
            lambda t: (
                base(t)
                and ours(t)
                and t.visit_at is not None
                and now <= t.visit_at < now + follow.VISITS_AHEAD
            ),
            lambda t: (t.visit_at or far, t.id),
            limit,
        ),
    }


def test_the_follow_board_lists_equal_the_tickets_picked_one_by_one(
    db: Database, domain: Domain, clock: Clock
) -> None:
    build(db, domain, clock)
    now, tz = clock.now, domain.settings.timezone
    with db.session() as s:
        tree = domain.units(s)
        tickets = list(s.scalars(select(Ticket)))
        staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        admin = person(s, Role.DISTRICT_ADMIN, name="管理员")
        community_ids = tree.subtree_ids(tree.get("YX-SG-XF"))

        def in_community(t: Ticket) -> bool:
            return t.unit_id in community_ids or t.area_id in community_ids

        cases: list[tuple[str, ColumnElement[bool], Callable[[Ticket], bool]]] = [
            ("YX", access.visible_tickets(admin, tree), lambda t: True),
            ("YX-SG", access.visible_tickets(admin, tree), lambda t: True),
            ("YX-SG-XF", access.visible_tickets(staff, tree), in_community),
        ]
        for code, scope, seen in cases:
            board = follow.board(s, tree=tree, unit=tree.get(code), now=now, tz=tz, scope=scope)
            expected = expected_board(tickets, tree, code, seen, now, tz)
            for name, (codes, total) in expected.items():
                found: follow.FollowList = getattr(board, name)
                assert ([r.code for r in found.rows], found.total) == (codes, total), (code, name)
            # The data reaches every list (or the equality says little).
            assert all(total for _, total in expected.values()), (code, expected)


def test_the_public_board_equals_the_published_tickets_picked_one_by_one(
    db: Database, domain: Domain, clock: Clock
) -> None:
    build(db, domain, clock)
    with db.session() as s:
        tree = domain.units(s)
        tickets = list(s.scalars(select(Ticket)))
        for code in (None, "YX-SG", "YX-SG-XF"):
            unit = tree.get(code) if code else None
            ids = tree.subtree_ids(unit) if unit is not None else set()
            shown = [
                t
                for t in tickets
                if t.published_at is not None
                and t.status is not Status.MERGED
                and (unit is None or t.unit_id in ids or t.area_id in ids)
            ]
            board = publicboard.board(s, tree=tree, unit=unit)
            newest = sorted(shown, key=lambda t: (t.published_at, t.id), reverse=True)
            assert [t.code for t in board.tickets] == [
                t.code for t in newest[: publicboard.BOARD_LIMIT]
            ]
            assert (board.total, board.open, board.done) == (
                len(shown),
                sum(1 for t in shown if t.status.is_open),
                sum(1 for t in shown if t.status in (Status.RESOLVED, Status.CLOSED)),
            )
            assert shown and board.open and board.done, code
