"""Statistics per local day, kept correct as tickets change: what makes the dashboard fast.

``stats_daily`` holds, for each *built* local day, one row per category × responsible unit × area with
the counts and sums of :class:`tickets.stats.Figures` over the tickets filed that day (merged tickets
excluded), the number of tickets resolved that day (the trend chart), and the follow-through counts of
:class:`tickets.stats.FollowFigures` (:data:`FOLLOW`: tickets due, filed with a unit and resolved
that day). A day is built only once it has passed, so whether a ticket due that day is overdue no longer
depends on the time of reading: resolved after its due time, or still open. ``tickets.stats`` reads whole
past days from here and everything else (today, partial days, days not built) from the tickets. Both
paths use the same per-ticket expressions (:func:`measures`) and every sum is an integer (durations in
whole milliseconds), so a figure is identical whichever way its days were read.

Keeping it correct. Triggers (migrations 0004 and 0016) append to ``stats_dirty`` the UTC hours in
which a ticket was filed, resolved and due, before and after, whenever anything the statistics read
changes: status, category, unit, area, urgency, response/due/resolution times, rating, notification
stamps, reporter, send-backs, 回访, and whether a reporter can be reached on Telegram. They fire whoever makes the change
(the services, the outbox's notification stamps, the bot's account linking, bulk SQL). Before days are
read, :func:`refresh` claims the markers of hours before today (``DELETE … RETURNING``: a marker
committed later stays for the next refresh), drops the days they overlap and builds the requested days
that are missing, each from the tickets as a whole. Refreshes are serialised (an advisory lock on
PostgreSQL, the write lock on SQLite). A day is read together with its "built" row in one statement,
so a reader never mixes a half-refreshed day.

Days are built for one configuration at a time (time zone and response limits, on which
``responded_in_time`` depends); asked with other settings, the table is emptied and rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Engine,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    exc,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, TextClause
from sqlalchemy.sql.schema import Column
from sqlalchemy.types import TypeEngine

from tickets.models import Person, StatsDaily, StatsDay, StatsDirty, Ticket
from tickets.statuses import DONE_STATUSES, OPEN_STATUSES, Satisfaction, Status

log = logging.getLogger(__name__)

#: The sums of ``stats_daily`` in the order of :func:`measures` (then ``resolved``).
MEASURES = (
    "filed",
    "accepted",
    "responded",
    "responded_in_time",
    "done",
    "done_on_time",
    "rated",
    "satisfied",
    "reachable_done",
    "told",
    "response_ms",
    "resolution_ms",
)
#: The follow-through counts of ``stats_daily`` (``tickets.stats.FollowFigures``): each population
#: (tickets due, filed with a unit, resolved on the day) and its hits, see :func:`follow_populations`.
FOLLOW = ("due", "overdue", "dispatched", "sent_back", "follow_resolved", "called_back")
#: Days built per transaction (SQLite holds its write lock while a transaction builds).
DAYS_PER_TRANSACTION = 16
#: Arbitrary key of the PostgreSQL advisory lock that serialises refreshes.
_LOCK_KEY = 0x6D770001


@dataclass(frozen=True)
class Config:
    """What the built days depend on besides the tickets."""

    tz: ZoneInfo
    response_limit_hours: int = 24
    urgent_response_limit_hours: int = 1

    @property
    def key(self) -> str:
        return f"{self.tz.key}|{self.response_limit_hours}|{self.urgent_response_limit_hours}"


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def whole_days(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """The local days lying entirely within [start, end) as [first, last) (possibly empty)."""
    first = start.astimezone(tz).date()
    if day_start(first, tz) < start:
        first += timedelta(days=1)
    last = end.astimezone(tz).date()
    return first, max(first, last)


def _ms(dialect: str, start: Any, end: Any) -> ColumnElement[int]:
    """Whole milliseconds from ``start`` to ``end`` (integers add up exactly in any order)."""
    if dialect == "postgresql":
        return cast(func.round(func.extract("epoch", end - start) * 1000), BigInteger)
    return cast(func.round((func.julianday(end) - func.julianday(start)) * 86400000.0), BigInteger)


def measures(dialect: str, config: Config) -> list[ColumnElement[Any]]:
    """The per-group sums of :data:`MEASURES` over tickets (outer-joined to their reporter)."""
    created, first, resolved = Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at
    response_ms, resolution_ms = _ms(dialect, created, first), _ms(dialect, created, resolved)
    marked_or_created = func.coalesce(Ticket.urgent_at, created)
    limit_ms = case(
        (Ticket.urgent, config.urgent_response_limit_hours * 3_600_000),
        else_=config.response_limit_hours * 3_600_000,
    )
    done = Ticket.status.in_([s.value for s in DONE_STATUSES])
    reachable = Person.telegram_user_id.is_not(None)
    satisfied = [s.value for s in Satisfaction if s.counts_as_satisfied]

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.count(Ticket.id),
        count(Ticket.status != Status.REJECTED.value),
        count(first.is_not(None)),
        # On time: an urgent ticket staff marked later is measured from the marking.
        count(and_(first.is_not(None), _ms(dialect, marked_or_created, first) <= limit_ms)),
        count(done),
        count(
            and_(done, resolved.is_not(None), Ticket.due_at.is_not(None), resolved <= Ticket.due_at)
        ),
        count(Ticket.satisfaction.is_not(None)),
        count(Ticket.satisfaction.in_(satisfied)),
        count(and_(done, reachable)),
        count(
            and_(
                done,
                reachable,
                Ticket.accept_notified_at.is_not(None),
                Ticket.result_notified_at.is_not(None),
            )
        ),
        func.sum(case((first.is_not(None), response_ms), else_=0)),
        func.sum(case((and_(done, resolved.is_not(None)), resolution_ms), else_=0)),
    ]


def follow_populations(
    start: datetime, end: datetime, due_before: datetime
) -> list[tuple[ColumnElement[bool], ColumnElement[bool]]]:
    """(population, hit) of each pair of :data:`FOLLOW` over [start, end), merged tickets left out:
    tickets due by ``due_before`` (rejected ones left out) and resolved late or not at all while
    still open; tickets filed with a responsible unit and sent back at least once; tickets resolved
    and called back (or rated). One definition for the rollup and ``tickets.stats.follow_figures``;
    for a past day ``due_before`` is its end, so its counts depend on the tickets alone."""
    not_merged = Ticket.status != Status.MERGED.value
    still_open = Ticket.status.in_([s.value for s in OPEN_STATUSES])
    return [
        (
            and_(
                Ticket.due_at >= start,
                Ticket.due_at < min(end, due_before),
                not_merged,
                Ticket.status != Status.REJECTED.value,
            ),
            or_(
                and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.due_at),
                and_(Ticket.resolved_at.is_(None), still_open),
            ),
        ),
        (
            and_(
                Ticket.created_at >= start,
                Ticket.created_at < end,
                not_merged,
                Ticket.unit_id.is_not(None),
            ),
            Ticket.sent_back_count >= 1,
        ),
        (
            and_(Ticket.resolved_at >= start, Ticket.resolved_at < end, not_merged),
            or_(Ticket.callback_at.is_not(None), Ticket.satisfaction.is_not(None)),
        ),
    ]


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def adapt(clause: ColumnElement[bool], columns: dict[str, Any]) -> ColumnElement[bool] | None:
    """``clause`` (on ``tickets`` columns) rewritten onto other columns of the same names, or None
    when it reads a column not in ``columns`` or literal SQL (then it cannot be answered there)."""
    ok = True

    def replace(element: Any, **kw: Any) -> Any:
        nonlocal ok
        if isinstance(element, TextClause) or (
            isinstance(element, ColumnClause) and not isinstance(element, Column)
        ):
            ok = False  # literal SQL: what it reads is unknown
        elif isinstance(element, Column) and element.table is Ticket.__table__:
            if element.key in columns:
                return columns[element.key]
            ok = False
        return None

    adapted = visitors.replacement_traverse(clause, {}, replace)
    return adapted if ok else None


#: tickets columns a scope may use to be answered from stats_daily.
ROLLUP_COLUMNS = {
    "category": StatsDaily.category,
    "unit_id": StatsDaily.unit_id,
    "area_id": StatsDaily.area_id,
}


# --- refreshing ------------------------------------------------------------------------------------


def refresh(engine: Engine, config: Config, first: date, last: date, today: date) -> None:
    """Make the days [first, min(last, today)) built and current, in transactions of its own.

    Never raises for a busy database: when the lock cannot be had, the days stay as they are and
    the caller reads what is not built from the tickets."""
    last = min(last, today)
    today_start = day_start(today, config.tz)
    try:
        with engine.connect() as conn:
            if not _needs_work(conn, config, first, last, today_start):
                return
        writer = engine.execution_options(minwei_write=True)
        while True:
            with writer.begin() as conn:
                _lock(conn)
                _forget_other_configs(conn, config)
                _claim_markers(conn, config, today_start)
                missing = _missing_days(conn, config, first, last)
                for day in missing[:DAYS_PER_TRANSACTION]:
                    _build_day(conn, config, day)
            if len(missing) <= DAYS_PER_TRANSACTION:
                return
    except exc.OperationalError as e:
        log.warning("statistics rollup not refreshed (%s); reading the tickets instead", e.orig)


def _needs_work(
    conn: Connection, config: Config, first: date, last: date, today_start: datetime
) -> bool:
    if conn.execute(select(StatsDirty.id).where(StatsDirty.hour < today_start).limit(1)).first():
        return True
    if conn.execute(select(StatsDay.day).where(StatsDay.config != config.key).limit(1)).first():
        return True
    if first >= last:
        return False
    built = conn.scalar(
        select(func.count())
        .select_from(StatsDay)
        .where(StatsDay.day >= first, StatsDay.day < last, StatsDay.config == config.key)
    )
    return int(built or 0) < (last - first).days


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))


def _forget_other_configs(conn: Connection, config: Config) -> None:
    if conn.execute(select(StatsDay.day).where(StatsDay.config != config.key).limit(1)).first():
        conn.execute(delete(StatsDaily))
        conn.execute(delete(StatsDay))


def _claim_markers(conn: Connection, config: Config, today_start: datetime) -> None:
    """Take the markers of hours before today and drop the built days they overlap."""
    hours = set(
        conn.execute(
            delete(StatsDirty).where(StatsDirty.hour < today_start).returning(StatsDirty.hour)
        ).scalars()
    )
    days = set()
    for hour in hours:
        days.add(hour.astimezone(config.tz).date())
        days.add((hour + timedelta(hours=1, microseconds=-1)).astimezone(config.tz).date())
    _drop_days(conn, days)


def _drop_days(conn: Connection, days: Iterable[date]) -> None:
    ordered = sorted(days)
    for i in range(0, len(ordered), 500):
        chunk = ordered[i : i + 500]
        conn.execute(delete(StatsDaily).where(StatsDaily.day.in_(chunk)))
        conn.execute(delete(StatsDay).where(StatsDay.day.in_(chunk)))


def _missing_days(conn: Connection, config: Config, first: date, last: date) -> list[date]:
    if first >= last:
        return []
    built = set(
        conn.execute(
            select(StatsDay.day).where(
                StatsDay.day >= first, StatsDay.day < last, StatsDay.config == config.key
            )
        ).scalars()
    )
    days = (first + timedelta(days=i) for i in range((last - first).days))
    return [d for d in days if d not in built]


def _build_day(conn: Connection, config: Config, day: date) -> None:
    start, end = day_start(day, config.tz), day_start(day + timedelta(days=1), config.tz)
    keys = (Ticket.category, Ticket.unit_id, Ticket.area_id)
    names = (*MEASURES, "resolved", *FOLLOW)
    rows: dict[tuple[Any, ...], dict[str, int]] = {}

    def add(found: Iterable[Any], columns: Sequence[str]) -> None:
        for row in found:
            values = rows.setdefault(tuple(row[:3]), dict.fromkeys(names, 0))
            for name, value in zip(columns, row[3:], strict=True):
                values[name] = int(value or 0)

    filed = (
        select(*keys, *measures(conn.dialect.name, config))
        .select_from(Ticket)
        .outerjoin(Person, Person.id == Ticket.reporter_id)
        .where(
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.status != Status.MERGED.value,
        )
        .group_by(*keys)
    )
    add(conn.execute(filed), MEASURES)
    resolved = (
        select(*keys, func.count())
        .where(Ticket.resolved_at >= start, Ticket.resolved_at < end)
        .group_by(*keys)
    )
    add(conn.execute(resolved), ("resolved",))
    for i, (population, hit) in enumerate(follow_populations(start, end, end)):
        counted = select(*keys, func.count(), count_if(hit)).where(population).group_by(*keys)
        add(conn.execute(counted), FOLLOW[2 * i : 2 * i + 2])
    if rows:
        conn.execute(
            insert(StatsDaily),
            [
                {"day": day, "category": category, "unit_id": unit_id, "area_id": area_id, **values}
                for (category, unit_id, area_id), values in rows.items()
            ],
        )
    conn.execute(insert(StatsDay).values(day=day, config=config.key, built_at=datetime.now(UTC)))


def forget_all(conn: Connection) -> None:
    """Empty the rollup and its markers (after bulk loads that bypass nothing but need no markers)."""
    conn.execute(delete(StatsDaily))
    conn.execute(delete(StatsDay))
    conn.execute(delete(StatsDirty))


# --- reading ---------------------------------------------------------------------------------------

#: Columns of stats_daily a reading may group by.
GROUPABLE = ("category", "unit_id", "area_id", "day")
_GROUPABLE_TYPES: dict[str, TypeEngine[Any]] = {
    "category": String(40),
    "unit_id": Integer(),
    "area_id": Integer(),
    "day": Date(),
}
#: Attempts at a consistent read before the caller is told that no day is built.
_READ_ATTEMPTS = 3


def read(
    session: Session,
    config: Config,
    first: date,
    last: date,
    groupings: Sequence[tuple[str, ...]],
    scope: ColumnElement[bool] | None,
    names: Sequence[str] = (*MEASURES, "resolved"),
) -> tuple[set[date], list[dict[tuple[Any, ...], list[int]]]]:
    """(built days in [first, last), for each grouping (columns of GROUPABLE) the sums of ``names``
    (default: MEASURES and ``resolved``) per value of those columns over the built days within
    ``scope``).

    All groupings come from one statement that also recounts the built days: if a refresh dropped one
    of them in between (PostgreSQL reads each statement at a new moment), the read is repeated; a
    day's rows and its "built" row are written and dropped in one transaction."""
    on_rollup = true() if scope is None else adapt(scope, ROLLUP_COLUMNS)
    if on_rollup is None:
        raise ValueError("scope cannot be answered from stats_daily")
    for _ in range(_READ_ATTEMPTS):
        built = set(
            session.scalars(
                select(StatsDay.day).where(
                    StatsDay.day >= first, StatsDay.day < last, StatsDay.config == config.key
                )
            )
        )
        if not built:
            return set(), [{} for _ in groupings]
        found = _read_built(session, config, first, last, built, groupings, on_rollup, names)
        if found is not None:
            return built, found
    return set(), [{} for _ in groupings]


def _read_built(
    session: Session,
    config: Config,
    first: date,
    last: date,
    built: set[date],
    groupings: Sequence[tuple[str, ...]],
    on_rollup: ColumnElement[bool],
    names: Sequence[str],
) -> list[dict[tuple[Any, ...], list[int]]] | None:
    if len(built) == (last - first).days:
        days: ColumnElement[bool] = and_(StatsDaily.day >= first, StatsDaily.day < last)
        days_built: ColumnElement[bool] = and_(StatsDay.day >= first, StatsDay.day < last)
    else:
        days = StatsDaily.day.in_(sorted(built))
        days_built = StatsDay.day.in_(sorted(built))

    def columns(grouping: tuple[str, ...]) -> list[Any]:
        return [
            getattr(StatsDaily, c) if c in grouping else cast(null(), _GROUPABLE_TYPES[c])
            for c in GROUPABLE
        ]

    check = select(
        literal(-1),
        *columns(()),
        func.count(),
        *[cast(null(), BigInteger) for _ in names[1:]],
    ).where(days_built, StatsDay.config == config.key)
    parts = [
        select(
            literal(i),
            *columns(grouping),
            *[func.sum(getattr(StatsDaily, n)) for n in names],
        )
        .where(days, on_rollup)
        .group_by(*[getattr(StatsDaily, c) for c in grouping])
        for i, grouping in enumerate(groupings)
    ]
    found: list[dict[tuple[Any, ...], list[int]]] = [{} for _ in groupings]
    ok = False
    for row in session.execute(union_all(check, *parts)):
        part, values = row[0], row[1 + len(GROUPABLE) :]
        if part == -1:
            ok = int(values[0]) == len(built)
            continue
        if values[0] is None:  # an aggregate over no rows (grouping by nothing)
            continue
        by_column = dict(zip(GROUPABLE, row[1 : 1 + len(GROUPABLE)], strict=True))
        key = tuple(by_column[c] for c in groupings[part])
        found[part][key] = [int(v) for v in values]
    return found if ok else None
