"""试一试: paste a grid group's messages, or chat as a resident, through the bot's own logic.

Everything the page files is real (source ``web``): the tickets appear in the list, the review queue and
the statistics like any other. Pasted messages get the grid group's decision (``console.tryout``); the chat
runs the resident dialogue on the Rasa server and the action server as a web resident created for the
chat (``tickets.usecases.web``: one per chat, named after the console user; 新对话 starts another one).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.rasa import ServiceUnavailable
from console import tryout
from console.deps import ChatLine, Console, PasteResult, flash, get_console, redirect
from console.views.tickets import highlight
from tickets.errors import InvalidInput, NotFound, TicketError
from tickets.models import Unit
from tickets.usecases import people, web

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]
SESSION_KEY = "tryout"
NO_CLASSIFIER = "群消息分类器不可用：请先训练模型（make train）或启动 Rasa 服务器。"
NO_RASA = "对话服务暂不可用"
MAX_CHAT_LINES = 200


@dataclass(frozen=True)
class Chat:
    """The web resident of this browser session's chat."""

    person_id: int
    name: str


def _chat(request: Request, viewer_id: int) -> Chat | None:
    data = request.session.get(SESSION_KEY)
    if isinstance(data, dict) and data.get("uid") == viewer_id and isinstance(data.get("pid"), int):
        return Chat(data["pid"], str(data.get("name") or ""))
    return None


def _viewer_id(console: Console, request: Request) -> int:
    """The signed-in staff member's id (LoginRequired otherwise)."""
    with console.db.session() as session:
        return console.viewer(request, session).id


def _render(console: Console, request: Request) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        grids = web.grids_of(viewer, tree)
        last = console.pastes.get(viewer.id)
        grid = last.grid if last else None
        if grid is None and viewer.unit_id in {g.id for g in grids}:
            grid = tree.by_id[viewer.unit_id].code  # a grid member's own grid
        chat = _chat(request, viewer.id)
        chat_tickets = (
            web.chat_tickets(session, console.domain, person_id=chat.person_id, viewer_id=viewer.id)
            if chat
            else []
        )

        def grid_label(unit: Unit) -> str:
            community = tree.area_at(unit, "community")
            return f"{community.name} · {unit.name}" if community else unit.name

        outcomes = last.outcomes if last else ()
        counts = {d: sum(o.decision == d for o in outcomes) for d in ("filed", "review", "dropped")}
        context: dict[str, Any] = {
            "grids": [(g.code, grid_label(g)) for g in grids],
            "grid": grid,
            "pasted": last.text if last else "",
            "outcomes": outcomes,
            "counts": counts,
            "pieces": lambda o: highlight(o.message.text, list(o.locations)),
            "chat": chat,
            "lines": console.chats.get(chat.person_id) or () if chat else (),
            "chat_tickets": chat_tickets,
            "file_threshold": console.settings.group_file_threshold,
            "review_threshold": console.settings.group_review_threshold,
        }
        return console.render(request, "tryout.html", context, viewer=viewer)


@router.get("/tryout", response_class=HTMLResponse)
def tryout_page(request: Request, console: ConsoleDep) -> HTMLResponse:
    return _render(console, request)


@router.post("/tryout/paste")
async def paste(
    request: Request,
    console: ConsoleDep,
    grid: Annotated[str, Form(max_length=40)] = "",
    text: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Run each pasted message through the grid group's logic; the page then shows what became of it."""
    viewer_id = await run_in_threadpool(_viewer_id, console, request)
    result = PasteResult(grid, text[: tryout.MAX_PASTE_CHARS])
    try:
        if not grid:
            raise InvalidInput("请选择这些消息来自哪个网格")
        if console.group_classifier is None:
            raise ServiceUnavailable(NO_CLASSIFIER)
        outcomes = await tryout.paste_group_messages(
            text,
            grid_code=grid,
            actor_id=viewer_id,
            classifier=console.group_classifier,
            settings=console.settings,
            db=console.db,
            domain=console.domain,
        )
    except (TicketError, ServiceUnavailable) as e:
        flash(request, "error", str(e))
    else:
        result = PasteResult(grid, text, tuple(outcomes))
        console.counts.clear()
    console.pastes.put(viewer_id, result)
    return redirect("/tryout#paste")


def _ensure_chat(console: Console, request: Request) -> Chat:
    """This session's web resident: created on the first turn, or anew when the one remembered is
    gone (e.g. another database)."""
    with console.db.unit_of_work() as uow:
        viewer = console.viewer(request, uow.session)
        chat = _chat(request, viewer.id)
        if chat is not None:
            with contextlib.suppress(NotFound):
                people.web_resident(uow.session, chat.person_id)
                return chat
        person = web.create_web_resident(uow.session, creator_id=viewer.id)
        chat = Chat(person.id, person.display_name)
        uow.commit()
    request.session[SESSION_KEY] = {"uid": viewer.id, "pid": chat.person_id, "name": chat.name}
    return chat


@router.post("/tryout/chat")
async def chat_turn(
    request: Request,
    console: ConsoleDep,
    text: Annotated[str, Form(max_length=tryout.MAX_TURN_CHARS * 2)] = "",
    shown: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    """Send one turn of the resident's chat (typed, or a button's payload with its label ``shown``)."""
    chat = await run_in_threadpool(_ensure_chat, console, request)
    if console.rasa is None:
        flash(request, "error", NO_RASA)
        return redirect("/tryout#chat")
    try:
        replies = await tryout.resident_turn(
            text,
            rasa=console.rasa,
            person_id=chat.person_id,
            name=chat.name,
            action_server_port=console.settings.action_server_port,
        )
    except InvalidInput as e:
        flash(request, "error", str(e))
        return redirect("/tryout#chat")
    except ServiceUnavailable as e:
        flash(request, "error", f"{NO_RASA}：{e}")
        return redirect("/tryout#chat")
    said, answered = ChatLine(said=shown or text.strip()), ChatLine(replies=tuple(replies))
    console.chats.update(
        chat.person_id, lambda lines: (*(lines or ())[-MAX_CHAT_LINES:], said, answered)
    )
    if any(r.kind == "filed" for r in replies):
        console.counts.clear()
    return redirect("/tryout#chat")


@router.post("/tryout/chat/new")
def new_chat(request: Request, console: ConsoleDep) -> RedirectResponse:
    """Start over as another web resident (the tickets filed so far stay, of course)."""
    chat = _chat(request, _viewer_id(console, request))
    if chat is not None:
        console.chats.pop(chat.person_id)
    request.session.pop(SESSION_KEY, None)
    return redirect("/tryout#chat")
