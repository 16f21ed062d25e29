"""成绩单: a unit's results for a month or a quarter (每月汇总、逐一销号).

A unit's population is everything at or below it in the unit tree: tickets located there or routed to a
unit there (the access scope of its staff), projects whose area or 领办 unit is there.

Demands (the definitions of ``tickets.stats``, over the tickets *filed* in the period, merged ones not
counted):

- 收集诉求 ``demands``: tickets filed.
- 办结率 ``completion_rate``: tickets now resolved or closed / tickets filed minus 不予受理.
- 按时办结率 ``on_time_rate``: of those resolved or closed, the share resolved by their due time.
- 满意率 ``satisfaction_rate``: (满意 + 基本满意) / rated tickets.

Projects (each counted by the moment of its own step, so a project approved in November and finished
in December counts as approved in November and finished in December):

- 提议项目 ``proposed``: projects created in the period.
- 立项项目 ``approved``: projects approved (立项) in the period.
- 完成项目 ``finished``: projects that passed acceptance (验收) in the period.
- 不立项 ``rejected``: projects rejected in the period (closed without approval).
- 落实资金 ``committed_fen``: the approved budgets of the projects approved in the period.
- 已支出资金 ``spent_fen``: money recorded in progress updates dated in the period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tickets import messages, stats
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import ChatBinding, Person, Project, ProjectUpdate, Ticket, Unit
from tickets.projectstatus import ProjectStatus
from tickets.units import UnitTree


def parse_period(spec: str, tz: ZoneInfo, now: datetime) -> stats.Period:
    """``2026-11`` (a month), ``2026-Q4`` (a quarter), ``month`` / ``quarter`` (the current ones),
    or anything ``tickets.stats.parse_period`` reads."""
    spec = spec.strip()
    local = now.astimezone(tz).date()
    if spec == "quarter":
        spec = f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", spec):
        year, quarter = int(m.group(1)), int(m.group(2))
        first = date(year, 3 * quarter - 2, 1)
        nxt = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)

        def at(day: date) -> datetime:
            return datetime.combine(day, time(), tz).astimezone(UTC)

        return stats.Period(at(first), at(nxt), f"{year}年第{quarter}季度")
    try:
        return stats.parse_period(spec, tz, now)
    except InvalidInput:
        raise InvalidInput(
            f"无法识别的时段：{spec[:20]}（可用 2026-11、2026-Q4、month、quarter）"
        ) from None


@dataclass(frozen=True)
class ReportCard(stats.TicketRates):
    unit_code: str
    unit_name: str
    period: stats.Period
    demands: int
    accepted: int
    done: int
    done_on_time: int
    rated: int
    satisfied: int
    proposed: int
    approved: int
    finished: int
    rejected: int
    committed_fen: int
    spent_fen: int

    def lines(self) -> list[tuple[str, str]]:
        """The figures as people read them, in order: (label, value) — the web page and the PDF."""
        pct, yuan = messages.pct, messages.yuan
        return [
            ("收集诉求", f"{self.demands} 件"),
            ("办结率", f"{pct(self.completion_rate)}（{self.done}/{self.accepted}）"),
            ("按时办结率", f"{pct(self.on_time_rate)}（{self.done_on_time}/{self.done}）"),
            ("满意率", f"{pct(self.satisfaction_rate)}（{self.satisfied}/{self.rated}）"),
            ("提议项目", f"{self.proposed} 个"),
            ("立项项目", f"{self.approved} 个"),
            ("完成项目", f"{self.finished} 个"),
            ("不立项", f"{self.rejected} 个"),
            ("落实资金", f"{yuan(self.committed_fen)} 元"),
            ("已支出资金", f"{yuan(self.spent_fen)} 元"),
        ]

    def as_json(self) -> dict[str, object]:
        return {
            "unit": self.unit_code,
            "unit_name": self.unit_name,
            "period": self.period.label,
            "demands": self.demands,
            "completion_rate": self.completion_rate,
            "on_time_rate": self.on_time_rate,
            "satisfaction_rate": self.satisfaction_rate,
            "projects_proposed": self.proposed,
            "projects_approved": self.approved,
            "projects_finished": self.finished,
            "projects_rejected": self.rejected,
            "money_committed": self.committed_fen / 100,
            "money_spent": self.spent_fen / 100,
        }


#: The definitions printed under the figures (web page and PDF), as the module docstring gives them.
DEFINITIONS: tuple[str, ...] = (
    "收集诉求：时段内新建的工单（被合并的不重复计）；单位包括其下属全部区域和部门。",
    "办结率：已办结或已关闭 /（收集诉求 - 不予受理）。按时办结率：在办理时限前办结 / 已办结。"
    "满意率：（满意 + 基本满意）/ 已评价。",
    "提议、立项、完成（验收）、不立项：按各自发生的时间计入时段；落实资金：时段内立项项目的立项预算"
    "之和；已支出资金：时段内记录的实施进展支出之和。",
)


def ticket_scope(tree: UnitTree, unit: Unit) -> ColumnElement[bool]:
    ids = tree.subtree_ids(unit)
    return or_(Ticket.unit_id.in_(ids), Ticket.area_id.in_(ids))


def project_scope(tree: UnitTree, unit: Unit) -> ColumnElement[bool]:
    ids = tree.subtree_ids(unit)
    return or_(Project.unit_id.in_(ids), Project.owner_unit_id.in_(ids))


def report_card(
    session: Session,
    *,
    tree: UnitTree,
    unit: Unit,
    period: stats.Period,
    tz: ZoneInfo,
    now: datetime,
    response_limit_hours: int = 24,
    urgent_response_limit_hours: int = 1,
) -> ReportCard:
    """The 成绩单 of ``unit`` for ``period`` (definitions in the module docstring)."""
    figures = stats.compute(
        session,
        period=period,
        tz=tz,
        scope=ticket_scope(tree, unit),
        now=now,
        response_limit_hours=response_limit_hours,
        urgent_response_limit_hours=urgent_response_limit_hours,
    )
    total = figures[0] if figures else stats.Figures("total", "合计")
    scope = project_scope(tree, unit)

    def count(column: InstrumentedAttribute[datetime | None], *extra: ColumnElement[bool]) -> int:
        """Projects in scope whose ``column`` (a moment of their lifecycle) falls in the period."""
        stmt = select(func.count(Project.id)).where(
            scope, column >= period.start, column < period.end, *extra
        )
        return int(session.scalar(stmt) or 0)

    committed = session.scalar(
        select(func.coalesce(func.sum(Project.approved_fen), 0)).where(
            scope, Project.approved_at >= period.start, Project.approved_at < period.end
        )
    )
    spent = session.scalar(
        select(func.coalesce(func.sum(ProjectUpdate.spent_fen), 0))
        .join(Project, Project.id == ProjectUpdate.project_id)
        .where(scope, ProjectUpdate.at >= period.start, ProjectUpdate.at < period.end)
    )
    return ReportCard(
        unit_code=unit.code,
        unit_name=unit.name,
        period=period,
        demands=total.filed,
        accepted=total.accepted,
        done=total.done,
        done_on_time=total.done_on_time,
        rated=total.rated,
        satisfied=total.satisfied,
        proposed=count(Project.created_at),
        approved=count(Project.approved_at),
        finished=count(Project.accepted_at),
        rejected=count(Project.closed_at, Project.status == ProjectStatus.REJECTED),
        committed_fen=int(committed or 0),
        spent_fen=int(spent or 0),
    )


def period_of(kind: str, at: datetime, tz: ZoneInfo) -> stats.Period:
    """The whole calendar month or quarter (``kind``: ``month`` / ``quarter``) that holds ``at``."""
    local = at.astimezone(tz).date()
    if kind == "month":
        return parse_period(f"{local.year}-{local.month:02d}", tz, at)
    return parse_period(f"{local.year}-Q{(local.month - 1) // 3 + 1}", tz, at)


def post_to_every_area(session: Session, domain: Domain, period: stats.Period) -> dict[str, int]:
    """The supervision clock's post at the end of a month or quarter: every community and street
    with a bound grid group gets its 成绩单 posted to its groups (once per unit, period and group);
    returns the groups queued per unit code."""
    tree = domain.units(session)
    areas: dict[str, Unit] = {}
    for grid_id in session.scalars(select(ChatBinding.grid_id).distinct()):
        for level in ("community", "street"):
            area = tree.area_at(tree.by_id.get(grid_id), level)
            if area is not None:
                areas[area.code] = area
    return {
        code: post_report_card(session, domain, None, of_unit(session, domain, areas[code], period))
        for code in sorted(areas)
    }


def of_unit(session: Session, domain: Domain, unit: Unit, period: stats.Period) -> ReportCard:
    """The 成绩单 of ``unit`` for ``period`` with the deployment's time zone and response limits."""
    settings = domain.settings
    return report_card(
        session,
        tree=domain.units(session),
        unit=unit,
        period=period,
        tz=settings.timezone,
        now=domain.clock(),
        response_limit_hours=settings.response_limit_hours,
        urgent_response_limit_hours=settings.urgent_response_limit_hours,
    )


def post_report_card(
    session: Session, domain: Domain, actor: Person | None, card: ReportCard
) -> int:
    """Post the short 成绩单 to the unit's bound grid groups (once per unit, period and group);
    ``actor`` None: the supervision clock posts it."""
    from tickets.usecases import lists

    text = messages.report_card_message(
        card.unit_name,
        card.period.label,
        demands=card.demands,
        completion_rate=card.completion_rate,
        on_time_rate=card.on_time_rate,
        satisfaction_rate=card.satisfaction_rate,
        proposed=card.proposed,
        approved=card.approved,
        finished=card.finished,
        committed_fen=card.committed_fen,
        spent_fen=card.spent_fen,
        link=lists.lists_url(domain, card.unit_code),
    )
    return lists.post_to_groups(
        session,
        domain,
        actor,
        unit_code=card.unit_code,
        text=text,
        kind="report_card",
        key=f"{card.unit_code}:{card.period.start.isoformat()}:{card.period.end.isoformat()}",
    )
