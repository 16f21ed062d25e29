"""Backlog digests: a work chat that would wait long for its new-ticket cards gets one digest instead.

Telegram lets a bot post about 20 messages a minute in a group, so a burst of 300 group demands keeps a
duty chat's cards coming for a quarter of an hour. When a group chat has more ordinary new-ticket cards
waiting than its per-minute budget, those cards are folded into a digest (``messages.backlog_digests``:
one line per ticket, split at Telegram's length limit): the digest rows are queued and every folded
card is marked ``folded`` with ``digest_id`` pointing to the digest row that lists it, in the same
transaction, so each card is listed once and never also sent alone. Nothing is deleted. Folding happens
before anything is sent, so there is no window between "digest sent" and "cards marked"; a digest row
is then sent like any other row, at least once, with the send journal (``bot.journal``) keeping a
sender that dies just after Telegram accepted it from sending it again.

Urgent cards are never folded (they overtake the backlog anyway, ``tickets.queues``), nor cards of
dispatch, 督办 or 协办, nor ones already claimed. An edit of a folded card has no message to edit and is skipped with
the reason (``queues._resolve_references``); a reply to one goes out as a plain message. Several bot
processes may fold at once: each folds only rows it could lock (``SKIP LOCKED``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from tickets import messages, outbox, services
from tickets.domain import Domain
from tickets.models import OutboxItem, Ticket, utcnow

#: The cards a digest may carry: an ordinary ticket's card as it was filed (not its dispatch or 督办
#: cards, which have other dedupe keys).
FOLDABLE_KINDS = ("staff_card",)


def _foldable() -> list[ColumnElement[bool]]:
    return [
        OutboxItem.status == "pending",
        OutboxItem.kind.in_(FOLDABLE_KINDS),
        OutboxItem.dedupe_key.like(f"%{services.NEW_CARD_SUFFIX}"),
        OutboxItem.priority == outbox.ORDINARY,
        OutboxItem.chat_id < 0,
        OutboxItem.ticket_id.is_not(None),
    ]


def buried_chats(session: Session, *, budget: int) -> list[int]:
    """Group chats with more foldable cards waiting than ``budget``."""
    return list(
        session.scalars(
            select(OutboxItem.chat_id)
            .where(*_foldable())
            .group_by(OutboxItem.chat_id)
            .having(func.count(OutboxItem.id) > budget)
            .order_by(OutboxItem.chat_id)
        )
    )


def fold(
    session: Session, domain: Domain, *, budget: int, now: datetime | None = None
) -> list[int]:
    """Fold the waiting cards of every chat buried under more than ``budget`` of them into digests;
    returns the digest rows' ids."""
    now = now or utcnow()
    digests: list[int] = []
    for chat_id in buried_chats(session, budget=budget):
        digests.extend(_fold_chat(session, domain, chat_id, budget=budget, now=now))
    return digests


def _fold_chat(
    session: Session, domain: Domain, chat_id: int, *, budget: int, now: datetime
) -> list[int]:
    cards = list(
        session.scalars(
            select(OutboxItem)
            .where(OutboxItem.chat_id == chat_id, *_foldable())
            .order_by(OutboxItem.id)
            .with_for_update(skip_locked=True)
        )
    )
    if len(cards) <= budget:  # a peer is folding (or sending) them
        return []
    tickets = {
        t.id: t
        for t in session.scalars(select(Ticket).where(Ticket.id.in_([c.ticket_id for c in cards])))
    }
    tree = domain.units(session)
    lines = []
    for card in cards:
        ticket = tickets[card.ticket_id or 0]
        area = tree.by_id.get(ticket.area_id) if ticket.area_id else None
        place = ticket.location_text or (area.name if area else None)
        lines.append(messages.digest_line(ticket, domain.taxonomy.name(ticket.category), place))
    ids = []
    start = 0
    for text, count in messages.backlog_digests(lines, domain.settings.public_base_url):
        part = cards[start : start + count]
        start += count
        digest = outbox.enqueue(
            session,
            chat_id=chat_id,
            text=text,
            kind="staff_digest",
            dedupe_key=f"digest:{part[0].id}",  # a card is folded once: its row names the digest
            priority=outbox.ORDINARY,
            now=now,
            check_duplicate=False,
        )
        assert digest is not None
        session.flush()
        for card in part:
            card.status = outbox.FOLDED
            card.digest_id = digest.id
            card.lease_until = None
        ids.append(digest.id)
    return ids
