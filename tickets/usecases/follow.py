"""督办台: what one unit must follow up today — due today, overdue, sent back to it (退单), escalated
(督办), tickets it helps with (协办) and upcoming visits (上门) — and each ticket's supervision timeline
(its due items). Frozen views out; the console renders them.

A unit's tickets are those whose responsible unit is the unit or below it (a street sees its
communities' tickets); the caller's access scope is applied on top, except for 协办, where being a
helper unit is what lets its staff see the ticket."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select, text, true
from sqlalchemy.orm import Session

from tickets import messages
from tickets.clock import DueKind
from tickets.models import (
    ESCALATED_SQL,
    OPEN_STATUS_SQL,
    DueItem,
    Ticket,
    TicketEvent,
    TicketHelper,
    Unit,
)
from tickets.statuses import EventKind, Status
from tickets.units import UnitTree

#: Most rows one list shows (the counts say how many there are).
LIST_LIMIT = 200
#: How far ahead the visits list looks.
VISITS_AHEAD = timedelta(days=14)


@dataclass(frozen=True)
class FollowRow:
    """One ticket in a 督办台 list; ``note`` says why it is there (the 退单 reason, the 督办 level …)."""

    code: str
    category: str
    place: str
    status: Status
    urgent: bool
    unit_name: str
    due_at: datetime | None
    at: datetime | None  # the list's own time: sent back, escalated, helper added, visit
    note: str = ""


@dataclass(frozen=True)
class FollowList:
    rows: tuple[FollowRow, ...]
    total: int


@dataclass(frozen=True)
class FollowBoard:
    """A unit's follow-up lists as of ``now``."""

    unit_code: str
    unit_name: str
    now: datetime
    due_today: FollowList
    overdue: FollowList
    sent_back: FollowList
    escalated: FollowList
    helping: FollowList
    visits: FollowList


@dataclass(frozen=True)
class DueView:
    """One step of a ticket's supervision clock (``DueItem``)."""

    kind: str
    label: str
    due_at: datetime
    status: str  # pending, done, skipped, cancelled
    status_label: str
    done_at: datetime | None
    detail: str


DUE_STATUS_LABELS = {
    "pending": "待执行",
    "done": "已执行",
    "skipped": "已跳过",
    "cancelled": "已取消",
}


def _sql(clause: str) -> ColumnElement[bool]:
    """A literal SQL condition: SQLite uses a partial index only when the query repeats its text."""
    return text(clause).self_group()  # type: ignore[return-value]


def _open() -> ColumnElement[bool]:
    """Open tickets, as the partial indexes of the lists say it (ix_tickets_open_due and those of
    migration 0016: each list reads only the open tickets it shows)."""
    return _sql(OPEN_STATUS_SQL)


#: The columns a list shows (not the wide text columns).
_COLUMNS = (
    Ticket.id,
    Ticket.code,
    Ticket.category,
    Ticket.location_text,
    Ticket.area_id,
    Ticket.unit_id,
    Ticket.status,
    Ticket.urgent,
    Ticket.due_at,
    Ticket.sent_back_at,
    Ticket.escalated_at,
    Ticket.visit_at,
)


def _rows(
    session: Session,
    stmt: Select[tuple[Ticket]],
    tree: UnitTree,
    at: str | None,
    notes: dict[int, str] | None = None,
) -> FollowList:
    total = session.scalar(stmt.with_only_columns(func.count()).order_by(None)) or 0
    found = session.execute(stmt.with_only_columns(*_COLUMNS).limit(LIST_LIMIT)).all()
    rows = tuple(
        FollowRow(
            code=t.code,
            category=t.category,
            place=t.location_text
            or (tree.by_id[t.area_id].name if t.area_id in tree.by_id else ""),
            status=t.status,
            urgent=t.urgent,
            unit_name=tree.by_id[t.unit_id].name if t.unit_id in tree.by_id else "—",
            due_at=t.due_at,
            at=getattr(t, at) if at else None,
            note=(notes or {}).get(t.id, ""),
        )
        for t in found
    )
    return FollowList(rows, int(total))


def _latest_events(session: Session, ids: Sequence[int], kind: EventKind) -> dict[int, TicketEvent]:
    """The latest ``kind`` event of each ticket."""
    if not ids:
        return {}
    found: dict[int, TicketEvent] = {}
    events = session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == kind.value)
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    for event in events:
        found[event.ticket_id] = event
    return found


def local_day(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start and end of ``now``'s local day, in UTC."""
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(), tz).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)


def board(
    session: Session,
    *,
    tree: UnitTree,
    unit: Unit,
    now: datetime,
    tz: ZoneInfo,
    scope: ColumnElement[bool],
) -> FollowBoard:
    """The 督办台 of ``unit`` (and the units below it) as of ``now``, within ``scope``."""
    ids = sorted(tree.subtree_ids(unit))
    # The top of the tree: every ticket with a responsible unit (no list of every unit id).
    ours = Ticket.unit_id.in_(ids) if unit.parent_id is not None else Ticket.unit_id.is_not(None)
    _, day_end = local_day(now, tz)

    def base(*where: ColumnElement[bool]) -> Select[tuple[Ticket]]:
        # select_from: a count keeps its FROM when no condition names a column (literal SQL).
        return select(Ticket).select_from(Ticket).where(_open(), scope, *where)

    due_today = base(ours, Ticket.due_at >= now, Ticket.due_at < day_end).order_by(
        Ticket.due_at, Ticket.id
    )
    overdue = base(ours, Ticket.due_at < now).order_by(Ticket.due_at, Ticket.id)

    sent_back_stmt = base(ours, Ticket.sent_back_at.is_not(None)).order_by(
        Ticket.sent_back_at.desc(), Ticket.id
    )
    sent_ids = list(session.scalars(sent_back_stmt.with_only_columns(Ticket.id).limit(LIST_LIMIT)))
    sent_notes = {
        tid: _send_back_note(e, tree)
        for tid, e in _latest_events(session, sent_ids, EventKind.SEND_BACK).items()
    }

    escalated_stmt = base(
        _sql(ESCALATED_SQL),
        ours | Ticket.escalated_to_id.in_(ids) if unit.parent_id is not None else true(),
    ).order_by(Ticket.escalation_level.desc(), Ticket.escalated_at.desc(), Ticket.id)
    escalations = session.execute(
        escalated_stmt.with_only_columns(
            Ticket.id, Ticket.escalation_level, Ticket.escalated_to_id
        ).limit(LIST_LIMIT)
    ).all()
    esc_events = _latest_events(session, [e.id for e in escalations], EventKind.ESCALATED)
    esc_notes = {
        e.id: _escalation_note(e.escalation_level, e.escalated_to_id, esc_events.get(e.id), tree)
        for e in escalations
    }

    helper_of = {
        tid: (unit_id, done)
        for tid, unit_id, done in session.execute(
            select(TicketHelper.ticket_id, TicketHelper.unit_id, TicketHelper.done_at).where(
                TicketHelper.unit_id.in_(ids)
            )
        )
    }
    helping = (
        select(Ticket)
        .where(
            _open(),
            Ticket.id.in_(select(TicketHelper.ticket_id).where(TicketHelper.unit_id.in_(ids))),
        )
        .order_by(Ticket.due_at, Ticket.id)
    )
    help_notes = {
        tid: f"{tree.by_id[u].name if u in tree.by_id else '—'}：{'已完成' if done else '协办中'}"
        for tid, (u, done) in helper_of.items()
    }

    visits = base(ours, Ticket.visit_at >= now, Ticket.visit_at < now + VISITS_AHEAD).order_by(
        Ticket.visit_at, Ticket.id
    )
    return FollowBoard(
        unit_code=unit.code,
        unit_name=unit.name,
        now=now,
        due_today=_rows(session, due_today, tree, "due_at"),
        overdue=_rows(session, overdue, tree, "due_at"),
        sent_back=_rows(session, sent_back_stmt, tree, "sent_back_at", sent_notes),
        escalated=_rows(session, escalated_stmt, tree, "escalated_at", esc_notes),
        helping=_rows(session, helping, tree, None, help_notes),
        visits=_rows(session, visits, tree, "visit_at"),
    )


def _unit_name(tree: UnitTree, code: object) -> str:
    unit = tree.by_code.get(str(code)) if code else None
    return unit.name if unit is not None else "—"


def _send_back_note(event: TicketEvent, tree: UnitTree) -> str:
    data = event.data or {}
    return f"{_unit_name(tree, data.get('unit'))}退回：{data.get('reason', '')}"


def _escalation_note(
    escalation_level: int, escalated_to_id: int | None, event: TicketEvent | None, tree: UnitTree
) -> str:
    to = tree.by_id.get(escalated_to_id) if escalated_to_id else None
    reason = str((event.data or {}).get("reason", "")) if event is not None else ""
    why = messages.ESCALATION_REASONS.get(reason, reason)
    level = "一二三四"[min(max(escalation_level, 1), 4) - 1]
    return f"{level}级督办 → {to.name if to else '—'}" + (f"（{why}）" if why else "")


def due_items(session: Session, ticket: Ticket) -> list[DueView]:
    """The ticket's supervision steps, planned, done and cancelled, by due time."""
    items = session.scalars(
        select(DueItem).where(DueItem.ticket_id == ticket.id).order_by(DueItem.due_at, DueItem.id)
    )
    views = []
    for item in items:
        try:
            kind = DueKind(item.kind)
            label = kind.label
        except ValueError:
            label = item.kind
        before = str((item.data or {}).get("before", ""))
        detail = f"提前 {before}" if before and before != "0" else ""
        views.append(
            DueView(
                kind=item.kind,
                label=label,
                due_at=item.due_at,
                status=item.status,
                status_label=DUE_STATUS_LABELS.get(item.status, item.status),
                done_at=item.done_at,
                detail=detail,
            )
        )
    return views
