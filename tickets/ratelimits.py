"""Telegram's send limits shared by every bot process: one GCRA cell per limit in ``rate_limits``
(the theoretical arrival time of the next message). A cell with burst ``b`` and interval ``T`` lets
``b`` messages through at once and then one every ``T``. The bot's ``bot.limits`` waits on these."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import RateLimit


@dataclass(frozen=True)
class Cell:
    key: str
    interval: float  # seconds between messages at the steady rate
    burst: int


def take(session: Session, cells: list[Cell]) -> float:
    """Take a slot from every cell, or none: 0, or how many seconds until all have one."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        now = float(session.scalar(select(func.extract("epoch", func.clock_timestamp()))) or 0)
    else:
        now = time.time()
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(RateLimit)
        .values([{"key": c.key, "tat": 0.0} for c in cells])
        .on_conflict_do_nothing(index_elements=[RateLimit.key])
    )
    rows = {
        r.key: r
        for r in session.scalars(
            select(RateLimit)
            .where(RateLimit.key.in_([c.key for c in cells]))
            .order_by(RateLimit.key)  # one order for everyone: no deadlocks
            .with_for_update()
        )
    }
    wait = 0.0
    for c in cells:
        tat = max(rows[c.key].tat, now)
        wait = max(wait, tat - c.interval * (c.burst - 1) - now)
    if wait > 0:
        return wait
    for c in cells:
        rows[c.key].tat = max(rows[c.key].tat, now) + c.interval
    return 0.0
