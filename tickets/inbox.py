"""The inbox: every incoming Telegram update is stored before it is processed.

Storing is idempotent by ``update_id`` (a redelivered update is ignored); processing claims pending rows,
and a row is marked done in the same transaction as the work it caused, so after a crash unprocessed updates
are processed and none twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import InboxItem, utcnow

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 20


def store(
    session: Session,
    *,
    update_id: int,
    payload: dict[str, Any],
    kind: str = "",
    chat_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Insert the update unless already stored; True when it is new."""
    values = {
        "update_id": update_id,
        "payload": payload,
        "kind": kind,
        "chat_id": chat_id,
        "status": "pending",
        "attempts": 0,
        "received_at": now or utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(InboxItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[InboxItem.update_id])
        .returning(InboxItem.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def claim_pending(
    session: Session, *, limit: int = 100, now: datetime | None = None
) -> list[InboxItem]:
    """Claim pending (or abandoned) rows in arrival order (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
    now = now or utcnow()
    ready = (InboxItem.status == "pending") & (
        InboxItem.not_before.is_(None) | (InboxItem.not_before <= now)
    )
    abandoned = (InboxItem.status == "processing") & (InboxItem.claimed_at <= now - CLAIM_TIMEOUT)
    stmt = (
        select(InboxItem)
        .where(ready | abandoned)
        .order_by(InboxItem.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    items = list(session.scalars(stmt))
    for item in items:
        item.status = "processing"
        item.claimed_at = now
        item.attempts += 1
    return items


def mark_done(item: InboxItem, *, now: datetime | None = None) -> None:
    item.status = "done"
    item.processed_at = now or utcnow()
    item.error = None


def mark_retry(
    item: InboxItem, *, error: str, delay: timedelta, now: datetime | None = None
) -> None:
    """Keep the update for later (Rasa or a dependency down); give up after MAX_ATTEMPTS."""
    item.error = error[:2000]
    if item.attempts >= MAX_ATTEMPTS:
        item.status = "failed"
        return
    item.status = "pending"
    item.not_before = (now or utcnow()) + delay
