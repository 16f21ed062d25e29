"""How many tickets have each combination of the list's filter columns (``ticket_counts``).

The counts beside the list's filter options (``tickets.queries.facet_counts``) for a whole district or
a community would otherwise count hundreds of thousands of tickets per option. ``ticket_counts`` has one
base row per combination of status, category, area, unit, urgency, review flag, handling mode and
source (about ten thousand at a million tickets), filled by migration 0005; triggers then append a
``delta`` row of +1 for every ticket filed and −1/+1 for every change of one of those columns, whoever
makes it. The number of tickets with a combination is the sum of ``n`` over its rows, so a count read in
one statement is exact at that moment. Appending instead of updating a shared row means writers never
wait for one another; :func:`fold` now and then collapses the rows into one per combination.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    delete,
    exc,
    false,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from tickets.models import Ticket, TicketCount

log = logging.getLogger(__name__)

#: The tickets columns counted, in the order of the rows.
DIMENSIONS = (
    "status",
    "category",
    "area_id",
    "unit_id",
    "urgent",
    "needs_review",
    "handling_mode",
    "source",
)
#: tickets columns → ticket_counts columns (for ``tickets.rollup.adapt``).
COLUMNS = {name: getattr(TicketCount, name) for name in DIMENSIONS}
#: Delta rows tolerated before a read folds them (each read sums them all).
FOLD_AFTER = 5_000
_LOCK_KEY = 0x6D770002


def cube(
    session: Session, where: Sequence[ColumnElement[bool]], by: Sequence[str]
) -> dict[tuple[Any, ...], int]:
    """Tickets per value of the ``by`` columns among those matching ``where`` (on ticket_counts)."""
    columns = [COLUMNS[name] for name in by]
    total = func.sum(TicketCount.n)
    stmt = select(*columns, total).where(*where).group_by(*columns).having(total != 0)
    return {tuple(row[:-1]): int(row[-1]) for row in session.execute(stmt)}


def fold_if_needed(engine: Engine) -> None:
    """Fold the delta rows when there are more than FOLD_AFTER of them."""
    with engine.connect() as conn:
        deltas = select(TicketCount.id).where(text("ticket_counts.delta")).limit(FOLD_AFTER + 1)
        many = conn.scalar(select(func.count()).select_from(deltas.subquery()))
    if int(many or 0) > FOLD_AFTER:
        fold(engine)


def fold(engine: Engine) -> None:
    """Replace the rows by one per combination (zero counts dropped), in a transaction of its own.

    ``DELETE … RETURNING`` takes exactly the rows committed so far; a delta committed meanwhile stays
    and is counted next time. Readers see the rows before or after, never in between."""
    try:
        with engine.execution_options(minwei_write=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
            _fold(conn)
    except exc.OperationalError as e:
        log.warning("ticket counts not folded (%s); they stay correct, only slower", e.orig)


def _fold(conn: Connection) -> None:
    columns = [COLUMNS[name] for name in DIMENSIONS]
    totals: Counter[tuple[Any, ...]] = Counter()
    for row in conn.execute(delete(TicketCount).returning(*columns, TicketCount.n)):
        totals[tuple(row[:-1])] += int(row[-1])
    rows = [
        {**dict(zip(DIMENSIONS, key, strict=True)), "n": n, "delta": False}
        for key, n in totals.items()
        if n
    ]
    if rows:
        conn.execute(insert(TicketCount), rows)


def rebuild(conn: Connection) -> None:
    """Recount every combination from the tickets (after bulk loads; migration 0005 does the same)."""
    conn.execute(delete(TicketCount))
    columns = [getattr(Ticket, name) for name in DIMENSIONS]
    counted = select(*columns, func.count(), false()).group_by(*columns)
    conn.execute(insert(TicketCount).from_select([*DIMENSIONS, "n", "delta"], counted))
