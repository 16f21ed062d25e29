"""The outbox: messages to Telegram, stored in the same transaction as the change that caused them.

A sender claims due rows, sends them and marks them sent; network errors and rate limits reschedule the row
with backoff; permanent errors (blocked by the user, chat not found) mark it failed with the reason. No row
is ever deleted, so nothing is lost and every message can be audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.models import OutboxItem, ProjectPoll, Ticket, utcnow

MAX_ATTEMPTS = 12
#: A claimed row whose sender died is claimable again after this long.
CLAIM_TIMEOUT = timedelta(minutes=2)

#: Priorities: a row is claimed before every row of lower priority, in its chat and overall; rows of
#: one priority in one chat go out in the order they were queued (``tickets.queues``).
ORDINARY = 0
URGENT = 1
#: Kinds that are urgent whatever their ticket says.
URGENT_KINDS = frozenset({"staff_card_urgent"})
#: Rows still to send (they hold their chat's order).
WAITING = ("pending", "sending")
#: An ordinary new-ticket card carried by a backlog digest instead (``digest_id``), never sent alone.
FOLDED = "folded"
#: A row that was not sent and never will be, with the reason in ``last_error`` (an edit of a folded
#: card: there is no message to edit).
SKIPPED = "skipped"
#: ``Session.info`` key set by ``enqueue``: this transaction queued something (``queued_in``).
QUEUED = "minwei_outbox_queued"


def default_priority(kind: str, chat_id: int, ticket: Ticket | None) -> int:
    """Urgent: an urgent ticket's card, and every message to a group chat (a duty or unit chat)
    about an urgent ticket (its alerts, 督办, notices and edits); everything else is ordinary."""
    if kind in URGENT_KINDS or (chat_id < 0 and ticket is not None and ticket.urgent):
        return URGENT
    return ORDINARY


def _inherited_priority(session: Session, extra: dict[str, Any] | None, wanted: int) -> int:
    """A row that edits or replies to a row not sent yet takes that row's priority: it must go out
    after it, and rows of one priority in one chat keep their order (a higher one would overtake
    it, a lower one would wait behind everything the parent overtook)."""
    target = (extra or {}).get("edit_of") or (extra or {}).get("reply_to_of")
    if target is None:
        return wanted
    parent = session.execute(
        select(OutboxItem.status, OutboxItem.priority).where(OutboxItem.id == int(target))
    ).first()
    if parent is None or parent.status not in WAITING:
        return wanted
    return int(parent.priority)


def enqueue(
    session: Session,
    *,
    chat_id: int,
    text: str,
    kind: str,
    ticket: Ticket | None = None,
    person_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    method: str = "sendMessage",
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
    check_duplicate: bool = True,
    priority: int | None = None,
) -> OutboxItem | None:
    """Add a message to send; returns None when ``dedupe_key`` was already queued.

    ``check_duplicate=False`` skips the lookup when the key cannot exist yet (the unique constraint
    still guards it). ``priority``: by default ``default_priority``; an edit of or a reply to a row
    not sent yet always takes that row's."""
    if dedupe_key is not None and check_duplicate:
        existing = session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text, **(extra or {})}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    wanted = default_priority(kind, chat_id, ticket) if priority is None else priority
    item = OutboxItem(
        priority=_inherited_priority(session, extra, wanted),
        chat_id=chat_id,
        method=method,
        payload=payload,
        kind=kind,
        ticket=ticket,
        person_id=person_id,
        dedupe_key=dedupe_key,
        next_attempt_at=now or utcnow(),
        created_at=now or utcnow(),
    )
    session.add(item)
    session.info[QUEUED] = True
    return item


def queued_in(session: Session) -> bool:
    """Whether ``enqueue`` added a row in this session (its sender has something to send)."""
    return bool(session.info.get(QUEUED))


def claim_due(
    session: Session, *, limit: int = 50, now: datetime | None = None
) -> list[OutboxItem]:
    """Claim up to ``limit`` due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and mark them sending."""
    now = now or utcnow()
    stmt = (
        select(OutboxItem)
        .where(
            ((OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now))
            | (
                (OutboxItem.status == "sending")
                & (OutboxItem.next_attempt_at <= now - CLAIM_TIMEOUT)
            )
        )
        .order_by(OutboxItem.priority.desc(), OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    items = list(session.scalars(stmt))
    for item in items:
        item.status = "sending"
        item.next_attempt_at = now
        item.attempts += 1
    return items


def mark_sent(
    session: Session, item: OutboxItem, *, message_id: int | None, now: datetime | None = None
) -> None:
    """Record delivery; acceptance/result notices also stamp the ticket (for 告知率)."""
    now = now or utcnow()
    item.status = "sent"
    item.sent_at = now
    item.telegram_message_id = message_id
    item.last_error = None
    if item.ticket_id is not None and item.kind in ("accepted", "assigned", "resolved", "rejected"):
        column = (
            Ticket.result_notified_at
            if item.kind in ("resolved", "rejected")
            else Ticket.accept_notified_at
        )
        session.execute(
            update(Ticket)
            .where(Ticket.id == item.ticket_id, column.is_(None))
            .values({column: now})
        )


def record_poll(
    session: Session, item: OutboxItem, poll_id: str, option_ids: Sequence[str] = ()
) -> None:
    """Keep the id Telegram gave the poll a ``sendPoll`` row delivered (its answers carry only that
    id) and the persistent ids of its options, each with the choice the row sent at its position
    (``choices`` in the payload; ``tickets.usecases.votes.record_poll_answer``)."""
    choices = list(item.payload.get("choices") or [])
    options = dict(zip(option_ids, choices, strict=True)) if len(option_ids) == len(choices) else {}
    session.execute(
        update(ProjectPoll)
        .where(ProjectPoll.outbox_id == item.id, ProjectPoll.poll_id.is_(None))
        .values(poll_id=poll_id, options=options)
    )


def backoff(attempts: int) -> timedelta:
    """Exponential backoff: 2 s, 4 s, 8 s … capped at 10 minutes."""
    return timedelta(seconds=min(600, 2 ** max(1, attempts)))


def mark_retry(
    session: Session,
    item: OutboxItem,
    *,
    error: str,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> None:
    """Reschedule after a temporary error (``retry_after`` from Telegram's RetryAfter wins)."""
    now = now or utcnow()
    item.last_error = error[:2000]
    if retry_after is None and item.attempts >= MAX_ATTEMPTS:
        item.status = "failed"
        return
    item.status = "pending"
    delay = timedelta(seconds=retry_after) if retry_after is not None else backoff(item.attempts)
    item.next_attempt_at = now + delay


def mark_failed(session: Session, item: OutboxItem, *, error: str) -> None:
    """Give up on a message Telegram will never accept (the row stays, with the reason)."""
    item.status = "failed"
    item.last_error = error[:2000]
