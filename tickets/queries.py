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
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList
from sqlalchemy.sql.schema import Column

from tickets import counts, rollup, search, stats
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


def search_document() -> ColumnElement[Any]:
    """The PostgreSQL search document: the bigrams, a token for the ticket's area and one for its
    responsible unit (``~a19 ~u13``), as indexed by ``ix_tickets_search`` (migration 0006), so that
    "in my units" and "in this place" are answered inside the GIN index together with the words."""

    def token(prefix: str, id_column: Any) -> ColumnElement[Any]:
        return literal_column(f"' {prefix}'") + func.coalesce(
            cast(id_column, Text), literal_column("''")
        )

    return cast(
        Ticket.search_text + token("~a", Ticket.area_id) + token("~u", Ticket.unit_id), TSVECTOR
    )


def text_search(
    query: str, dialect: str, places: Sequence[Sequence[str]] = ()
) -> ColumnElement[bool] | None:
    """Tickets whose redacted text contains ``query`` (see ``tickets.search``); None: nothing to find.

    ``places``: on PostgreSQL, groups of place tokens (``~a19``, ``~u13``); a match must have one token
    of each group (the same conditions stay in the WHERE clause: this only lets the index apply them)."""
    q = search.parse(query)
    if q.empty:
        return None
    if dialect == "sqlite":
        fts = text("SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH :fts_query").bindparams(
            fts_query=search.fts5_expression(q)
        )
        return Ticket.id.in_(fts.columns(column("rowid", Integer)))
    if dialect == "postgresql":
        tsquery = search.tsquery(q)
        for group in places:
            alternatives = " | ".join(f"'{t}'" for t in group)
            tsquery = f"({tsquery}) & ({alternatives})"
        match = search_document().op("@@")(
            cast(bindparam(None, tsquery, type_=Text, unique=True), TSQUERY)
        )
        padded = literal(" ") + Ticket.search_text + literal(" ")
        phrases = [padded.like(p, escape="\\") for p in search.like_patterns(q)]
        return and_(match, *phrases)
    raise InvalidInput(f"不支持的数据库：{dialect}")


def _scope_tokens(scope: ColumnElement[bool]) -> list[str] | None:
    """The place tokens of an access scope ``unit_id IN (…) OR area_id IN (…)`` (as
    ``tickets.access.visible_tickets`` builds it); None for any other shape (no help for the index)."""
    if not isinstance(scope, BooleanClauseList) or scope.operator is not operators.or_:
        return None
    tokens: list[str] = []
    for clause in scope.clauses:
        if not (
            isinstance(clause, BinaryExpression)
            and clause.operator is operators.in_op
            and isinstance(clause.right, BindParameter)
            and isinstance(clause.right.value, list | tuple)
        ):
            return None
        left = clause.left
        if not isinstance(left, Column) or left.table is not Ticket.__table__:
            return None
        prefix = {"unit_id": "~u", "area_id": "~a"}.get(left.key)
        if prefix is None:
            return None
        tokens += [f"{prefix}{int(i)}" for i in clause.right.value]
    return tokens or None


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
            places = [
                group
                for group in (
                    _scope_tokens(scope),
                    [f"~a{i}" for i in tree.subtree_ids(tree.get(f.area))] if f.area else None,
                    [f"~u{i}" for i in tree.subtree_ids(tree.get(f.unit))] if f.unit else None,
                )
                if group is not None
            ]
            found = text_search(f.q, dialect, places)
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
#: Overdue tickets grouped at most (from the partial index of open tickets by due time).
OVERDUE_MAX = 100_000
#: Tickets in a date range grouped at most (from the index by filing time, which holds the facets).
DATED_MAX = 200_000
#: Bounded counts per option stop being computed after this long (the rest show "…").
FACET_BUDGET_SECONDS = 0.4
#: The columns the sidebar counts by.
_FACETS = ("status", "category", "urgent", "needs_review")
#: Facet values → tickets: (status, category, urgent, needs_review) → count.
Cube = dict[tuple[str, str, bool, bool], int]


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

    All of them come from two small tables of counts per (status, category, urgent, needs_review) of
    the tickets matching the filters other than those four and "overdue": one over all of them, one
    over the overdue ones. When those filters are only the scope, places, units, handling mode and
    source, the first table is summed from ``ticket_counts`` (``tickets.counts``, exact at a million
    tickets) and the second grouped from the partial index of open tickets by due time (up to
    ``OVERDUE_MAX``); otherwise both are grouped from the matching tickets when they are at most
    ``GROUP_MAX`` (a search) or ``DATED_MAX`` (a date range: read from the index by filing time,
    which holds the facet columns), and beyond that :func:`bounded_facet_counts` counts option by
    option. Shown as before: exact when the tickets of a dimension are at most ``GROUP_MAX``, else
    capped at ``cap`` ("1000+"); flags always capped; a search matching too much is not counted."""
    dialect = session.get_bind().dialect.name
    base = f.without("statuses", "categories", "urgent", "overdue", "needs_review", "page", "sort")
    where = conditions(base, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)
    searching = _is_text_search(f)
    adapted = [rollup.adapt(c, counts.COLUMNS) for c in where]
    cubes: tuple[Cube, Cube | None] | None = None
    if all(c is not None for c in adapted):
        if not session.get_bind().get_execution_options().get("minwei_write", False):
            counts.fold_if_needed(session.get_bind().engine)
        if f.overdue:
            overdue_cube = _grouped(session, [*where, overdue(now)], None, OVERDUE_MAX)
            cubes = None if overdue_cube is None else ({}, overdue_cube)
        else:
            summed = counts.cube(session, [c for c in adapted if c is not None], _FACETS)
            cubes = {_facet_key(k): n for k, n in summed.items()}, None
    else:
        with _bitmap_scans_only(session, searching and dialect == "postgresql"):
            cubes = _ticket_cubes(session, where, now, GROUP_MAX if searching else DATED_MAX)
        facet_filters = f.categories or f.urgent is not None or f.overdue or f.needs_review
        if cubes is None and searching and not facet_filters:
            return FacetCounts(available=False)  # more than GROUP_MAX matches: too broad to count
    if cubes is None:
        return bounded_facet_counts(
            session, f, scope=scope, tree=tree, now=now, tz=tz, categories=categories, cap=cap
        )
    everything, overdue_cube = cubes
    overdue_count = None
    if overdue_cube is None:  # the summary has no due times: the overdue flag is a bounded count
        if not f.statuses or any(s.is_open for s in f.statuses):
            flag = replace(f.without("page", "sort"), overdue=True)
            where = conditions(flag, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)
            n, capped = bounded_count(session, where, cap)
            overdue_count = cap + 1 if capped else n
        else:
            overdue_count = 0  # only open tickets can be overdue
    return _counts_from_cubes(
        everything, overdue_cube, overdue_count, f=f, categories=categories, cap=cap
    )


def _ticket_cubes(
    session: Session, where: list[ColumnElement[bool]], now: datetime, limit: int
) -> tuple[Cube, Cube] | None:
    is_overdue = case((overdue(now), 1), else_=0)
    everything: Cube = {}
    overdue_cube: Cube = {}
    found = _grouped(session, where, is_overdue, limit)
    if found is None:
        return None
    for key, n in found.items():
        *facets, late = key
        cube_key = _facet_key(facets)
        everything[cube_key] = everything.get(cube_key, 0) + n
        if late:
            overdue_cube[cube_key] = overdue_cube.get(cube_key, 0) + n
    return everything, overdue_cube


def _grouped(
    session: Session, where: list[ColumnElement[bool]], extra: Any, limit: int
) -> dict[Any, int] | None:
    """Tickets matching ``where`` per facet values (and ``extra``), or None when more than ``limit``."""
    columns: list[Any] = [getattr(Ticket, name) for name in _FACETS]
    if extra is not None:
        columns.append(extra.label("extra"))
    inner = select(*columns).where(*where).limit(limit + 1).subquery()
    keys = list(inner.c)
    rows = session.execute(select(*keys, func.count()).group_by(*keys)).all()
    if sum(int(row[-1]) for row in rows) > limit:
        return None
    if extra is None:
        return {_facet_key(row[:-1]): int(row[-1]) for row in rows}
    return {(*_facet_key(row[:4]), bool(row[4])): int(row[-1]) for row in rows}


def _facet_key(values: Sequence[Any]) -> tuple[str, str, bool, bool]:
    status, category, urgent, review = values
    return (str(getattr(status, "value", status)), str(category), bool(urgent), bool(review))


def _counts_from_cubes(
    everything: Cube,
    overdue_cube: Cube | None,
    overdue_count: int | None,
    *,
    f: TicketFilter,
    categories: Sequence[str],
    cap: int,
) -> FacetCounts:
    """The sidebar's counts from the tickets per facet values (all matching, and the overdue ones;
    without the latter, ``overdue_count`` is the overdue flag's count, above ``cap`` when capped)."""
    statuses = {s.value for s in f.statuses} or None
    chosen = set(f.categories) or None
    review = True if f.needs_review else None
    cube = overdue_cube if f.overdue and overdue_cube is not None else everything

    def size(
        of: Cube,
        s: set[str] | None = statuses,
        c: set[str] | None = chosen,
        u: bool | None = f.urgent,
        r: bool | None = review,
    ) -> int:
        return sum(
            n
            for (status, category, urgent, needs_review), n in of.items()
            if (s is None or status in s)
            and (c is None or category in c)
            and (u is None or urgent is u)
            and (r is None or needs_review is r)
        )

    def shown(n: int, exact: bool) -> Count:
        return Count(n) if exact else Count(min(n, cap), n > cap)

    result = FacetCounts()
    rest = size(cube, s=None)
    if rest > GROUP_MAX and f.q.strip():
        return FacetCounts(available=False)
    result.statuses["all"] = shown(rest, rest <= GROUP_MAX)
    for key, members in STATUS_TABS.items():
        n = size(cube, s={m.value for m in members})
        result.statuses[key] = shown(n, rest <= GROUP_MAX)
    rest = size(cube, c=None)
    for code in categories:
        result.categories[code] = shown(size(cube, c={code}), rest <= GROUP_MAX)
    result.flags["urgent"] = shown(size(cube, u=True), False)
    late = size(overdue_cube) if overdue_cube is not None else overdue_count or 0
    result.flags["overdue"] = shown(late, False)
    result.flags["needs_review"] = shown(size(cube, r=True), False)
    return result


def bounded_facet_counts(
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
    """The counts of :func:`facet_counts` without the summary table: used when the tickets to count
    are too many to group (a broad date range, a search matching many tickets).

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
    now: datetime | None = None,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
) -> list[tuple[date, int, int]]:
    """(local day, tickets filed, tickets resolved) for every day in [start, end): see
    ``tickets.stats.daily_trend`` (past days come from the daily rollup)."""
    return stats.daily_trend(
        session,
        start=start,
        end=end,
        tz=tz,
        scope=scope,
        now=now,
        response_limit_hours=response_limit_hours,
        urgent_response_limit_hours=urgent_response_limit_hours,
    )


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
