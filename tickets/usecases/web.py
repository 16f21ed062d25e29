"""The web channel: what the console's 试一试 page files, as real tickets with source ``web``.

- **Pasted group messages** go through the grid group's own decision (``groups.record_group_message``:
  the same thresholds, the same file / review / drop), in the grid the console user picked among their
  own units. The speaker named in the copy becomes the origin label; the console user is the actor of the
  ``filed`` event.
- **Web residents** talk to the resident dialogue in the console (sender ``web:<person id>``). Each web
  chat has its own resident, created by the console when the chat starts, named after the console user
  (``网页居民（chen）``): a real person record that files real tickets, with no Telegram account and no
  sign-in, so nobody is notified on Telegram and status questions answer from that chat's tickets.

Identity of messages. Tickets and review items are idempotent by (chat id, message id). Telegram's ids
have at most 52 significant bits, so the web's chats are numbered from 2**53 up, where Telegram never
reaches: ``-(2**53 + grid id)`` is a grid's pasted group chat and ``2**53 + person id`` a web resident's
chat. A pasted message's id is a 62-bit digest of its grid, speaker, time, text and occurrence in the
paste: pasting the same lines again finds what was filed (or queued) the first time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tickets import access, messages
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import Person, Ticket, Unit
from tickets.statuses import Role, Source
from tickets.units import UnitTree
from tickets.usecases.groups import Thresholds, record_group_message
from tickets.usecases.views import PastedMessage, PastedOutcome, TicketView, WebTicket

#: The first id above anything Telegram uses (chat and user ids have at most 52 significant bits).
WEB_ID_BASE = 2**53
MAX_CHAT_TICKETS = 20


def paste_chat_id(grid_id: int) -> int:
    """The "chat" of the messages pasted for a grid (negative, as Telegram's group chats are)."""
    return -(WEB_ID_BASE + grid_id)


def web_chat_id(person_id: int) -> int:
    """The chat of a web resident (positive, as Telegram's private chats are)."""
    return WEB_ID_BASE + person_id


def message_key(grid_id: int, message: PastedMessage) -> int:
    """A pasted message's id: the same words by the same speaker at the same time in the same grid."""
    parts = (
        str(grid_id),
        message.speaker or "",
        message.said_at or "",
        message.text,
        str(message.occurrence),
    )
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2  # 62 bits: a positive BIGINT everywhere


def grids_of(person: Person, tree: UnitTree) -> list[Unit]:
    """The grids ``person`` may paste messages for: those within their unit (every grid for a district
    administrator without one), by code."""
    grids = [u for u in tree.by_id.values() if u.level == "grid"]
    if person.unit_id is None:
        reachable = grids if person.role is Role.DISTRICT_ADMIN else []
    else:
        reach = tree.by_id.get(person.unit_id)
        reachable = [g for g in grids if reach is not None and tree.is_within(g.id, reach)]
    return sorted(reachable, key=lambda u: u.code)


def _staff(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or not person.active or not person.role.is_staff:
        raise PermissionDenied(messages.STAFF_ONLY)
    return person


def paste_grid(session: Session, domain: Domain, *, grid_code: str, actor_id: int) -> Unit:
    """The grid ``actor_id`` pastes messages for; refused unless it is one of their grids."""
    actor = _staff(session, actor_id)
    tree = domain.units(session)
    grid = tree.by_code.get(grid_code.strip())
    if grid is None or grid.level != "grid":
        raise InvalidInput(f"没有编码为 {grid_code.strip()[:40]} 的网格")
    if grid.id not in {g.id for g in grids_of(actor, tree)}:
        raise PermissionDenied(f"{grid.name}不在您的辖区内")
    return grid


def record_pasted_messages(
    session: Session,
    domain: Domain,
    messages: Sequence[PastedMessage],
    results: Sequence[Classification],
    *,
    thresholds: Thresholds,
    grid_code: str,
    actor_id: int,
) -> list[PastedOutcome]:
    """File, queue for review, or drop each classified pasted message as the grid's group would."""
    grid = paste_grid(session, domain, grid_code=grid_code, actor_id=actor_id)
    actor = _staff(session, actor_id)
    tree = domain.units(session)
    recorded = [
        (
            message,
            result,
            record_group_message(
                session,
                domain,
                text=message.text,
                result=result,
                thresholds=thresholds,
                source=Source.WEB,
                chat_id=paste_chat_id(grid.id),
                message_id=message_key(grid.id, message),
                grid_id=grid.id,
                reporter=None,
                origin_label=message.speaker,
                actor=actor,
            ),
        )
        for message, result in zip(messages, results, strict=True)
    ]
    session.flush()
    outcomes = []
    for message, result, r in recorded:
        category = r.ticket.category if r.ticket is not None else result.category
        outcomes.append(
            PastedOutcome(
                message=message,
                decision={"file": "filed", "review": "review"}.get(r.decision, "dropped"),
                demand_confidence=result.demand_confidence,
                category=category,
                category_name=domain.taxonomy.name(category)
                if category in domain.taxonomy
                else None,
                category_confidence=result.category_confidence,
                urgent=result.urgent,
                locations=tuple(result.locations),
                code=r.ticket.code if r.ticket is not None else None,
                visible=r.ticket is not None and access.can_view(actor, r.ticket, tree),
                review_item_id=r.review_item.id if r.review_item is not None else None,
            )
        )
    return outcomes


def create_web_resident(session: Session, *, creator_id: int) -> Person:
    """A new web resident for a console user's web chat (``网页居民（<username>）``)."""
    creator = _staff(session, creator_id)
    person = Person(
        role=Role.RESIDENT,
        display_name=messages.web_resident_name(creator.username or str(creator.id))[:100],
    )
    session.add(person)
    session.flush()
    return person


def chat_tickets(
    session: Session, domain: Domain, *, person_id: int, viewer_id: int
) -> list[WebTicket]:
    """The tickets a web resident filed in their chat, newest first, and whether the console user
    watching the chat may open each."""
    viewer = _staff(session, viewer_id)
    tree = domain.units(session)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.reporter_id == person_id, Ticket.source == Source.WEB)
        .options(selectinload(Ticket.unit))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(MAX_CHAT_TICKETS)
    )
    return [
        WebTicket(TicketView.of(t, domain.taxonomy), access.can_view(viewer, t, tree))
        for t in tickets
    ]
