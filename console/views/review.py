"""待复核: low-confidence tickets and group messages the NLU was unsure about, decided in one step.

Keyboard (console.js): j/k move between rows, y confirms, n says "not a demand", c opens the category
list of the row; 1–9 pick one of the NLU's top guesses directly.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console.deps import Console, flash, get_console, redirect
from console.views.tickets import visible_ticket
from tickets import access, queries, review, services
from tickets.errors import NotFound, TicketError
from tickets.queries import TicketFilter
from tickets.statuses import OPEN_STATUSES

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]
QUEUE_SIZE = 50


#: A long message (kept whole in its review item) is shown up to this many characters.
SHOWN_CHARS = 2_000


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}……（共 {len(text)} 字）"


def _split(decision: str, category: str) -> tuple[str, str]:
    """``category:<code>`` (one of the model's top guesses) → ("category", code)."""
    if decision.startswith("category:"):
        return "category", decision.split(":", 1)[1]
    return decision, category


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request, console: ConsoleDep) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        scope = access.visible_tickets(viewer, tree)
        f = TicketFilter(
            needs_review=True, statuses=tuple(sorted(OPEN_STATUSES)), page_size=QUEUE_SIZE
        )
        tickets = queries.list_tickets(
            session, f, scope=scope, tree=tree, now=console.now(), tz=console.settings.timezone
        )
        item_scope = queries.review_scope(viewer, tree)
        items = queries.pending_review_items(session, scope=item_scope, limit=QUEUE_SIZE)
        return console.render(
            request,
            "review.html",
            {
                "tickets": tickets,
                "items": items,
                "item_count": queries.count_pending_review_items(session, scope=item_scope),
                "text_of": lambda t: t.text_for(viewer),
                "item_text": lambda i: _shown(i.text if viewer.can_see_pii else i.redacted_text),
                "area_name": lambda uid: tree.by_id[uid].name if uid in tree.by_id else "未识别",
            },
            viewer=viewer,
        )


@router.post("/review/tickets/{code}")
def decide_ticket(
    request: Request,
    console: ConsoleDep,
    code: str,
    decision: Annotated[str, Form()],
    category: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """confirm | category (with ``category``) | category:<code> | not_demand."""
    decision, category = _split(decision, category)
    try:
        with console.db.unit_of_work() as uow:
            viewer = console.viewer(request, uow.session)
            tree = console.domain.units(uow.session)
            ticket = visible_ticket(uow.session, code, viewer, tree)
            common: dict[str, Any] = {
                "session": uow.session,
                "domain": console.domain,
                "ticket": ticket,
                "actor": viewer,
            }
            if decision == "confirm":
                services.confirm_classification(**common)
                message = f"已确认为「{console.category_name(ticket.category)}」"
            elif decision == "category":
                if category == ticket.category:
                    services.confirm_classification(**common)
                else:
                    services.reclassify(**common, category=category)
                message = f"已改为「{console.category_name(category)}」"
            elif decision == "not_demand":
                services.reject(**common, reason="经复核不是诉求", not_demand=True)
                message = "已标为“不是诉求”并不予受理"
            else:
                raise NotFound("没有这个操作")
            uow.commit()
    except NotFound:
        raise
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect("/review")
    console.counts.clear()
    flash(request, "ok", f"{ticket.code}：{message}")
    return redirect("/review")


@router.post("/review/items/{item_id}")
def decide_item(
    request: Request,
    console: ConsoleDep,
    item_id: int,
    decision: Annotated[str, Form()],
    category: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """confirm (file with the NLU's category) | category / category:<code> (file with it) | not_demand."""
    decision, category = _split(decision, category)
    try:
        with console.db.unit_of_work() as uow:
            viewer = console.viewer(request, uow.session)
            item = review.get_item(uow.session, console.domain, item_id, viewer)
            common: dict[str, Any] = {
                "session": uow.session,
                "domain": console.domain,
                "item": item,
            }
            if decision in ("confirm", "category"):
                ticket = review.file_item(
                    **common, actor=viewer, category=category if decision == "category" else None
                )
                message = f"已立案为工单 {ticket.code}（{console.category_name(ticket.category)}）"
            elif decision == "not_demand":
                review.dismiss_item(**common, actor=viewer)
                message = "已标为“不是诉求”"
            else:
                raise NotFound("没有这个操作")
            uow.commit()
    except NotFound:
        raise
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect("/review")
    console.counts.clear()
    flash(request, "ok", f"消息 #{item_id}：{message}")
    return redirect("/review")
