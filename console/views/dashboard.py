"""数据看板: the statistics of design.md over a chosen period, within the viewer's units."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement

from console import charts, texts
from console import maps as console_maps
from console.deps import Console, get_console
from console.views.tickets import scope_units
from tickets import access, maps, stats
from tickets.errors import InvalidInput
from tickets.usecases import projects

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


@dataclass(frozen=True)
class Board:
    period: stats.Period
    total: stats.Figures
    trend: list[tuple[date, int, int]]
    categories: list[stats.Figures]
    units: list[stats.Figures]
    hotspots: list[stats.Hotspot]
    follow: stats.FollowFigures
    follow_units: dict[str, stats.FollowFigures]
    spots: list[maps.Hotspot]


def _period_spec(period: str, start: str, end: str) -> str:
    if start or end:
        if not (start and end):
            raise InvalidInput("自定义时段需要同时填写开始和结束日期")
        return f"{start}..{end}"
    if period not in texts.PERIODS:
        raise InvalidInput(f"未知的时段：{period[:20]}")
    return period


def _summed(rows: list[stats.Figures]) -> stats.Figures:
    """The total of a breakdown (every count and duration in Figures adds up)."""
    names = [f.name for f in fields(stats.Figures) if f.name not in ("key", "label")]
    return stats.Figures("total", "合计", **{n: sum(getattr(r, n) for r in rows) for n in names})


def build_board(console: Console, scope: ColumnElement[bool], period: stats.Period) -> Board:
    """Every figure of the dashboard, in its own session (it may run in a background refresh).

    Past days come from the daily rollup, brought up to date before the session starts reading (on
    SQLite a read transaction does not see what is committed after its first read)."""
    tz, now = console.settings.timezone, console.now()
    hours = console.settings.response_limit_hours
    urgent_hours = console.settings.urgent_response_limit_hours
    limits: dict[str, Any] = {
        "tz": tz,
        "response_limit_hours": hours,
        "urgent_response_limit_hours": urgent_hours,
    }
    stats.prepare(console.db.engine, period=period, now=now, **limits)
    with console.db.session() as session:
        found = stats.breakdown(
            session,
            period=period,
            dims=("category", "unit"),
            trend=True,
            tz=tz,
            scope=scope,
            now=now,
            response_limit_hours=hours,
            urgent_response_limit_hours=urgent_hours,
        )
        categories, units = found.figures["category"], found.figures["unit"]
        return Board(
            period=period,
            total=_summed(categories),
            trend=found.trend,
            categories=sorted(categories, key=lambda r: -r.filed),
            units=sorted(
                units,
                key=lambda r: (-(r.completion_rate or 0), -(r.satisfaction_rate or 0), -r.filed),
            ),
            hotspots=stats.hotspots(session, period=period, limit=10, scope=scope),
            follow=stats.follow_figures(session, period=period, now=now, scope=scope, **limits)[0],
            follow_units={
                f.key: f
                for f in stats.follow_figures(
                    session, period=period, now=now, scope=scope, by="unit", **limits
                )
            },
            spots=maps.hotspots(
                session,
                scope=scope,
                tree=console.domain.units(session),
                start=period.start,
                end=period.end,
                near_km=console.settings.nearest_unit_km,
            ),
        )


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    console: ConsoleDep,
    period: str = "30d",
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    tz = console.settings.timezone
    spec = _period_spec(period, start.strip()[:10], end.strip()[:10])
    chosen = stats.parse_period(spec, tz, console.now())
    if (chosen.end - chosen.start).days > 366:
        raise InvalidInput("时段最长一年")
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        scope = access.visible_tickets(viewer, tree)
        scope_key = str(scope.compile(compile_kwargs={"literal_binds": True}))
        board = console.boards.get_or_compute(
            ("dashboard", scope_key, chosen.start, chosen.end),
            lambda: build_board(console, scope, chosen),
        )
        # 民微实事 as they stand now (not the period's): the projects the viewer may see.
        project_figures = stats.project_figures(
            session, scope=projects.visible_projects(viewer, tree)
        )
        trend_chart = charts.line_chart(
            [d.strftime("%m-%d") for d, _, _ in board.trend],
            [
                charts.Series("新增", [n for _, n, _ in board.trend], "s-new"),
                charts.Series("办结", [r for _, _, r in board.trend], "s-done"),
            ],
            title="每日新增与办结",
            width=1200,
            height=280,
        )
        category_chart = charts.bar_chart(
            [(console.category_name(r.key), r.filed) for r in board.categories],
            title="类别分布",
        )
        return console.render(
            request,
            "dashboard.html",
            {
                "board": board,
                "projects": project_figures,
                "period": period if not (start or end) else "",
                "start": start,
                "end": end,
                "trend_chart": trend_chart,
                "category_chart": category_chart,
                "area_name": lambda uid: tree.by_id[uid].name if uid in tree.by_id else "—",
                "map_data": console_maps.hotspot_data(
                    board.spots,
                    taxonomy=console.domain.taxonomy,
                    settings=console.settings,
                    labels=console_maps.unit_labels(u for u, _ in scope_units(tree, viewer)),
                ),
                "legend": console_maps.legend(
                    console.domain.taxonomy, {h.category for h in board.spots}
                ),
            },
            viewer=viewer,
        )
