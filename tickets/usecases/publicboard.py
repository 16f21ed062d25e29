"""公开办: the public board of published tickets (``published_at`` set by the supervision clock), for the
whole district or one unit. No sign-in, so nothing personal: the public progress page's rules — the
redacted text (phone and ID numbers masked), shortened, the people the ticket names (reporter,
forwarder, quoted speaker) masked too, and only the events marked public, without who did them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from tickets import messages
from tickets.models import Ticket, TicketEvent, Unit
from tickets.statuses import EventKind, Status
from tickets.units import UnitTree

SUMMARY_CHARS = 80
BOARD_LIMIT = 100
NAME_MASK = "＊＊"


@dataclass(frozen=True)
class PublicStep:
    at: datetime
    label: str


@dataclass(frozen=True)
class PublicTicket:
    code: str
    category: str
    place: str
    summary: str
    status: Status
    unit_name: str
    created_at: datetime
    published_at: datetime
    steps: tuple[PublicStep, ...]


@dataclass(frozen=True)
class PublicBoard:
    unit_code: str | None
    unit_name: str
    tickets: tuple[PublicTicket, ...]
    total: int
    open: int
    done: int


def masked(text: str, names: list[str]) -> str:
    """``text`` with the given names (two characters or more) masked."""
    for name in sorted(
        {n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True
    ):
        text = text.replace(name, NAME_MASK)
    return text


def summary(text: str, names: list[str]) -> str:
    """``text`` on one line, the given names masked, shortened to ``SUMMARY_CHARS``."""
    text = " ".join(masked(text, names).split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…"


def _names(ticket: Ticket) -> list[str]:
    names = [ticket.origin_label or ""]
    for person in (ticket.reporter, ticket.forwarder):
        if person is not None:
            names += [person.display_name or "", person.telegram_username or ""]
    return names


def board(session: Session, *, tree: UnitTree, unit: Unit | None) -> PublicBoard:
    """The published tickets of ``unit`` (routed to or located in it or below; None: everywhere),
    newest first."""
    where = [Ticket.published_at.is_not(None), Ticket.status != Status.MERGED.value]
    if unit is not None and unit.parent_id is not None:
        ids = tree.subtree_ids(unit)
        where.append(or_(Ticket.unit_id.in_(ids), Ticket.area_id.in_(ids)))
    statuses: dict[Status, int] = {
        Status(status): int(n)
        for status, n in session.execute(
            select(Ticket.status, func.count()).where(*where).group_by(Ticket.status)
        )
    }
    tickets = list(
        session.scalars(
            select(Ticket)
            .where(*where)
            .options(selectinload(Ticket.reporter), selectinload(Ticket.forwarder))
            .order_by(Ticket.published_at.desc(), Ticket.id.desc())
            .limit(BOARD_LIMIT)
        )
    )
    steps: dict[int, list[PublicStep]] = {}
    public_kinds = [k.value for k in EventKind if k.public]
    if tickets:
        for event in session.scalars(
            select(TicketEvent)
            .where(
                TicketEvent.ticket_id.in_([t.id for t in tickets]),
                TicketEvent.kind.in_(public_kinds),
            )
            .order_by(TicketEvent.at, TicketEvent.id)
        ):
            kind = EventKind(event.kind)
            steps.setdefault(event.ticket_id, []).append(PublicStep(event.at, kind.label))
    views = tuple(
        PublicTicket(
            code=t.code,
            category=t.category,
            place=masked(messages.without_pin(t.location_text), _names(t))
            or (tree.by_id[t.area_id].name if t.area_id in tree.by_id else ""),
            summary=summary(t.redacted_text, _names(t)),
            status=t.status,
            unit_name=tree.by_id[t.unit_id].name if t.unit_id in tree.by_id else "",
            created_at=t.created_at,
            published_at=t.published_at or t.created_at,
            steps=tuple(steps.get(t.id, [])),
        )
        for t in tickets
    )
    return PublicBoard(
        unit_code=unit.code if unit is not None else None,
        unit_name=unit.name if unit is not None else (tree.root.name if tree.root else "全区"),
        tickets=views,
        total=sum(statuses.values()),
        open=sum(n for s, n in statuses.items() if s.is_open),
        done=sum(n for s, n in statuses.items() if s in (Status.RESOLVED, Status.CLOSED)),
    )
