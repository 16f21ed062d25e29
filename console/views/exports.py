"""导出: the filtered list as CSV or Excel (redacted unless the role may see PII), and label feedback as
Rasa training data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from console import exports, filters
from console.deps import Console, get_console
from console.views.tickets import _check_units
from tickets import access, queries
from tickets.errors import PermissionDenied
from tickets.statuses import Role

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]
#: Most rows one export may hold (narrow the filters for more).
EXPORT_LIMIT = 100_000
XLSX_LIMIT = 50_000


def _filename(stem: str, suffix: str, when: datetime) -> str:
    name = f"{stem}-{when:%Y%m%d-%H%M}.{suffix}"
    return f"attachment; filename=\"minwei-{when:%Y%m%d}.{suffix}\"; filename*=UTF-8''{quote(name)}"


@router.get("/export", response_class=HTMLResponse)
def export_page(request: Request, console: ConsoleDep) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        return console.render(
            request,
            "export.html",
            {
                "qs": filters.query_string(filters.params_dict(request.query_params)),
                "may_export_training": viewer.role is Role.DISTRICT_ADMIN,
                "limit": EXPORT_LIMIT,
                "xlsx_limit": XLSX_LIMIT,
            },
            viewer=viewer,
        )


def _rows(console: Console, request: Request, limit: int) -> Iterator[list[str]]:
    """The rows of the filtered list, read in one session as the caller iterates."""
    f, _ = filters.parse(request.query_params, console.domain.taxonomy)
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        _check_units(f, tree)
        scope = access.visible_tickets(viewer, tree)
        found = queries.iter_tickets(
            session,
            filters.for_export(f),
            scope=scope,
            tree=tree,
            now=console.now(),
            tz=console.settings.timezone,
            limit=limit,
        )
        for t in found:
            yield exports.ticket_row(
                t,
                text=t.text_for(viewer),
                category_name=console.category_name,
                local_time=console.local_time,
            )


def _first_then_rest(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    """Start the iterator (so filter and sign-in errors surface before the response starts)."""
    first = next(rows, None)

    def rest() -> Iterator[list[str]]:
        if first is not None:
            yield first
        yield from rows

    return rest()


@router.get("/export/tickets.csv")
def export_csv(request: Request, console: ConsoleDep) -> StreamingResponse:
    rows = _first_then_rest(_rows(console, request, EXPORT_LIMIT))
    return StreamingResponse(
        exports.csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _filename("工单", "csv", console.local_now())},
    )


@router.get("/export/tickets.xlsx")
def export_xlsx(request: Request, console: ConsoleDep) -> Response:
    body = exports.xlsx_bytes(_rows(console, request, XLSX_LIMIT), title="工单")
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _filename("工单", "xlsx", console.local_now())},
    )


@router.get("/export/training.yml")
def export_training(request: Request, console: ConsoleDep, days: int = 0) -> Response:
    """Label feedback as Rasa nlu.yml (district administrators; ``days``: only the last N days)."""
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        if viewer.role is not Role.DISTRICT_ADMIN:
            raise PermissionDenied("只有区级管理员可以导出训练数据")
        since = console.now() - timedelta(days=days) if days > 0 else None
        body = exports.training_yaml(
            queries.label_feedback(session, since=since),
            exported_at=console.local_time(console.now()),
        )
    return Response(
        body,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": _filename("训练数据", "yml", console.local_now())},
    )
