"""公开栏 ``/p/board``: the published (公开办) tickets of the district or of one unit, and a community's
or street's three lists with its 民生微实事 projects, for anyone.

No sign-in and no session (like the public progress page): nothing personal is shown
(``tickets.usecases.publicboard``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.deps import Console, get_console
from tickets.errors import NotFound
from tickets.usecases import lists, publicboard

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def _render(request: Request, console: Console, unit_code: str | None) -> HTMLResponse:
    with console.db.session() as session:
        tree = console.domain.units(session)
        unit = None
        if unit_code is not None:
            unit = tree.by_code.get(unit_code.strip()[:40])
            if unit is None:
                raise NotFound("没有这个单位的公开栏")
        found = publicboard.board(session, tree=tree, unit=unit)
        # A community's or street's board also shows its three lists (with its 民生微实事 projects).
        three = (
            lists.lists_for(session, console.domain, unit.code, public=True)
            if unit is not None and unit.level not in ("grid", "department")
            else None
        )
        here = unit or tree.root
        below = tree.children.get(here.id, []) if here is not None else []
        areas = [u for u in below if u.level != "department"][:200]
        response = console.render(
            request,
            "board.html",
            {
                "board": found,
                "lists": three,
                "areas": sorted(areas, key=lambda u: u.code),
                "parent": tree.by_id.get(unit.parent_id) if unit and unit.parent_id else None,
            },
            public=True,
        )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/p/board", response_class=HTMLResponse, name="public_board")
def district_board(request: Request, console: ConsoleDep) -> HTMLResponse:
    return _render(request, console, None)


@router.get("/p/board/{unit}", response_class=HTMLResponse, name="unit_board")
def unit_board(request: Request, console: ConsoleDep, unit: str) -> HTMLResponse:
    return _render(request, console, unit)
