"""Statistics as 12345 / 接诉即办 systems report them, computed in SQL on both backends.

Population: tickets *filed* in the period [start, end), excluding tickets merged into another (a merged
ticket is counted once, in the ticket it was merged into).

- 诉求量 ``filed``: tickets filed.
- 受理量 ``accepted``: filed minus rejected (不予受理).
- 响应率 ``response_rate``: share of filed tickets whose first response (the first status change by
  staff: accept, dispatch, reject …) came within the response limit (``Settings.response_limit_hours``;
  ``urgent_response_limit_hours`` for urgent tickets, counted from when staff marked it urgent if
  that was after filing).
- 办结率 ``completion_rate``: share of accepted tickets now resolved or closed.
- 按时办结率 ``on_time_rate``: share of resolved/closed tickets resolved by their due time.
- 满意率 ``satisfaction_rate``: (满意 + 基本满意) / rated tickets.
- 告知率 ``inform_rate``: of resolved/closed tickets whose reporter can be reached on Telegram, the share
  whose reporter was told both of acceptance and of the result (stamped when the outbox delivered them).
- 平均响应时长 ``mean_response_hours``: mean hours from filing to first response (responded tickets).
- 平均办结时长 ``mean_resolution_hours``: mean hours from filing to resolution (resolved/closed tickets).
- 热点 ``hotspots``: cases with the most tickets filed in the period.

Follow-through (督办台, :func:`follow_figures`), each over its own population and excluding merged
tickets. A co-handled (协办) ticket is one ticket row, counted once under its lead (responsible) unit;
helper units never count it.

- 超期率 ``overdue_rate``: of the tickets whose due time falls in the period and has already passed
  (``start <= due_at < min(end, now)``; rejected tickets left out), the share resolved after their due
  time (``resolved_at > due_at``) or not resolved at all and still open (status new, accepted,
  assigned, in progress or reopened).
- 退单率 ``send_back_rate``: of the tickets filed in the period that reached a unit (routed at filing
  or dispatched: a responsible unit is set), the share sent back (退单) at least once
  (``sent_back_count >= 1``).
- 回访率 ``callback_rate``: of the tickets resolved in the period (``start <= resolved_at < end``),
  the share whose resident was called back (回访: asked again by the supervision clock or called by
  staff, ``callback_at`` set) or rated the result (``satisfaction`` set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from tickets import rollup
from tickets.errors import InvalidInput
from tickets.models import Case, Person, Project, Ticket, Unit
from tickets.projectstatus import ProjectStatus
from tickets.statuses import Status

DIMENSIONS = ("total", "category", "unit", "grid", "day", "month")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str


def parse_period(spec: str, tz: ZoneInfo, now: datetime) -> Period:
    """``today``, ``yesterday``, ``week`` (last 7 days), ``month`` (this calendar month), ``30d``,
    ``2026-11`` (a month), ``2026-11-22`` (a day) or ``2026-11-01..2026-11-30`` (inclusive days)."""
    local_today = now.astimezone(tz).date()

    def at(day: date) -> datetime:
        return datetime.combine(day, time(), tz).astimezone(UTC)

    spec = spec.strip()
    if spec == "today":
        return Period(at(local_today), at(local_today + timedelta(days=1)), "今日")
    if spec == "yesterday":
        return Period(at(local_today - timedelta(days=1)), at(local_today), "昨日")
    if spec == "week":
        return Period(
            at(local_today - timedelta(days=6)), at(local_today + timedelta(days=1)), "近7日"
        )
    if spec == "month":
        first = local_today.replace(day=1)
        return Period(at(first), at(local_today + timedelta(days=1)), "本月")
    if m := re.fullmatch(r"(\d{1,3})d", spec):
        days = int(m.group(1))
        return Period(
            at(local_today - timedelta(days=days - 1)),
            at(local_today + timedelta(days=1)),
            f"近{days}日",
        )
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})", spec):
            first = date(int(m.group(1)), int(m.group(2)), 1)
            nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return Period(at(first), at(nxt), f"{first.year}年{first.month}月")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", spec):
            day = date.fromisoformat(spec)
            return Period(at(day), at(day + timedelta(days=1)), spec)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", spec):
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if last < first:
                raise InvalidInput("时间段的结束日期早于开始日期")
            return Period(at(first), at(last + timedelta(days=1)), f"{first}至{last}")
    except ValueError as e:
        raise InvalidInput(f"无法识别的日期：{spec}") from e
    raise InvalidInput(
        f"无法识别的时间段：{spec}（可用 today、week、month、30d、2026-11、2026-11-01..2026-11-30）"
    )


class TicketRates:
    """办结率, 按时办结率 and 满意率 from their counts (the definitions above), for every table of
    figures that has the counts: ``Figures`` and the 成绩单 (``tickets.report_card``)."""

    accepted: int
    done: int
    done_on_time: int
    rated: int
    satisfied: int

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def completion_rate(self) -> float | None:
        return self._rate(self.done, self.accepted)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.done_on_time, self.done)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.rated)


@dataclass(frozen=True)
class Figures(TicketRates):
    key: str
    label: str
    filed: int = 0
    accepted: int = 0
    responded: int = 0
    responded_in_time: int = 0
    done: int = 0
    done_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    reachable_done: int = 0
    told: int = 0
    response_seconds: float = 0.0
    resolution_seconds: float = 0.0

    @property
    def response_rate(self) -> float | None:
        return self._rate(self.responded_in_time, self.filed)

    @property
    def inform_rate(self) -> float | None:
        return self._rate(self.told, self.reachable_done)

    @property
    def mean_response_hours(self) -> float | None:
        return self.response_seconds / self.responded / 3600 if self.responded else None

    @property
    def mean_resolution_hours(self) -> float | None:
        return self.resolution_seconds / self.done / 3600 if self.done else None

    def as_dict(self) -> dict[str, Any]:
        names = ("filed", "accepted", "done", "rated")
        rates = (
            "response_rate",
            "completion_rate",
            "on_time_rate",
            "satisfaction_rate",
            "inform_rate",
            "mean_response_hours",
            "mean_resolution_hours",
        )
        return {
            "key": self.key,
            "label": self.label,
            **{n: getattr(self, n) for n in names},
            **{r: getattr(self, r) for r in rates},
        }


def _bucket(dialect: str, column: Any, fmt: str, tz: ZoneInfo, now: datetime) -> ColumnElement[str]:
    if dialect == "postgresql":
        pg_fmt = {"day": "YYYY-MM-DD", "month": "YYYY-MM"}[fmt]
        return func.to_char(func.timezone(str(tz), column), pg_fmt)
    offset = now.astimezone(tz).utcoffset() or timedelta()
    modifier = f"{int(offset.total_seconds()) // 60:+d} minutes"
    return func.strftime({"day": "%Y-%m-%d", "month": "%Y-%m"}[fmt], column, modifier)


#: The column of stats_daily each dimension reads (day and month come from the day of the row).
_ROLLUP_COLUMN = {"category": "category", "unit": "unit_id", "grid": "area_id"}


@dataclass(frozen=True)
class Breakdown:
    """Figures grouped by several dimensions at once, and the daily trend (see :func:`breakdown`)."""

    figures: dict[str, list[Figures]]
    trend: list[tuple[date, int, int]]


def prepare(
    engine: Engine,
    *,
    period: Period,
    tz: ZoneInfo,
    now: datetime | None = None,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
) -> None:
    """Bring the daily rollup up to date for ``period`` (``compute`` does it too; call this before
    opening a session that will read figures, so that the session sees the refreshed days)."""
    config = rollup.Config(tz, response_limit_hours, urgent_response_limit_hours)
    first, last = rollup.whole_days(period.start, period.end, tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    rollup.refresh(engine, config, first, last, today)


def breakdown(
    session: Session,
    *,
    period: Period,
    dims: Sequence[str],
    trend: bool = False,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
    tz: ZoneInfo,
    scope: ColumnElement[bool] | None = None,
    now: datetime | None = None,
    use_rollup: bool = True,
) -> Breakdown:
    """Figures for ``period`` grouped by each of ``dims`` (DIMENSIONS), and with ``trend`` the tickets
    filed and resolved per local day, from one pass over the rollup and one over today's tickets.

    Whole local days before today (``now``, default the current time) are read from the daily rollup
    (``tickets.rollup``), the rest from the tickets; ``use_rollup=False`` reads everything from the
    tickets (the same figures, slower). Figures are ordered by key, an empty key last."""
    for by in dims:
        if by not in DIMENSIONS:
            raise InvalidInput(f"不支持的统计维度：{by}")
    config = rollup.Config(tz, response_limit_hours, urgent_response_limit_hours)
    wanted = tuple(dict.fromkeys((*dims, *(("day",) if trend else ()))))
    totals = _gather(
        session,
        period=period,
        dims=wanted,
        config=config,
        scope=scope,
        now=now,
        use_rollup=use_rollup,
        resolved=trend,
    )
    figures = {by: _figures(session, by, totals[by]) for by in dims}
    days: list[tuple[date, int, int]] = []
    if trend:
        day = period.start.astimezone(tz).date()
        last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
        while day <= last:
            row = totals["day"].get(day.isoformat())
            days.append((day, row[0], row[-1]) if row else (day, 0, 0))
            day += timedelta(days=1)
    return Breakdown(figures, days)


def compute(
    session: Session,
    *,
    period: Period,
    by: str = "total",
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
    tz: ZoneInfo,
    scope: ColumnElement[bool] | None = None,
    now: datetime | None = None,
    use_rollup: bool = True,
) -> list[Figures]:
    """Figures for ``period`` grouped ``by`` one of DIMENSIONS (``scope``: an access filter); see
    :func:`breakdown` for where they are read from."""
    return breakdown(
        session,
        period=period,
        dims=(by,),
        response_limit_hours=response_limit_hours,
        urgent_response_limit_hours=urgent_response_limit_hours,
        tz=tz,
        scope=scope,
        now=now,
        use_rollup=use_rollup,
    ).figures[by]


def daily_trend(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    scope: ColumnElement[bool] | None = None,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
    now: datetime | None = None,
    use_rollup: bool = True,
) -> list[tuple[date, int, int]]:
    """(local day, tickets filed, tickets resolved) for every day in [start, end): filed excludes
    merged tickets, resolved counts every ticket whose resolution time falls on the day. The limits
    only name the rollup's configuration (pass the ones ``compute`` gets)."""
    return breakdown(
        session,
        period=Period(start, end, ""),
        dims=(),
        trend=True,
        response_limit_hours=response_limit_hours,
        urgent_response_limit_hours=urgent_response_limit_hours,
        tz=tz,
        scope=scope,
        now=now,
        use_rollup=use_rollup,
    ).trend


_COUNTS = rollup.MEASURES[:10]


def _figures(session: Session, by: str, totals: dict[Any, list[int]]) -> list[Figures]:
    keys = sorted((k for k, v in totals.items() if v[0]), key=lambda k: (k is None, k))
    labels = _labels(session, by, keys)
    return [
        Figures(
            key=str(k) if k is not None else "",
            label=labels.get(k, "未识别" if k is None else str(k)),
            **dict(zip(_COUNTS, totals[k][:10], strict=True)),
            response_seconds=totals[k][10] / 1000,
            resolution_seconds=totals[k][11] / 1000,
        )
        for k in keys
    ]


#: The stats_daily columns each dimension groups by (month: by day, then in Python).
_ROLLUP_GROUPING: dict[str, tuple[str, ...]] = {
    "total": (),
    "category": ("category",),
    "unit": ("unit_id",),
    "grid": ("area_id",),
    "day": ("day",),
    "month": ("day",),
}


def _gather(
    session: Session,
    *,
    period: Period,
    dims: tuple[str, ...],
    config: rollup.Config,
    scope: ColumnElement[bool] | None,
    now: datetime | None,
    use_rollup: bool,
    resolved: bool,
) -> dict[str, dict[Any, list[int]]]:
    """For each of ``dims``: the sums of ``rollup.MEASURES`` plus the tickets resolved (0 unless
    ``resolved``) per key. Keys of tickets filed in the period have filed > 0; a key with filed = 0
    only carries resolutions."""
    dialect = session.get_bind().dialect.name
    totals: dict[str, dict[Any, list[int]]] = {d: {} for d in dims}

    def add(dim: str, key: Any, values: Sequence[Any]) -> None:
        row = totals[dim].setdefault(key, [0] * (len(rollup.MEASURES) + 1))
        for i, v in enumerate(values):
            row[i] += int(v or 0)

    tz = config.tz
    first, last = rollup.whole_days(period.start, period.end, tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    last = min(last, max(first, today))
    built: set[date] = set()
    if use_rollup and first < last and _rollup_can_answer(scope):
        if not session.get_bind().get_execution_options().get("minwei_write", False):
            # Not from inside a writing transaction: on SQLite the refresh would wait for its lock.
            rollup.refresh(session.get_bind().engine, config, first, last, today)
        groupings = list(dict.fromkeys(_ROLLUP_GROUPING[d] for d in dims))
        built, found = rollup.read(session, config, first, last, groupings, scope)
        for dim in dims:
            for key, values in found[groupings.index(_ROLLUP_GROUPING[dim])].items():
                if dim == "total":
                    k: Any = "total"
                elif dim in ("day", "month"):
                    k = key[0].isoformat()[: 10 if dim == "day" else 7]
                else:
                    k = key[0]
                add(dim, k, values if resolved else [*values[:-1], 0])
    for start, end in _live_ranges(period, sorted(built), tz):
        _live(session, dialect, start, end, dims, config, scope, period, resolved, add)
    return totals


def _rollup_can_answer(scope: ColumnElement[bool] | None) -> bool:
    return scope is None or rollup.adapt(scope, rollup.ROLLUP_COLUMNS) is not None


def _live_ranges(
    period: Period, built: list[date], tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The parts of ``period`` not covered by the ``built`` days (sorted), as UTC ranges."""
    ranges: list[tuple[datetime, datetime]] = []
    cursor = period.start
    for day in built:
        start, end = rollup.day_start(day, tz), rollup.day_start(day + timedelta(days=1), tz)
        if start > cursor:
            ranges.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < period.end:
        ranges.append((cursor, period.end))
    return ranges


def _live(
    session: Session,
    dialect: str,
    start: datetime,
    end: datetime,
    dims: tuple[str, ...],
    config: rollup.Config,
    scope: ColumnElement[bool] | None,
    period: Period,
    resolved: bool,
    add: Any,
) -> None:
    """Add the figures of the tickets filed (and resolved) in [start, end) to the totals: one query
    grouped by every dimension asked for, summed per dimension here (the range is usually today)."""
    keys = [d for d in dims if d != "total"]

    def key_of(column: Any) -> list[Any]:
        return [
            {
                "category": Ticket.category,
                "unit": Ticket.unit_id,
                "grid": Ticket.area_id,
                "day": _bucket(dialect, column, "day", config.tz, period.end),
                "month": _bucket(dialect, column, "month", config.tz, period.end),
            }[k]
            for k in keys
        ]

    def spread(row: Sequence[Any], values: list[Any]) -> None:
        by_key = dict(zip(keys, row[1 : 1 + len(keys)], strict=True))
        for dim in dims:
            add(dim, "total" if dim == "total" else by_key[dim], values)

    key = key_of(Ticket.created_at)
    stmt = (
        select(literal(1), *key, *rollup.measures(dialect, config))
        .select_from(Ticket)
        .outerjoin(Person, Person.id == Ticket.reporter_id)
        .where(
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.status != Status.MERGED.value,
        )
        .group_by(*key)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    for row in session.execute(stmt):
        if row[1 + len(keys)]:  # no GROUP BY (total only) yields one row even for no tickets
            spread(row, [*row[1 + len(keys) :], 0])
    if resolved:
        key = key_of(Ticket.resolved_at)
        stmt = (
            select(literal(1), *key, func.count())
            .where(Ticket.resolved_at >= start, Ticket.resolved_at < end)
            .group_by(*key)
        )
        if scope is not None:
            stmt = stmt.where(scope)
        for row in session.execute(stmt):
            spread(row, [0] * len(rollup.MEASURES) + [row[-1]])


def _labels(session: Session, by: str, keys: list[Any]) -> dict[Any, str]:
    if by in ("unit", "grid"):
        ids = [k for k in keys if k is not None]
        if not ids:
            return {}
        units = session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(ids)))
        return {uid: f"{name}（{code}）" for uid, code, name in units}
    if by == "total":
        return {"total": "合计"}
    return {}


@dataclass(frozen=True)
class Hotspot:
    case_code: str
    category: str
    title: str
    area_id: int | None
    reports: int
    last_report_at: datetime


#: Candidate cases examined at most before ``hotspots`` falls back to grouping the period's tickets.
HOTSPOT_CANDIDATES = 3_000
_CANDIDATE_BATCH = 100


def hotspots(
    session: Session,
    *,
    period: Period,
    limit: int = 10,
    scope: ColumnElement[bool] | None = None,
    use_index: bool = True,
) -> list[Hotspot]:
    """Cases with the most tickets filed in ``period`` (ties: the most recent report first, then the
    newest case).

    Without reading every ticket of the period: the candidates are the cases reported since the
    period began (``last_report_at``), most reports ever first (``report_count``, an upper bound of
    their reports in the period); each batch is counted from ``ix_tickets_case_created`` within the
    period and scope, and the search stops when the next candidate's bound is below the ``limit``-th
    best count. Both columns are kept by ``services.file_ticket``, the only place a ticket joins a
    case. ``use_index=False`` (or too many candidates) groups the period's tickets instead."""
    if limit <= 0:
        return []
    if use_index:
        found = _hotspots_by_candidates(session, period, limit, scope)
        if found is not None:
            return found
    reports = func.count(Ticket.id).label("reports")
    stmt = (
        select(Case.code, Case.category, Case.title, Case.area_id, reports, Case.last_report_at)
        .join(Ticket, Ticket.case_id == Case.id)
        .where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
        .group_by(Case.id, Case.code, Case.category, Case.title, Case.area_id, Case.last_report_at)
        .order_by(reports.desc(), Case.last_report_at.desc(), Case.id.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    return [Hotspot(*row) for row in session.execute(stmt)]


def _hotspots_by_candidates(
    session: Session, period: Period, limit: int, scope: ColumnElement[bool] | None
) -> list[Hotspot] | None:
    candidates = (
        select(Case.id, Case.report_count)
        .where(Case.last_report_at >= period.start)
        .order_by(Case.report_count.desc(), Case.last_report_at.desc(), Case.id.desc())
        .execution_options(yield_per=_CANDIDATE_BATCH)
    )
    best: list[tuple[int, datetime, int]] = []  # (reports in period, last report, case id)
    examined = 0
    result = session.execute(candidates)
    try:
        for partition in result.partitions():
            batch: list[int] = []
            done = False
            for case_id, bound in partition:
                if len(best) >= limit and bound < best[limit - 1][0]:
                    done = True
                    break
                batch.append(case_id)
            if batch:
                best = sorted(
                    best + _reports_in_period(session, batch, period, scope), reverse=True
                )
                best = best[:limit]
                examined += len(batch)
            if done:
                break
            if examined > HOTSPOT_CANDIDATES:
                return None
    finally:
        result.close()
    cases = {
        c.id: c for c in session.scalars(select(Case).where(Case.id.in_([b[2] for b in best])))
    }
    return [
        Hotspot(
            cases[cid].code,
            cases[cid].category,
            cases[cid].title,
            cases[cid].area_id,
            reports,
            cases[cid].last_report_at,
        )
        for reports, _, cid in best
    ]


def _reports_in_period(
    session: Session, case_ids: list[int], period: Period, scope: ColumnElement[bool] | None
) -> list[tuple[int, datetime, int]]:
    stmt = (
        select(Ticket.case_id, func.count(), Case.last_report_at)
        .join(Case, Case.id == Ticket.case_id)
        .where(
            Ticket.case_id.in_(case_ids),
            Ticket.created_at >= period.start,
            Ticket.created_at < period.end,
        )
        .group_by(Ticket.case_id, Case.last_report_at)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    return [(int(n), last, int(cid)) for cid, n, last in session.execute(stmt)]


def overdue_filter(now: datetime) -> ColumnElement[bool]:
    """Open tickets past their due time."""
    return and_(Ticket.due_at < now, or_(*[Ticket.status == s.value for s in Status if s.is_open]))


@dataclass(frozen=True)
class FollowFigures:
    """The follow-through figures of one key (see the module docstring for each population)."""

    key: str
    label: str
    due: int = 0  # due in the period, due time passed
    overdue: int = 0  # … resolved late or still open
    dispatched: int = 0  # filed in the period with a responsible unit
    sent_back: int = 0  # … sent back at least once
    resolved: int = 0  # resolved in the period
    called_back: int = 0  # … called back or rated

    @property
    def overdue_rate(self) -> float | None:
        return self.overdue / self.due if self.due else None

    @property
    def send_back_rate(self) -> float | None:
        return self.sent_back / self.dispatched if self.dispatched else None

    @property
    def callback_rate(self) -> float | None:
        return self.called_back / self.resolved if self.resolved else None


def follow_figures(
    session: Session,
    *,
    period: Period,
    now: datetime,
    tz: ZoneInfo,
    by: str = "total",
    scope: ColumnElement[bool] | None = None,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
    use_rollup: bool = True,
) -> list[FollowFigures]:
    """超期率, 退单率 and 回访率 for the period, in total (``by="total"``) or per responsible (lead) unit
    (``by="unit"``), within ``scope``.

    Whole local days before today come from the daily rollup (``tickets.rollup``: a past day's
    counts no longer depend on ``now``), the rest (today, partial days, days not built) from the
    tickets, one query per population; ``use_rollup=False`` reads everything from the tickets (the
    same figures, slower). The limits only name the rollup's configuration (pass the dashboard's)."""
    if by not in ("total", "unit"):
        raise InvalidInput(f"follow-through figures by {by!r}: only total or unit")
    totals: dict[Any, list[int]] = {}

    def add(key: Any, values: Sequence[Any]) -> None:
        row = totals.setdefault(key, [0] * len(rollup.FOLLOW))
        for i, v in enumerate(values):
            row[i] += int(v or 0)

    config = rollup.Config(tz, response_limit_hours, urgent_response_limit_hours)
    first, last = rollup.whole_days(period.start, period.end, tz)
    last = min(last, max(first, now.astimezone(tz).date()))
    built: set[date] = set()
    if use_rollup and first < last and _rollup_can_answer(scope):
        if not session.get_bind().get_execution_options().get("minwei_write", False):
            # Not from inside a writing transaction: on SQLite the refresh would wait for its lock.
            rollup.refresh(
                session.get_bind().engine, config, first, last, now.astimezone(tz).date()
            )
        grouping = ("unit_id",) if by == "unit" else ()
        built, (found,) = rollup.read(
            session, config, first, last, [grouping], scope, names=rollup.FOLLOW
        )
        for k, values in found.items():
            add(k[0] if by == "unit" else "total", values)
    for start, end in _live_ranges(period, sorted(built), tz):
        _follow_live(session, by, start, end, now, scope, add)
    keys = sorted(
        (k for k, v in totals.items() if v[0] or v[2] or v[4]), key=lambda k: (k is None, k)
    )
    labels = _labels(session, by, keys)
    return [
        FollowFigures(
            key=str(k) if k is not None else "",
            label=labels.get(k, "未识别" if k is None else str(k)),
            **dict(zip(_FOLLOW_FIELDS, totals[k], strict=True)),
        )
        for k in keys
    ] or ([FollowFigures("total", "合计")] if by == "total" else [])


#: FollowFigures' counts in the order of ``rollup.FOLLOW``.
_FOLLOW_FIELDS = ("due", "overdue", "dispatched", "sent_back", "resolved", "called_back")


def _follow_live(
    session: Session,
    by: str,
    start: datetime,
    end: datetime,
    now: datetime,
    scope: ColumnElement[bool] | None,
    add: Any,
) -> None:
    """Add the follow-through counts of [start, end) read from the tickets: one query per population."""
    key: Any = Ticket.unit_id if by == "unit" else literal_column("'total'")
    for i, (population, hit) in enumerate(rollup.follow_populations(start, end, now)):
        stmt = select(key, func.count(), rollup.count_if(hit)).where(population)
        if by == "unit":
            stmt = stmt.group_by(Ticket.unit_id)
        if scope is not None:
            stmt = stmt.where(scope)
        for k, n, hits in session.execute(stmt):
            if n:
                values = [0] * len(rollup.FOLLOW)
                values[2 * i], values[2 * i + 1] = int(n), int(hits)
                add(k, values)


# ------------------------------------------------------------------------------ 民微实事 projects


@dataclass(frozen=True)
class ProjectMoney:
    """The projects of one area (a project's 所在区域) as they stand now."""

    unit_id: int
    projects: int
    #: Approved budgets (立项预算) of the projects approved so far, 不立项 never counted.
    committed_fen: int
    #: Money recorded as spent in their progress updates.
    spent_fen: int


@dataclass(frozen=True)
class ProjectFigures:
    """Projects within a scope as they stand now: how many at each stage, and money per area."""

    by_status: dict[ProjectStatus, int]
    by_unit: list[ProjectMoney]

    @property
    def total(self) -> ProjectMoney:
        return ProjectMoney(
            0,
            sum(u.projects for u in self.by_unit),
            sum(u.committed_fen for u in self.by_unit),
            sum(u.spent_fen for u in self.by_unit),
        )


def project_figures(session: Session, *, scope: ColumnElement[bool]) -> ProjectFigures:
    """The projects ``scope`` selects (``tickets.usecases.projects.visible_projects``), counted
    by stage and summed by area in one grouped query (a district has hundreds of projects, not
    millions: no rollup needed)."""
    rows = session.execute(
        select(
            Project.unit_id,
            Project.status,
            func.count(Project.id),
            func.coalesce(func.sum(Project.approved_fen), 0),
            func.coalesce(func.sum(Project.spent_fen), 0),
        )
        .where(scope)
        .group_by(Project.unit_id, Project.status)
    ).all()
    by_status = dict.fromkeys(ProjectStatus, 0)
    money: dict[int, list[int]] = {}
    for unit_id, status, n, committed, spent in rows:
        by_status[ProjectStatus(status)] += int(n)
        totals = money.setdefault(unit_id, [0, 0, 0])
        totals[0] += int(n)
        totals[1] += int(committed)
        totals[2] += int(spent)
    return ProjectFigures(
        by_status=by_status,
        by_unit=sorted(
            (ProjectMoney(uid, n, c, s) for uid, (n, c, s) in money.items()),
            key=lambda m: (-m.committed_fen, -m.projects, m.unit_id),
        ),
    )
