"""Staff actions from the staff group's ticket cards, the refreshed card, and /stats."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets import commands, messages, outbox, services, stats
from tickets.access import can_act, can_view, visible_tickets
from tickets.domain import Domain
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import OutboxItem, Ticket, Unit
from tickets.statuses import Role
from tickets.usecases.people import staff_for
from tickets.usecases.views import StaffResult, StatsView

MAX_UNIT_CHOICES = 12


def card_message(session: Session, ticket: Ticket) -> tuple[int | None, int | None]:
    """(chat id, message id) of the ticket's card in the staff group, once it was sent."""
    row = session.execute(
        select(OutboxItem.chat_id, OutboxItem.telegram_message_id)
        .where(
            OutboxItem.ticket_id == ticket.id,
            OutboxItem.kind.in_(("staff_card", "staff_card_urgent")),
            OutboxItem.telegram_message_id.is_not(None),
        )
        .order_by(OutboxItem.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def card_text(session: Session, domain: Domain, ticket: Ticket, footer: str = "") -> str:
    return services.staff_card_text(session, domain, ticket, footer)


def card_on_request(
    session: Session, domain: Domain, *, telegram_user_id: int | None, code: str
) -> tuple[str, str, dict[str, Any] | None]:
    """/card: the code, card text and buttons of a ticket the staff member may see (e.g. one listed
    in a backlog digest), to post in the chat they asked in; buttons only when they may act on it."""
    person = staff_for(session, telegram_user_id)
    ticket = services.get_ticket(session, code)
    tree = domain.units(session)
    if not can_view(person, ticket, tree):
        raise PermissionDenied(messages.NOT_IN_SCOPE)
    open_for_them = ticket.status.is_open and can_act(person, ticket, tree)
    markup = messages.staff_keyboard(ticket.code) if open_for_them else None
    return ticket.code, card_text(session, domain, ticket), markup


def refresh_card(
    session: Session,
    domain: Domain,
    ticket: Ticket,
    actor: str,
    label: str,
    chat_id: int | None = None,
    message_id: int | None = None,
    *,
    helper: bool = False,
) -> tuple[str, int | None, int | None]:
    """Queue the edit that shows the ticket's card as it is now, with who did what last (a 协办
    unit's card keeps its helper's buttons)."""
    session.flush()
    if message_id is None:
        chat_id, message_id = card_message(session, ticket)
    stamp = domain.clock().astimezone(domain.settings.timezone).strftime("%H:%M")
    text = card_text(session, domain, ticket, f"— {actor} {stamp} {label}")
    if chat_id is not None and message_id is not None:
        outbox.enqueue(
            session,
            chat_id=chat_id,
            text=text,
            kind="staff_card_edit",
            ticket=ticket,
            method="editMessageText",
            reply_markup=(
                None
                if not ticket.status.is_open
                else messages.helper_keyboard(ticket.code)
                if helper
                else messages.staff_keyboard(ticket.code)
            ),
            extra={"message_id": message_id},
            dedupe_key=f"card:{ticket.code}:{len(ticket.events)}:{message_id}",
        )
    return text, chat_id, message_id


def act(
    session: Session,
    domain: Domain,
    *,
    telegram_user_id: int | None,
    code: str,
    action: str,
    card_chat_id: int | None = None,
    card_message_id: int | None = None,
    unit_id: int | None = None,
    **params: Any,
) -> StaffResult:
    """Do the staff command ``action`` (``tickets.commands``) on ticket ``code`` as the staff member,
    and queue the refreshed card. ``unit_id`` is the unit a dispatch button chose; ``params`` are
    the command's other arguments (``commands.Args``)."""
    person = staff_for(session, telegram_user_id)
    try:
        command = commands.Command(action)
    except ValueError:
        raise InvalidInput("没有这个操作") from None
    if unit_id is not None:
        unit = domain.units(session).by_id.get(unit_id)
        if unit is None:
            raise InvalidInput("没有这个单位")
        params["unit"] = unit.code
    ticket = services.get_ticket(session, code)
    commands.perform(session, domain, ticket, command, person, commands.Args(**params))
    actor = person.display_name or person.username or "工作人员"
    helper = not can_act(person, ticket, domain.units(session))
    text, card_chat_id, card_message_id = refresh_card(
        session, domain, ticket, actor, command.label, card_chat_id, card_message_id, helper=helper
    )
    return StaffResult(
        code=ticket.code,
        card_text=text,
        card_chat_id=card_chat_id,
        card_message_id=card_message_id,
        action_label=command.label,
        actor_name=actor,
    )


def ensure_staff(session: Session, *, telegram_user_id: int | None) -> str:
    """Raise PermissionDenied unless the user is linked staff; returns their display name."""
    person = staff_for(session, telegram_user_id)
    return person.display_name or person.username or "工作人员"


def unit_choices(
    session: Session, domain: Domain, *, telegram_user_id: int | None, code: str
) -> list[tuple[int, str]]:
    """Units a ticket can be dispatched to: its routed unit, the areas above its place, and the
    departments attached to them (nearest first)."""
    staff_for(session, telegram_user_id)
    ticket = services.get_ticket(session, code)
    tree = domain.units(session)
    start = tree.by_id.get(ticket.area_id or 0) or tree.by_id.get(ticket.unit_id or 0) or tree.root
    seen: dict[int, Unit] = {}
    if ticket.unit_id and ticket.unit_id in tree.by_id:
        seen[ticket.unit_id] = tree.by_id[ticket.unit_id]
    for area in tree.ancestors(start) if start is not None else []:
        if area.level != "department":
            seen.setdefault(area.id, area)
        for child in tree.children.get(area.id, []):
            if child.level == "department":
                seen.setdefault(child.id, child)
    return [(u.id, u.name) for u in list(seen.values())[:MAX_UNIT_CHOICES]]


def stats_view(session: Session, domain: Domain, *, telegram_user_id: int | None) -> StatsView:
    """Today's and this month's figures and hotspots within what the staff member may see."""
    person = staff_for(session, telegram_user_id)
    tree = domain.units(session)
    scope = visible_tickets(person, tree)
    now = domain.clock()
    tz = domain.settings.timezone
    figures = []
    for spec in ("today", "month"):
        period = stats.parse_period(spec, tz, now)
        rows = stats.compute(
            session,
            period=period,
            tz=tz,
            scope=scope,
            response_limit_hours=domain.settings.response_limit_hours,
            urgent_response_limit_hours=domain.settings.urgent_response_limit_hours,
        )
        total = rows[0] if rows else stats.Figures(key="total", label=period.label)
        figures.append(replace(total, label=period.label))
    month = stats.parse_period("month", tz, now)
    spots = stats.hotspots(session, period=month, limit=5, scope=scope)
    unit = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    scope_name = unit.name if unit else ("全区" if person.role is Role.DISTRICT_ADMIN else "—")
    return StatsView(
        scope_name=scope_name,
        today=figures[0],
        month=figures[1],
        hotspots=[
            messages.hotspot(domain.taxonomy.name(s.category), s.title, s.reports) for s in spots
        ],
    )
