"""Statistics as 12345 / 接诉即办 systems report them, computed in SQL on both backends.

Population: tickets *filed* in the period [start, end), excluding tickets merged into another (a merged
ticket is counted once, in the ticket it was merged into).

- 诉求量 ``filed``: tickets filed.
- 受理量 ``accepted``: filed minus rejected (不予受理).
- 响应率 ``response_rate``: share of filed tickets whose first response (the first status change by
  staff: accept, dispatch, reject …) came within the response limit (``Settings.response_limit_hours``;
  ``urgent_response_limit_hours`` for urgent tickets).
- 办结率 ``completion_rate``: share of accepted tickets now resolved or closed.
- 按时办结率 ``on_time_rate``: share of resolved/closed tickets resolved by their due time.
- 满意率 ``satisfaction_rate``: (满意 + 基本满意) / rated tickets.
- 告知率 ``inform_rate``: of resolved/closed tickets whose reporter can be reached on Telegram, the share
  whose reporter was told both of acceptance and of the result (stamped when the outbox delivered them).
- 平均响应时长 ``mean_response_hours``: mean hours from filing to first response (responded tickets).
- 平均办结时长 ``mean_resolution_hours``: mean hours from filing to resolution (resolved/closed tickets).
- 热点 ``hotspots``: cases with the most tickets filed in the period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from tickets.errors import InvalidInput
from tickets.models import Case, Person, Ticket, Unit
from tickets.statuses import DONE_STATUSES, Satisfaction, Status

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


@dataclass(frozen=True)
class Figures:
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

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_rate(self) -> float | None:
        return self._rate(self.responded_in_time, self.filed)

    @property
    def completion_rate(self) -> float | None:
        return self._rate(self.done, self.accepted)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.done_on_time, self.done)

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate(self.satisfied, self.rated)

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


def _seconds(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _bucket(dialect: str, column: Any, fmt: str, tz: ZoneInfo, now: datetime) -> ColumnElement[str]:
    if dialect == "postgresql":
        pg_fmt = {"day": "YYYY-MM-DD", "month": "YYYY-MM"}[fmt]
        return func.to_char(func.timezone(str(tz), column), pg_fmt)
    offset = now.astimezone(tz).utcoffset() or timedelta()
    modifier = f"{int(offset.total_seconds()) // 60:+d} minutes"
    return func.strftime({"day": "%Y-%m-%d", "month": "%Y-%m"}[fmt], column, modifier)


def compute(
    session: Session,
    *,
    period: Period,
    by: str = "total",
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
    tz: ZoneInfo,
    scope: ColumnElement[bool] | None = None,
) -> list[Figures]:
    """Figures for ``period`` grouped ``by`` one of DIMENSIONS (``scope``: an access filter)."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"不支持的统计维度：{by}")
    dialect = session.get_bind().dialect.name
    created, first, resolved = Ticket.created_at, Ticket.first_response_at, Ticket.resolved_at
    response_secs = _seconds(dialect, created, first)
    resolution_secs = _seconds(dialect, created, resolved)
    limit_secs = case(
        (Ticket.urgent, urgent_response_limit_hours * 3600), else_=response_limit_hours * 3600
    )
    done = Ticket.status.in_([s.value for s in DONE_STATUSES])
    reachable = Person.telegram_user_id.is_not(None)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    key: Any = {
        "total": literal("total"),
        "category": Ticket.category,
        "unit": Ticket.unit_id,
        "grid": Ticket.area_id,
        "day": _bucket(dialect, created, "day", tz, period.end),
        "month": _bucket(dialect, created, "month", tz, period.end),
    }[by]
    stmt = (
        select(
            key.label("key"),
            func.count(Ticket.id),
            count(Ticket.status != Status.REJECTED.value),
            count(first.is_not(None)),
            count(and_(first.is_not(None), response_secs <= limit_secs)),
            count(done),
            count(
                and_(
                    done,
                    resolved.is_not(None),
                    Ticket.due_at.is_not(None),
                    resolved <= Ticket.due_at,
                )
            ),
            count(Ticket.satisfaction.is_not(None)),
            count(
                Ticket.satisfaction.in_([s.value for s in Satisfaction if s.counts_as_satisfied])
            ),
            count(and_(done, reachable)),
            count(
                and_(
                    done,
                    reachable,
                    Ticket.accept_notified_at.is_not(None),
                    Ticket.result_notified_at.is_not(None),
                )
            ),
            func.coalesce(func.sum(case((first.is_not(None), response_secs), else_=0.0)), 0.0),
            func.coalesce(
                func.sum(case((and_(done, resolved.is_not(None)), resolution_secs), else_=0.0)), 0.0
            ),
        )
        .select_from(Ticket)
        .outerjoin(Person, Person.id == Ticket.reporter_id)
        .where(created >= period.start, created < period.end, Ticket.status != Status.MERGED.value)
        .group_by(key)
        .order_by(key)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    rows = session.execute(stmt).all()
    labels = _labels(session, by, [row[0] for row in rows])
    return [
        Figures(
            key=str(row[0]) if row[0] is not None else "",
            label=labels.get(row[0], "未识别" if row[0] is None else str(row[0])),
            filed=int(row[1]),
            accepted=int(row[2] or 0),
            responded=int(row[3] or 0),
            responded_in_time=int(row[4] or 0),
            done=int(row[5] or 0),
            done_on_time=int(row[6] or 0),
            rated=int(row[7] or 0),
            satisfied=int(row[8] or 0),
            reachable_done=int(row[9] or 0),
            told=int(row[10] or 0),
            response_seconds=float(row[11] or 0.0),
            resolution_seconds=float(row[12] or 0.0),
        )
        for row in rows
    ]


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


def hotspots(
    session: Session, *, period: Period, limit: int = 10, scope: ColumnElement[bool] | None = None
) -> list[Hotspot]:
    """Cases with the most tickets filed in ``period`` (ties: the most recent report first)."""
    reports = func.count(Ticket.id).label("reports")
    stmt = (
        select(Case.code, Case.category, Case.title, Case.area_id, reports, Case.last_report_at)
        .join(Ticket, Ticket.case_id == Case.id)
        .where(Ticket.created_at >= period.start, Ticket.created_at < period.end)
        .group_by(Case.id, Case.code, Case.category, Case.title, Case.area_id, Case.last_report_at)
        .order_by(reports.desc(), Case.last_report_at.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(scope)
    return [Hotspot(*row) for row in session.execute(stmt)]


def overdue_filter(now: datetime) -> ColumnElement[bool]:
    """Open tickets past their due time."""
    return and_(Ticket.due_at < now, or_(*[Ticket.status == s.value for s in Status if s.is_open]))
