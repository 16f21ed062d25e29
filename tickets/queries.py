"""Read-side queries for the console and the Open311 API: filter, search, sort, page and count tickets.

Adapters build a :class:`TicketFilter` from a request and call these functions with the viewer's access
scope (``tickets.access.visible_tickets``); no SQL lives in route handlers.

Counts at a million tickets are bounded: :func:`bounded_count` stops counting at ``cap`` and says so
(shown as "10000+"), so a count never costs more than reading ``cap`` index entries.
"""

from __future__ import annotations

import time as clock
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.orm import Session, joinedload

from tickets import search
from tickets.errors import InvalidInput
from tickets.models import (
    OPEN_STATUS_SQL,
    Case,
    LabelFeedback,
    OutboxItem,
    Person,
    ReviewItem,
    Ticket,
    TicketEvent,
    Unit,
)
from tickets.statuses import DONE_STATUSES, OPEN_STATUSES, HandlingMode, Role, Source, Status
from tickets.units import UnitTree

#: Counts stop here (a count above it is shown as "10000+").
COUNT_CAP = 10_000
#: The counts beside each filter option stop earlier ("1000+"): there are 27 of them per page.
FACET_CAP = 1_000
MAX_PAGE_SIZE = 200

#: Sort keys the list accepts → (column, default direction). Ties break on the id.
#: "created" sorts by id: ids are assigned at filing, so id order is filing order, and the primary key
#: serves the default (newest first) list and full-text results without another index.
SORTS: dict[str, Any] = {
    "created": Ticket.id,
    "updated": Ticket.updated_at,
    "due": Ticket.due_at,
    "code": Ticket.code,
}
#: Searches count to here ("1000+"): counting full-text matches costs a row visit each.
SEARCH_COUNT_CAP = 1_000
#: Windows of recent ids a broad search on PostgreSQL looks in before searching everything.
SEARCH_WINDOWS = (50_000, 400_000)
#: Below this many matches the list is sorted after filtering by the most selective index; above it,
#: it walks the sort column's index and filters (see ``_ordered``).
SMALL_RESULT = 2_000


@dataclass(frozen=True)
class TicketFilter:
    """What a staff member (or an API client) asked to see. Empty fields do not filter."""

    statuses: tuple[Status, ...] = ()
    categories: tuple[str, ...] = ()
    urgent: bool | None = None
    handling_mode: HandlingMode | None = None
    area: str | None = None  # unit code: tickets located in its subtree (grid, community …)
    unit: str | None = None  # unit code: tickets routed to it or a unit below it
    source: Source | None = None
    date_from: date | None = None  # local calendar days, inclusive
    date_to: date | None = None
    created_after: datetime | None = None  # exact instants (Open311 start_date / end_date)
    created_before: datetime | None = None
    overdue: bool = False
    needs_review: bool = False
    case_code: str | None = None
    codes: tuple[str, ...] = ()
    q: str = ""
    sort: str = "created"
    descending: bool = True
    page: int = 1
    page_size: int = 20

    def without(self, *names: str) -> TicketFilter:
        """This filter with ``names`` reset to their defaults (used for per-option counts)."""
        defaults = TicketFilter()
        return replace(self, **{n: getattr(defaults, n) for n in names})


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def text_search(query: str, dialect: str) -> ColumnElement[bool] | None:
    """Tickets whose redacted text contains ``query`` (see ``tickets.search``); None: nothing to find."""
    q = search.parse(query)
    if q.empty:
        return None
    if dialect == "sqlite":
        fts = text("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH :fts_query").bindparams(
            fts_query=search.fts5_expression(q)
        )
        return Ticket.id.in_(fts.columns(column("rowid", Integer)))
    if dialect == "postgresql":
        match = cast(Ticket.search_text, TSVECTOR).op("@@")(
            cast(bindparam(None, search.tsquery(q), type_=Text, unique=True), TSQUERY)
        )
        padded = literal(" ") + Ticket.search_text + literal(" ")
        phrases = [padded.like(p, escape="\\") for p in search.like_patterns(q)]
        return and_(match, *phrases)
    raise InvalidInput(f"不支持的数据库：{dialect}")


def conditions(
    f: TicketFilter,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    dialect: str,
    now: datetime,
    tz: ZoneInfo,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``f`` within ``scope`` (an access filter)."""
    where: list[ColumnElement[bool]] = [scope]
    if f.statuses:
        where.append(Ticket.status.in_([s.value for s in f.statuses]))
    if f.categories:
        where.append(Ticket.category.in_(list(f.categories)))
    if f.urgent is True:
        where.append(_sql("tickets.urgent"))  # as the partial index ix_tickets_urgent_scope reads
    elif f.urgent is False:
        where.append(Ticket.urgent.is_(False))
    if f.handling_mode is not None:
        where.append(Ticket.handling_mode == f.handling_mode.value)
    if f.source is not None:
        where.append(Ticket.source == f.source.value)
    if f.area:
        where.append(Ticket.area_id.in_(sorted(tree.subtree_ids(tree.get(f.area)))))
    if f.unit:
        where.append(Ticket.unit_id.in_(sorted(tree.subtree_ids(tree.get(f.unit)))))
    if f.date_from is not None:
        where.append(Ticket.created_at >= _day_start(f.date_from, tz))
    if f.date_to is not None:
        where.append(Ticket.created_at < _day_start(f.date_to + timedelta(days=1), tz))
    if f.created_after is not None:
        where.append(Ticket.created_at >= f.created_after)
    if f.created_before is not None:
        where.append(Ticket.created_at <= f.created_before)
    if f.overdue:
        where.append(overdue(now))
    if f.needs_review:
        where.append(_sql("tickets.needs_review"))  # as ix_tickets_review_scope reads
    if f.case_code:
        where.append(Ticket.case_id.in_(select(Case.id).where(Case.code == f.case_code)))
    if f.codes:
        where.append(Ticket.code.in_(list(f.codes)))
    if f.q.strip():
        code = f.q.strip().upper()
        if code.startswith("MW-"):
            where.append(Ticket.code == code)
        elif code.startswith("CS-"):
            where.append(Ticket.case_id.in_(select(Case.id).where(Case.code == code)))
        else:
            found = text_search(f.q, dialect)
            if found is None:  # only punctuation or emoji: nothing can contain it
                return [false()]
            if dialect == "sqlite":
                # Drive the query from the full-text matches: the other conditions go into one
                # expression no index can serve, so SQLite does not start from a broad scope index
                # and probe the matches row by row.
                return [found, case((and_(*where), 1), else_=0) == 1]
            where.append(found)
    return where


def _sql(clause: str) -> ColumnElement[bool]:
    """A literal SQL condition (partial indexes are only used when the query repeats their text)."""
    return text(clause).self_group()  # type: ignore[return-value]


def overdue(now: datetime) -> ColumnElement[bool]:
    """Open tickets past their due time."""
    return and_(Ticket.due_at < now, _sql(OPEN_STATUS_SQL))


def bounded_count(
    session: Session, where: Sequence[ColumnElement[bool]], cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """(count, capped): the number of matching tickets, or ``cap`` and True when there are more."""
    inner = select(literal(1)).select_from(Ticket).where(*where).limit(cap + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return (cap, True) if n > cap else (n, False)


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool = False
    known: bool = True

    def __str__(self) -> str:
        if not self.known:
            return "…"
        return f"{self.value}+" if self.capped else str(self.value)


UNKNOWN = Count(0, known=False)


@dataclass
class TicketPage:
    items: list[Ticket]
    total: Count
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total.value // self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages or (self.total.capped and len(self.items) == self.page_size)


@contextmanager
def _bitmap_scans_only(session: Session, on: bool) -> Iterator[None]:
    """Count full-text matches on PostgreSQL through the GIN index (a bitmap scan), not by testing
    every row of a sequential scan: with a LIMIT the planner expects to stop early and picks the
    scan, but casting each row's search text to a tsvector costs ~10 µs. Only for one statement."""
    if not on:
        yield
        return
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        yield
    finally:
        session.execute(text("RESET enable_seqscan"))
        session.execute(text("RESET enable_indexscan"))


def _is_text_search(f: TicketFilter) -> bool:
    q = f.q.strip().upper()
    return bool(q) and not q.startswith(("MW-", "CS-"))


def _ordered(
    stmt: Select[Any], f: TicketFilter, *, few: bool = False, dialect: str = ""
) -> Select[Any]:
    """``stmt`` in the list's order.

    With ``few`` matches on SQLite, the sort key is written ``+column`` so that the planner cannot use the
    sort column's index: it then finds the few rows through the most selective filter index and sorts
    them, instead of walking the whole sort index looking for them (SQLite's planner does not weigh
    LIMIT when choosing between the two)."""
    if f.sort not in SORTS:
        raise InvalidInput(f"不支持的排序：{f.sort}")
    key: Any = SORTS[f.sort]
    dated = f.date_from or f.date_to or f.created_after or f.created_before
    if key is Ticket.id and dated:
        key = Ticket.created_at  # the same order; the created_at index also serves the date range
    keys = [key] if key is Ticket.id else [key, Ticket.id]
    if few and dialect == "sqlite":
        keys[0] = literal_column(f"+tickets.{key.key}")
    return stmt.order_by(*(k.desc() if f.descending else k.asc() for k in keys))


def list_tickets(
    session: Session,
    f: TicketFilter,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    now: datetime,
    tz: ZoneInfo,
    with_count: bool = True,
) -> TicketPage:
    """One page of tickets matching ``f`` within ``scope``, with a bounded total."""
    if not 1 <= f.page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"每页条数应在 1 到 {MAX_PAGE_SIZE} 之间")
    if f.page < 1 or (f.page - 1) * f.page_size > COUNT_CAP:
        raise InvalidInput(f"页码超出范围（最多浏览前 {COUNT_CAP} 条，请缩小筛选范围）")
    dialect = session.get_bind().dialect.name
    where = conditions(f, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)
    searching = _is_text_search(f)
    cap = SEARCH_COUNT_CAP if searching else COUNT_CAP
    total: Count | None = None
    if with_count or searching or dialect == "sqlite":
        with _bitmap_scans_only(session, searching and dialect == "postgresql"):
            total = Count(*bounded_count(session, where, cap))
    dense = total is not None and (total.capped or total.value >= SMALL_RESULT)

    def page_of(conds: list[ColumnElement[bool]]) -> list[Ticket]:
        stmt = _ordered(
            select(Ticket).options(joinedload(Ticket.unit), joinedload(Ticket.area)).where(*conds),
            f,
            few=not dense and not searching,
            dialect=dialect,
        )
        return list(session.scalars(stmt.limit(f.page_size).offset((f.page - 1) * f.page_size)))

    newest_first = SORTS[f.sort] is Ticket.id and f.descending
    if dense and searching and newest_first and dialect == "postgresql":
        # A GIN index gives matches in no order, so PostgreSQL fetches every match to sort them.
        # With many matches, a page of the newest is almost always among the newest tickets: look
        # in growing windows of the most recent ids first (a B-tree range ANDed with the GIN bitmap).
        top = int(session.scalar(select(func.max(Ticket.id))) or 0)
        for window in (*SEARCH_WINDOWS, None):
            items = page_of(where if window is None else [*where, Ticket.id > top - window])
            if len(items) == f.page_size:
                break
    else:
        items = page_of(where)
    if total is None or not with_count:
        total = Count(len(items) + (f.page - 1) * f.page_size)
    return TicketPage(items, total, f.page, f.page_size)


def iter_tickets(
    session: Session,
    f: TicketFilter,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    now: datetime,
    tz: ZoneInfo,
    limit: int,
) -> Iterator[Ticket]:
    """Every ticket matching ``f`` (up to ``limit``) in the list's order, streamed in batches (exports)."""
    dialect = session.get_bind().dialect.name
    where = conditions(f, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)
    options = (joinedload(Ticket.unit), joinedload(Ticket.area), joinedload(Ticket.case))
    stmt = _ordered(select(Ticket).options(*options).where(*where), f).limit(limit)
    yield from session.scalars(stmt.execution_options(yield_per=500))


# ---------------------------------------------------------------------------------------------------
# Counts per filter option (the numbers beside each status, category and flag in the console).

#: Status groups the console shows as tabs.
STATUS_TABS: dict[str, tuple[Status, ...]] = {
    "new": (Status.NEW,),
    "working": (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED),
    "done": tuple(sorted(DONE_STATUSES)),
    "rejected": (Status.REJECTED, Status.MERGED),
}


@dataclass
class FacetCounts:
    """Counts per filter option; ``available`` is False when a search matched too much to count."""

    statuses: dict[str, Count] = field(default_factory=dict)
    categories: dict[str, Count] = field(default_factory=dict)
    flags: dict[str, Count] = field(default_factory=dict)
    available: bool = True


#: Up to this many tickets, the counts of one dimension come from reading that column of them once.
GROUP_MAX = 20_000
#: Bounded counts per option stop being computed after this long (the rest show "…").
FACET_BUDGET_SECONDS = 0.4


def facet_counts(
    session: Session,
    f: TicketFilter,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    now: datetime,
    tz: ZoneInfo,
    categories: Sequence[str],
    cap: int = FACET_CAP,
) -> FacetCounts:
    """For each status tab, category and flag: how many tickets the list would show if it were chosen
    (the other filters kept).

    Per dimension: when the tickets matching the filter without that dimension are few (≤
    ``GROUP_MAX``), one GROUP BY counts them exactly; otherwise each option is a bounded count
    (``cap``, shown as "1000+") served by the scope indexes, until ``FACET_BUDGET_SECONDS`` have been
    spent (the rest are unknown, shown as "…"). A full-text search matching that many is not counted
    per option (``available`` False)."""
    dialect = session.get_bind().dialect.name
    deadline = clock.monotonic() + FACET_BUDGET_SECONDS

    def where(g: TicketFilter) -> list[ColumnElement[bool]]:
        return conditions(g, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)

    def count(g: TicketFilter) -> Count:
        if clock.monotonic() > deadline:
            return UNKNOWN
        return Count(*bounded_count(session, where(g), cap))

    def grouped(g: TicketFilter, column: Any) -> dict[str, int] | None:
        if bounded_count(session, where(g), GROUP_MAX)[1]:
            return None
        # Read the column and count in Python: a GROUP BY would tempt the planner into walking the
        # index that is sorted by the column instead of the one that finds the few rows.
        values = session.scalars(select(column).where(*where(g)))
        return {str(getattr(k, "value", k)): n for k, n in Counter(values).items()}

    result = FacetCounts()
    rest = f.without("statuses", "page", "sort")
    by_status = grouped(rest, Ticket.status)
    if by_status is not None:
        result.statuses["all"] = Count(sum(by_status.values()))
        for key, members in STATUS_TABS.items():
            result.statuses[key] = Count(sum(by_status.get(s.value, 0) for s in members))
    elif f.q.strip():
        return FacetCounts(available=False)
    else:
        result.statuses["all"] = count(rest)
        for key, members in STATUS_TABS.items():
            result.statuses[key] = count(replace(rest, statuses=members))
    rest = f.without("categories", "page", "sort")
    by_category = grouped(rest, Ticket.category)
    for code in categories:
        result.categories[code] = (
            Count(by_category.get(code, 0))
            if by_category is not None
            else count(replace(rest, categories=(code,)))
        )
    for flag in ("urgent", "overdue", "needs_review"):
        result.flags[flag] = count(replace(f.without(flag, "page", "sort"), **{flag: True}))  # type: ignore[arg-type]
    return result


# ---------------------------------------------------------------------------------------------------
# Ticket detail, review queue, dashboard trend, training data.


def ticket_by_code(session: Session, code: str) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .options(joinedload(Ticket.unit), joinedload(Ticket.area), joinedload(Ticket.case))
        .where(Ticket.code == code.strip().upper())
    )


def case_by_code(session: Session, code: str) -> Case | None:
    return session.scalar(
        select(Case).options(joinedload(Case.area)).where(Case.code == code.strip().upper())
    )


def in_scope(session: Session, ticket: Ticket, scope: ColumnElement[bool]) -> bool:
    """True when ``ticket`` satisfies the access filter ``scope``."""
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, scope)) is not None


def events_of(session: Session, ticket: Ticket) -> list[TicketEvent]:
    return list(
        session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.at, TicketEvent.id)
        )
    )


def notifications_of(session: Session, ticket: Ticket) -> list[OutboxItem]:
    """Messages queued for the ticket (to residents and the staff group), oldest first."""
    return list(
        session.scalars(
            select(OutboxItem).where(OutboxItem.ticket_id == ticket.id).order_by(OutboxItem.id)
        )
    )


def case_tickets(
    session: Session, case: Case, *, scope: ColumnElement[bool] | None = None, limit: int = 100
) -> list[Ticket]:
    """The tickets of ``case`` (those in ``scope`` when given), newest first."""
    stmt = select(Ticket).where(Ticket.case_id == case.id)
    if scope is not None:
        stmt = stmt.where(scope)
    return list(session.scalars(stmt.order_by(Ticket.created_at.desc()).limit(limit)))


def case_progress(session: Session, case: Case) -> dict[str, int]:
    """How many of the case's tickets are open and done (public progress page)."""
    rows = session.execute(
        select(Ticket.status, func.count()).where(Ticket.case_id == case.id).group_by(Ticket.status)
    ).all()
    counts = {Status(s): int(n) for s, n in rows}
    return {
        "total": sum(n for s, n in counts.items() if s is not Status.MERGED),
        "open": sum(n for s, n in counts.items() if s in OPEN_STATUSES),
        "done": sum(n for s, n in counts.items() if s in DONE_STATUSES),
    }


def review_scope(person: Person, tree: UnitTree) -> ColumnElement[bool]:
    """Review items ``person`` may see: those located in their units (unlocated ones: district level)."""
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if not person.active or not person.role.is_staff:
        return false()
    if scope is None:
        return true() if person.role is Role.DISTRICT_ADMIN else false()
    if scope.parent_id is None:
        return true()
    return ReviewItem.area_id.in_(sorted(tree.subtree_ids(scope)))


def pending_review_items(
    session: Session, *, scope: ColumnElement[bool], limit: int = 50
) -> list[ReviewItem]:
    return list(
        session.scalars(
            select(ReviewItem)
            .where(ReviewItem.status == "pending", scope)
            .order_by(ReviewItem.created_at, ReviewItem.id)
            .limit(limit)
        )
    )


def count_pending_review_items(session: Session, *, scope: ColumnElement[bool]) -> Count:
    inner = (
        select(literal(1))
        .select_from(ReviewItem)
        .where(ReviewItem.status == "pending", scope)
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    n = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return Count(COUNT_CAP, True) if n > COUNT_CAP else Count(n)


def daily_trend(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    scope: ColumnElement[bool],
) -> list[tuple[date, int, int]]:
    """(local day, tickets filed, tickets resolved) for every day in [start, end)."""
    dialect = session.get_bind().dialect.name

    def per_day(column: Any, extra: ColumnElement[bool]) -> dict[str, int]:
        key = _local_day(dialect, column, tz, end)
        stmt = (
            select(key, func.count())
            .where(column >= start, column < end, scope, extra)
            .group_by(key)
        )
        return {str(k): int(n) for k, n in session.execute(stmt)}

    filed = per_day(Ticket.created_at, Ticket.status != Status.MERGED.value)
    resolved = per_day(Ticket.resolved_at, true())
    days: list[tuple[date, int, int]] = []
    day = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    while day <= last:
        key = day.isoformat()
        days.append((day, filed.get(key, 0), resolved.get(key, 0)))
        day += timedelta(days=1)
    return days


def _local_day(dialect: str, column: Any, tz: ZoneInfo, at: datetime) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(tz), column), "YYYY-MM-DD")
    offset = at.astimezone(tz).utcoffset() or timedelta()
    return func.strftime("%Y-%m-%d", column, f"{int(offset.total_seconds()) // 60:+d} minutes")


def label_feedback(
    session: Session, *, since: datetime | None = None, limit: int = 100_000
) -> list[tuple[LabelFeedback, Ticket | None]]:
    """Label corrections (newest last) with their ticket when there is one, for training-data export."""
    stmt = (
        select(LabelFeedback, Ticket)
        .outerjoin(Ticket, Ticket.id == LabelFeedback.ticket_id)
        .order_by(LabelFeedback.id)
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(LabelFeedback.created_at >= since)
    return [(fb, t) for fb, t in session.execute(stmt).tuples()]


def units_by_id(session: Session, ids: Sequence[int]) -> dict[int, Unit]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(ids))))}
