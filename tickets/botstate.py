"""The bot's short-dialogue state (``bot_state``), shared by every bot process: loaded before an
update is handled and written back after it (``bot.state``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import BotState, utcnow


def load(session: Session, keys: list[str]) -> dict[str, Any]:
    """The stored state of ``keys`` (missing keys are absent)."""
    return {s.key: s.data for s in session.scalars(select(BotState).where(BotState.key.in_(keys)))}


def store(session: Session, changed: dict[str, Any]) -> None:
    """Write changed state (None deletes it); the last writer of a key wins."""
    gone = [k for k, v in changed.items() if v is None]
    if gone:
        session.execute(delete(BotState).where(BotState.key.in_(gone)))
    rows = [
        {"key": k, "data": v, "updated_at": utcnow()} for k, v in changed.items() if v is not None
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(BotState).values(rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[BotState.key],
            set_={"data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at},
        )
    )
