"""Gap-free public codes per day: MW-20261122-0007 for tickets, CS-20261122-0003 for cases.

The counter row is incremented with INSERT … ON CONFLICT DO UPDATE … RETURNING inside the caller's
transaction: concurrent filers queue on that row, and a rolled-back filing rolls its number back too,
so numbers are never skipped or reused.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets.models import Counter

PREFIXES = {"ticket": "MW", "case": "CS"}


@cache
def _statement(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """The counter upsert, built once per dialect with bound parameters (so it is compiled once)."""
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stmt = insert(Counter).values(scope=bindparam("scope"), day=bindparam("day"), value=1)
    return stmt.on_conflict_do_update(
        index_elements=[Counter.scope, Counter.day], set_={"value": Counter.value + 1}
    ).returning(Counter.value)


def next_code(session: Session, scope: str, at: datetime, tz: ZoneInfo) -> str:
    """Reserve the next number of ``scope`` for the local day of ``at`` and return the public code."""
    day = at.astimezone(tz).strftime("%Y%m%d")
    stmt = _statement(session.get_bind().dialect.name)
    # Core execution on the session's connection: same transaction, without the ORM bulk-insert path.
    number = session.connection().execute(stmt, {"scope": scope, "day": day}).scalar_one()
    return f"{PREFIXES[scope]}-{day}-{number:04d}"
