"""督办台 (a unit's follow-up lists) and 工作群 (the units' Telegram work chats)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console.deps import Console, flash, get_console, redirect
from tickets import access
from tickets.errors import NotFound
from tickets.models import Person, Unit
from tickets.units import UnitTree
from tickets.usecases import follow, unitchats

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def unit_choices(tree: UnitTree, viewer: Person) -> list[tuple[Unit, int]]:
    """The units whose 督办台 a viewer may open: their unit and every unit below it, with depth."""
    top = tree.by_id.get(viewer.unit_id) if viewer.unit_id is not None else tree.root
    if top is None:
        return []
    found: list[tuple[Unit, int]] = []
    stack = [(top, 0)]
    while stack:
        unit, depth = stack.pop()
        found.append((unit, depth))
        children = sorted(tree.children.get(unit.id, []), key=lambda u: u.code, reverse=True)
        stack.extend((c, depth + 1) for c in children)
    return found


@router.get("/follow", response_class=HTMLResponse)
def follow_board(request: Request, console: ConsoleDep, unit: str = "") -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        choices = unit_choices(tree, viewer)
        allowed = {u.code: u for u, _ in choices}
        if not allowed:
            raise NotFound("您的帐号没有所属单位，无法查看督办台")
        chosen = allowed.get(unit.strip()[:40]) if unit else choices[0][0]
        if chosen is None:
            raise NotFound(f"没有找到单位 {unit[:40]}（或不在您的辖区）")
        found = follow.board(
            session,
            tree=tree,
            unit=chosen,
            now=console.now(),
            tz=console.settings.timezone,
            scope=access.visible_tickets(viewer, tree),
        )
        return console.render(
            request,
            "follow.html",
            {"board": found, "choices": choices, "chosen": chosen.code},
            viewer=viewer,
        )


@router.get("/workchats", response_class=HTMLResponse)
def work_chats(request: Request, console: ConsoleDep) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        chats = unitchats.listed(session, console.domain, viewer=viewer)
        return console.render(
            request,
            "workchats.html",
            {
                "chats": chats,
                "changes": unitchats.changes(session, console.domain, viewer=viewer),
                "change_words": unitchats.CHANGE_WORDS,
                "channel_words": unitchats.CHANNEL_WORDS,
            },
            viewer=viewer,
        )


@router.post("/workchats/{row}/remove")
def remove_work_chat(request: Request, console: ConsoleDep, row: int) -> RedirectResponse:
    """移除 a unit's work chat (audited in ``staff_actions``); the unit's cards then go to the chat of
    the unit above it."""
    with console.db.unit_of_work() as uow:
        viewer = console.viewer(request, uow.session)
        chats = {c.id: c for c in unitchats.listed(uow.session, console.domain, viewer=viewer)}
        if row not in chats:
            raise NotFound("没有找到该工作群")
        name = unitchats.remove(uow.session, console.domain, chat_row=row, actor=viewer)
        uow.commit()
    chat = chats[row]
    flash(request, "ok", f"已移除{name}的工作群「{chat.title or chat.chat_id}」")
    return redirect("/workchats")
