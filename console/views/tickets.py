"""工单: the filtered list, the detail page with its actions, cases, and the printable QR poster."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from console import filters, qr
from console import maps as console_maps
from console.deps import Console, flash, get_console, redirect
from tickets import access, commands, maps, messages, queries
from tickets.errors import InvalidInput, NotFound, TicketError
from tickets.models import Case, Person, Ticket
from tickets.statuses import HandlingMode, Satisfaction
from tickets.units import UnitTree
from tickets.usecases import follow, photos

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


@router.get("/")
def home() -> RedirectResponse:
    return redirect("/tickets")


def scope_units(tree: UnitTree, viewer: Person) -> list[Any]:
    """The areas a viewer may filter by: their unit and everything below it (not departments)."""
    top = tree.by_id.get(viewer.unit_id) if viewer.unit_id is not None else tree.root
    if top is None:
        return []
    found = []
    stack = [(top, 0)]
    while stack:
        unit, depth = stack.pop()
        if unit.level != "department":
            found.append((unit, depth))
        children = sorted(tree.children.get(unit.id, []), key=lambda u: u.code, reverse=True)
        stack.extend((c, depth + 1) for c in children)
    return found


def _check_units(f: queries.TicketFilter, tree: UnitTree) -> None:
    for code in (f.area, f.unit):
        if code and code not in tree.by_code:
            raise InvalidInput(f"没有编码为 {code[:40]} 的单位")


def _list_context(
    request: Request, console: Console, session: Session
) -> tuple[Person, UnitTree, queries.TicketFilter, str, dict[str, Any]]:
    viewer = console.viewer(request, session)
    tree = console.domain.units(session)
    f, tab = filters.parse(request.query_params, console.domain.taxonomy)
    _check_units(f, tree)
    params = filters.params_dict(request.query_params)
    context = {
        "f": f,
        "tab": tab,
        "params": params,
        "qs": lambda **changes: filters.query_string(params, **changes),
        "counts": None,
    }
    return viewer, tree, f, tab, context


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, console: ConsoleDep) -> HTMLResponse:
    """The filtered list. The counts beside each filter option arrive separately (/tickets/facets)."""
    with console.db.session() as session:
        viewer, tree, f, _, context = _list_context(request, console, session)
        scope = access.visible_tickets(viewer, tree)
        now, tz = console.now(), console.settings.timezone
        page = queries.list_tickets(session, f, scope=scope, tree=tree, now=now, tz=tz)
        return console.render(
            request,
            "tickets.html",
            {
                **context,
                "page": page,
                "areas": scope_units(tree, viewer),
                "all_units": sorted(tree.by_id.values(), key=lambda u: u.code),
                "now": now,
                "text_of": lambda t: t.text_for(viewer),
            },
            viewer=viewer,
        )


@router.get("/tickets/facets", response_class=HTMLResponse)
def ticket_facets(request: Request, console: ConsoleDep) -> HTMLResponse:
    """The filter sidebar with a count beside each option (cached briefly per person and filter)."""
    with console.db.session() as session:
        viewer, tree, f, _, context = _list_context(request, console, session)
        scope = access.visible_tickets(viewer, tree)
        counts = console.counts.get_or_compute(
            ("facets", viewer.id, f.without("page", "sort", "descending", "page_size")),
            lambda: queries.facet_counts(
                session,
                f,
                scope=scope,
                tree=tree,
                now=console.now(),
                tz=console.settings.timezone,
                categories=console.domain.taxonomy.codes,
            ),
        )
        return console.render(request, "_facets.html", {**context, "counts": counts}, viewer=viewer)


@router.get("/tickets/map", response_class=HTMLResponse)
def ticket_map(request: Request, console: ConsoleDep) -> HTMLResponse:
    """The filtered list as a map: pinned tickets where they are, the others at their unit's centre."""
    with console.db.session() as session:
        viewer, tree, f, _, context = _list_context(request, console, session)
        scope = access.visible_tickets(viewer, tree)
        found = maps.ticket_map(
            session, f, scope=scope, tree=tree, now=console.now(), tz=console.settings.timezone
        )
        areas = scope_units(tree, viewer)
        taxonomy = console.domain.taxonomy
        used = {p.category for p in found.pins} | {c for u in found.units for c, _ in u.categories}
        return console.render(
            request,
            "tickets_map.html",
            {
                **context,
                "found": found,
                "areas": areas,
                "all_units": sorted(tree.by_id.values(), key=lambda u: u.code),
                "map_data": console_maps.ticket_map_data(
                    found,
                    taxonomy=taxonomy,
                    settings=console.settings,
                    labels=console_maps.unit_labels(u for u, _ in areas),
                ),
                "legend": console_maps.legend(taxonomy, used),
                "limit": maps.MAP_LIMIT,
            },
            viewer=viewer,
        )


def visible_ticket(session: Session, code: str, viewer: Person, tree: UnitTree) -> Ticket:
    """The ticket ``code`` if ``viewer`` may see it; NotFound otherwise (existence is not revealed)."""
    if len(code) > 40:
        raise NotFound("没有找到该工单")
    ticket = queries.ticket_by_code(session, code)
    if ticket is None or not access.can_view(viewer, ticket, tree):
        raise NotFound(f"没有找到工单 {code[:40]}")
    return ticket


def highlight(text: str, locations: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """``text`` cut into (segment, is_location) pieces from the NLU's location spans."""
    spans: list[tuple[int, int]] = []
    for loc in locations:
        value = str(loc.get("text") or "")
        start, end = loc.get("start"), loc.get("end")
        if not value:
            continue
        if not (isinstance(start, int) and isinstance(end, int) and text[start:end] == value):
            start = text.find(value)
            end = start + len(value)
        if start >= 0 and not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    pieces: list[tuple[str, bool]] = []
    last = 0
    for start, end in sorted(spans):
        if start > last:
            pieces.append((text[last:start], False))
        pieces.append((text[start:end], True))
        last = end
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


@router.get("/tickets/{code}", response_class=HTMLResponse)
def ticket_detail(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        ticket = visible_ticket(session, code, viewer, tree)
        scope = access.visible_tickets(viewer, tree)
        siblings = (
            [
                t
                for t in queries.case_tickets(session, ticket.case, scope=scope)
                if t.id != ticket.id
            ]
            if ticket.case
            else []
        )
        can_act = access.can_act(viewer, ticket, tree)
        helps = not can_act and access.helping_unit(viewer, ticket, tree) is not None
        if can_act:
            actions = {c.value for c in commands.allowed(ticket)}
        elif helps:
            actions = {c.value for c in commands.allowed(ticket, helper_only=True)}
        else:
            actions = set()
        events = queries.events_of(session, ticket)
        helpers = [
            {
                "unit": h.unit.name,
                "code": h.unit.code,
                "added_at": h.added_at,
                "done_at": h.done_at,
                "note": h.note or "",
            }
            for h in ticket.helpers
        ]
        return console.render(
            request,
            "ticket.html",
            {
                "t": ticket,
                "pin": maps.pin_label(tree, ticket, console.settings.nearest_unit_km),
                "pieces": highlight(ticket.text_for(viewer), ticket.locations or []),
                "redacted_pieces": highlight(ticket.redacted_text, ticket.locations or []),
                "sees_pii": viewer.can_see_pii,
                "has_pii": ticket.original_text != ticket.redacted_text,
                "events": events,
                "notifications": queries.notifications_of(session, ticket),
                "siblings": siblings,
                "actions": actions,
                "helper_view": helps,
                "helpers": helpers,
                "due_items": follow.due_items(session, ticket),
                "dispatcher": tree.by_id.get(ticket.dispatcher_id)
                if ticket.dispatcher_id
                else None,
                "escalated_to": tree.by_id.get(ticket.escalated_to_id)
                if ticket.escalated_to_id
                else None,
                "redispatch": ticket.dispatcher_id is not None or ticket.sent_back_count > 0,
                "send_back_reasons": messages.SEND_BACK_REASONS,
                "satisfactions": list(Satisfaction),
                "helper_units": [
                    u
                    for u in sorted(tree.by_id.values(), key=lambda u: u.code)
                    if u.id != ticket.unit_id and all(h.unit_id != u.id for h in ticket.helpers)
                ],
                "all_units": sorted(tree.by_id.values(), key=lambda u: u.code),
                "unit_name": lambda c: tree.by_code[c].name if c in tree.by_code else c,
                "duplicate_of": session.get(Ticket, ticket.duplicate_of_id)
                if ticket.duplicate_of_id
                else None,
                "public_url": str(request.url_for("public_page", code=ticket.code))
                + "?k="
                + console.links.token(ticket.code),
                "now": console.now(),
                "modes": list(HandlingMode),
                "photos": photos.ticket_photos(session, ticket),
                "photos_pending": photos.pending_count(session, ticket),
                "can_publish": can_act,
            },
            viewer=viewer,
        )


def perform(
    console: Console,
    request: Request,
    code: str,
    action: str,
    args: commands.Args | list[commands.Args],
) -> Ticket:
    """Run the staff command ``action`` on ticket ``code`` as the signed-in person, in one
    transaction (``tickets.commands``: the same table the Telegram staff card uses); a list of
    arguments runs it once for each (协办 with several units), all or nothing."""
    try:
        command = commands.Command(action)
    except ValueError:
        raise NotFound("没有这个操作") from None
    with console.db.unit_of_work() as uow:
        viewer = console.viewer(request, uow.session)
        tree = console.domain.units(uow.session)
        ticket = visible_ticket(uow.session, code, viewer, tree)
        done = [
            commands.perform(
                uow.session,
                console.domain,
                ticket,
                command,
                viewer,
                one,
                find=lambda other: visible_ticket(uow.session, other, viewer, tree),
            )
            for one in (args if isinstance(args, list) else [args])
        ]
        uow.commit()
    console.counts.clear()
    flash(request, "ok", f"{ticket.code}：{'；'.join(done)}")
    return ticket


@router.post("/tickets/{code}/{action}")
def ticket_action(
    request: Request,
    console: ConsoleDep,
    code: str,
    action: str,
    note: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "",
    unit: Annotated[str, Form()] = "",
    into: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    tell_resident: Annotated[bool, Form()] = False,
    not_demand: Annotated[bool, Form()] = False,
    urgent: Annotated[bool, Form()] = False,
    back: Annotated[str, Form()] = "",
    reason_detail: Annotated[str, Form()] = "",
    units: Annotated[list[str] | None, Form()] = None,
    when: Annotated[str, Form()] = "",
    satisfaction: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
) -> RedirectResponse:
    # 退单: a listed reason, free text, or both.
    reason = "：".join(p for p in (reason.strip(), reason_detail.strip()) if p)
    args = commands.Args(
        note,
        reason,
        category,
        mode,
        unit,
        into,
        text,
        tell_resident,
        not_demand,
        urgent,
        when=when,
        satisfaction=satisfaction,
        place=place,
    )
    chosen = [u for u in dict.fromkeys(units or []) if u][:20]
    many: commands.Args | list[commands.Args] = (
        [replace(args, unit=u) for u in chosen] if action == "help" and chosen else args
    )
    target = back if back.startswith("/") and not back.startswith("//") else None
    try:
        ticket = perform(console, request, code, action, many)
    except NotFound:
        raise
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect(target or f"/tickets/{code.strip().upper()[:40]}")
    return redirect(target or f"/tickets/{ticket.code}")


@router.get("/tickets/{code}/poster", response_class=HTMLResponse)
def ticket_poster(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        ticket = visible_ticket(session, code, viewer, console.domain.units(session))
        url = (
            str(request.url_for("public_page", code=ticket.code))
            + "?k="
            + console.links.token(ticket.code)
        )
        return console.render(
            request,
            "poster.html",
            {
                "code": ticket.code,
                "title": console.category_name(ticket.category),
                "place": ticket.location_text or (ticket.area.name if ticket.area else ""),
                "url": url,
                "qr_svg": qr.svg(url),
                "kind": "工单",
            },
            viewer=viewer,
        )


def visible_case(session: Session, code: str, viewer: Person, tree: UnitTree) -> Case:
    case = queries.case_by_code(session, code) if len(code) <= 40 else None
    if case is None:
        raise NotFound(f"没有找到类案 {code[:40]}")
    scope = access.visible_tickets(viewer, tree)
    if not queries.case_tickets(session, case, scope=scope, limit=1):
        raise NotFound(f"没有找到类案 {code[:40]}")
    return case


@router.get("/cases/{code}", response_class=HTMLResponse)
def case_detail(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        case = visible_case(session, code, viewer, tree)
        scope = access.visible_tickets(viewer, tree)
        url = (
            str(request.url_for("public_page", code=case.code))
            + "?k="
            + console.links.token(case.code)
        )
        return console.render(
            request,
            "case.html",
            {
                "case": case,
                "tickets": queries.case_tickets(session, case, scope=scope, limit=200),
                "progress": queries.case_progress(session, case),
                "public_url": url,
                "text_of": lambda t: t.text_for(viewer),
                "now": console.now(),
            },
            viewer=viewer,
        )


@router.get("/cases/{code}/poster", response_class=HTMLResponse)
def case_poster(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        case = visible_case(session, code, viewer, console.domain.units(session))
        url = (
            str(request.url_for("public_page", code=case.code))
            + "?k="
            + console.links.token(case.code)
        )
        return console.render(
            request,
            "poster.html",
            {
                "code": case.code,
                "title": console.category_name(case.category),
                "place": case.area.name if case.area else "",
                "url": url,
                "qr_svg": qr.svg(url),
                "kind": "类案",
            },
            viewer=viewer,
        )
