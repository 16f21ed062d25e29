"""Ticket services: plain functions that take a session and the domain, change tickets and write events.

Every function validates first and changes nothing on error; every change appends a ``TicketEvent`` (the
audit log) and, where the resident should hear about it, an outbox message. Callers own the transaction
(``Database.unit_of_work()``) and commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from nlu.pii import redact
from nlu.place_text import merge_place
from tickets import clock, clustering, codes, maps, messages, outbox, photos, workchats
from tickets.access import ensure_can_act, ensure_can_help, helping_unit
from tickets.classification import Classification
from tickets.cleaning import clean, clean_text
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, UnknownCategory
from tickets.geo import Point
from tickets.models import (
    Case,
    LabelFeedback,
    OutboxItem,
    Person,
    Ticket,
    TicketEvent,
    TicketHelper,
    Unit,
)
from tickets.routing import route
from tickets.statuses import (
    Action,
    EventKind,
    HandlingMode,
    Satisfaction,
    Source,
    Status,
    next_status,
)
from tickets.timelimits import due_at
from tickets.units import UnitTree

#: Longest ticket text accepted (Telegram messages are ≤ 4,096; web and API texts may be longer).
MAX_TEXT_CHARS = 10_000
MAX_NOTE_CHARS = 2_000
#: Category confidence below which a filed ticket is flagged for review (待复核).
REVIEW_BELOW = 0.5
#: Most characters of a place a resident adds after filing.
MAX_PLACE_CHARS = 120
#: Resident additions shown on the staff card (the newest ones).
CARD_ADDITIONS = 3
STAFF_CARD_KINDS = ("staff_card", "staff_card_urgent")
#: The end of the dedupe key of a ticket's card as filed (cards of dispatch, 督办 and 协办 have others):
#: the cards a backlog digest may carry (``tickets.usecases.backlog``).
NEW_CARD_SUFFIX = ":staff_card"
#: Sent back this many times, a ticket is flagged for the level above (督办).
SEND_BACKS_FLAGGED = 2

Actor = Person | str


def _actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, Person):
        return {
            "actor_id": actor.id,
            "actor_label": actor.display_name or actor.username or f"#{actor.id}",
        }
    return {"actor_id": None, "actor_label": actor}


def _event(
    session: Session, domain: Domain, ticket: Ticket, actor: Actor, kind: EventKind, **data: Any
) -> TicketEvent:
    event = TicketEvent(
        ticket=ticket, at=domain.clock(), kind=kind, data=data, **_actor_fields(actor)
    )
    session.add(event)
    ticket.updated_at = event.at
    return event


#: An audit event of ``ticket`` recorded by another use case (approving a photo for the public …).
record_event = _event


def _clean_text(text: str, limit: int, what: str) -> str:
    return clean_text(text, limit=limit, what=what)


def _recipients(session: Session, ticket: Ticket) -> list[tuple[int, int | None]]:
    """(chat id, person id) of everyone to tell about ``ticket``: its reporter, the grid member who
    forwarded it, and the reporters of tickets merged into it."""
    tickets = [ticket, *session.scalars(select(Ticket).where(Ticket.duplicate_of_id == ticket.id))]
    seen: dict[int, int | None] = {}
    for t in tickets:
        for person in (t.reporter, t.forwarder):
            if person is not None and person.telegram_user_id is not None:
                seen.setdefault(person.telegram_user_id, person.id)
    return list(seen.items())


#: Who hears about a ticket (its reporter, forwarder, and the reporters of tickets merged into it).
recipients = _recipients


def _notify(
    session: Session, domain: Domain, ticket: Ticket, kind: str, event: TicketEvent, extra: str = ""
) -> None:
    """Queue the resident-facing message for ``kind`` to every recipient of ``ticket``."""
    category_name = domain.taxonomy.name(ticket.category)
    text = messages.status_update(
        ticket,
        kind,
        category_name,
        domain.settings.timezone,
        extra,
        link=domain.links.url(ticket.code),
    )
    markup = messages.rating_keyboard(ticket.code) if kind == "resolved" else None
    session.flush()
    for chat_id, person_id in _recipients(session, ticket):
        outbox.enqueue(
            session,
            chat_id=chat_id,
            text=text,
            kind=kind,
            ticket=ticket,
            person_id=person_id,
            reply_markup=markup,
            dedupe_key=f"{ticket.code}:{event.id}:{kind}:{chat_id}",
        )


def staff_card_text(session: Session, domain: Domain, ticket: Ticket, footer: str = "") -> str:
    """The ticket's staff card as it is now (with the resident's latest additions), plus ``footer``."""
    tree = domain.units(session)
    area = tree.by_id.get(ticket.area_id) if ticket.area_id else None
    unit = tree.by_id.get(ticket.unit_id) if ticket.unit_id else None
    additions = [
        str(e.data.get("text") or "")
        for e in ticket.events
        if e.kind == EventKind.RESIDENT_INFO and e.data.get("text")
    ][-CARD_ADDITIONS:]
    text = messages.staff_card(
        ticket,
        domain.taxonomy.name(ticket.category),
        domain.settings.timezone,
        area_name=area.name if area else None,
        unit_name=unit.name if unit else None,
        additions=additions,
        helpers=[
            (tree.by_id[h.unit_id].name, h.done_at is not None)
            for h in ticket.helpers
            if h.unit_id in tree.by_id
        ],
        pin=maps.pin_label(tree, ticket, domain.settings.nearest_unit_km),
    )
    return f"{text}\n{footer}" if footer else text


def refresh_staff_card(
    session: Session, domain: Domain, ticket: Ticket, *, key: str, notice: str | None = None
) -> None:
    """Show the ticket as it is now on its staff card: the card itself when it has not gone out yet,
    else an edit of the sent card (the sender fills in its message id, ``edit_of``); ``notice`` is also
    posted as a reply to the card (for urgent tickets, so the duty chat is alerted, not just edited)."""
    session.flush()
    card = session.scalar(
        select(OutboxItem)
        .where(OutboxItem.ticket_id == ticket.id, OutboxItem.kind.in_(STAFF_CARD_KINDS))
        .order_by(OutboxItem.id.desc())
        .limit(1)
    )
    if card is None:
        return
    text = staff_card_text(session, domain, ticket)
    # Only a card still waiting is rewritten in place (a sender may be claiming it right now); a
    # ticket marked urgent meanwhile moves its card ahead of the chat's ordinary backlog.
    priority = max(card.priority, outbox.default_priority(card.kind, card.chat_id, ticket))
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == card.id, OutboxItem.status == "pending")
        .values(payload={**card.payload, "text": text}, priority=priority)
        .execution_options(synchronize_session=False)
    )
    rewritten = cast(CursorResult[Any], result).rowcount
    if not rewritten:
        outbox.enqueue(
            session,
            chat_id=card.chat_id,
            text=text,
            kind="staff_card_edit",
            ticket=ticket,
            method="editMessageText",
            reply_markup=messages.staff_keyboard(ticket.code) if ticket.status.is_open else None,
            extra={"edit_of": card.id},
            dedupe_key=f"card:{ticket.code}:{key}",
        )
    if notice:
        outbox.enqueue(
            session,
            chat_id=card.chat_id,
            text=notice,
            kind="staff_notice",
            ticket=ticket,
            extra={"reply_to_of": card.id},
            dedupe_key=f"notice:{ticket.code}:{key}",
        )


def post_card(
    session: Session,
    domain: Domain,
    ticket: Ticket,
    unit: Unit | None,
    *,
    key: str,
    notice: str = "",
    helper: bool = False,
) -> workchats.WorkChat | None:
    """Post the ticket's card to the work chat of ``unit`` (or the nearest unit above with one, or the
    staff chat): its buttons act on the ticket, ``helper`` cards have a helper's buttons only."""
    tree = domain.units(session)
    chat = workchats.chat_for(session, tree, unit, domain.settings.staff_chat_id)
    if chat is None:
        return None
    text = staff_card_text(session, domain, ticket)
    outbox.enqueue(
        session,
        chat_id=chat.chat_id,
        text=f"{notice}\n{text}" if notice else text,
        kind="helper_card" if helper else ("staff_card_urgent" if ticket.urgent else "staff_card"),
        ticket=ticket,
        reply_markup=(
            messages.helper_keyboard(ticket.code)
            if helper
            else messages.staff_keyboard(ticket.code)
        ),
        dedupe_key=f"{ticket.code}:{key}",
    )
    return chat


def _post_staff_card(
    session: Session, domain: Domain, ticket: Ticket, area: Unit | None, unit: Unit | None
) -> None:
    """The card of a ticket just filed, to the routed unit's chat (or the nearest above, or the staff
    chat)."""
    tree = domain.units(session)
    with session.no_autoflush:  # reads work chats only: the new ticket is flushed once, after
        chat = workchats.chat_for(session, tree, unit or area, domain.settings.staff_chat_id)
    if chat is None:
        return
    text = messages.staff_card(
        ticket,
        domain.taxonomy.name(ticket.category),
        domain.settings.timezone,
        area_name=area.name if area else None,
        unit_name=unit.name if unit else None,
        pin=maps.pin_label(tree, ticket, domain.settings.nearest_unit_km),
    )
    outbox.enqueue(
        session,
        chat_id=chat.chat_id,
        text=text,
        kind="staff_card_urgent" if ticket.urgent else "staff_card",
        ticket=ticket,
        reply_markup=messages.staff_keyboard(ticket.code),
        dedupe_key=f"{ticket.code}{NEW_CARD_SUFFIX}",
        now=ticket.created_at,
        check_duplicate=False,
    )


def get_ticket(session: Session, code: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.code == code.strip().upper()))
    if ticket is None:
        raise NotFound(f"没有找到工单 {code}")
    return ticket


def file_ticket(
    *,
    session: Session,
    domain: Domain,
    text: str,
    source: Source,
    classification: Classification,
    reporter: Person | None = None,
    forwarder: Person | None = None,
    origin_label: str | None = None,
    chat_id: int | None = None,
    message_id: int | None = None,
    area: Unit | None = None,
    contact_allowed: bool | None = None,
    attachments: list[str] | None = None,
    actor: Actor = "system",
    truncate: bool = False,
    point: Point | None = None,
) -> Ticket:
    """File a ticket from a classified message; idempotent for the same (chat, message).

    ``point``: where the ticket is on the map (a pin, Open311's lat/long; else a location span's
    ``latitude``/``longitude``). Redacts PII, finds the area (given, or from the locations via the
    gazetteer, or the unit nearest the point when they name no known place), routes it, sets the
    handling mode (立即办 when urgent) and due time, clusters it into a case, writes the ``filed`` event and
    posts the staff card. A text over ``MAX_TEXT_CHARS`` is refused, or with ``truncate`` cut and marked
    (the caller keeps the whole text, e.g. in the review item it files from).
    """
    text = clean(text, limit=MAX_TEXT_CHARS, what="诉求内容", truncate=truncate).text
    if chat_id is not None and message_id is not None:
        existing = session.scalar(
            select(Ticket).where(Ticket.chat_id == chat_id, Ticket.message_id == message_id)
        )
        if existing is not None:
            return existing
    category = domain.taxonomy.get(classification.category or "other")
    now = domain.clock()
    tree = domain.units(session)
    locations = [
        loc for loc in classification.locations if isinstance(loc, dict) and loc.get("text")
    ]
    point = point or _pinned(locations)
    area_unit = area or tree.locate([loc["text"] for loc in locations])
    near = _near(domain, tree, point) if area_unit is None and point is not None else None
    area_unit = area_unit or (near[0] if near else None)
    mode = HandlingMode.IMMEDIATE if classification.urgent else category.handling_mode
    unit = route(tree, category, area_unit)
    redacted = redact(text)
    cluster_area = clustering.cluster_area(tree, area_unit.id if area_unit else None)
    case, score = clustering.find_case(
        session,
        category=category.code,
        area_id=cluster_area,
        text=redacted,
        now=now,
        window_days=domain.settings.cluster_window_days,
        threshold=domain.settings.cluster_threshold,
    )
    tz = domain.settings.timezone
    # The ticket's number before the case's: every transaction takes the day's two counter rows in
    # the same order (ticket, then case), so two workers filing batches cannot deadlock on them.
    ticket_code = codes.next_code(session, "ticket", now, tz)
    joined = case is not None
    if case is None:
        case = Case(
            code=codes.next_code(session, "case", now, tz),
            category=category.code,
            area_id=cluster_area,
            title=redacted[:80],
            created_at=now,
            report_count=1,
            last_report_at=now,
            is_open=True,
        )
        session.add(case)
        score = 1.0
    ticket = Ticket(
        code=ticket_code,
        source=source,
        status=Status.NEW,
        reporter_id=reporter.id if reporter else None,
        forwarder_id=forwarder.id if forwarder else None,
        origin_label=origin_label,
        chat_id=chat_id,
        message_id=message_id,
        original_text=text,
        redacted_text=redacted,
        demand_confidence=classification.demand_confidence,
        category=category.code,
        category_confidence=classification.category_confidence,
        ranking=[list(r) for r in classification.ranking[:5]],
        urgent=classification.urgent,
        handling_mode=mode,
        locations=locations,
        location_text="、".join(dict.fromkeys(loc["text"] for loc in locations))[:255],
        area_id=area_unit.id if area_unit else None,
        unit_id=unit.id if unit else None,
        case=case,
        classifier_version=classification.classifier_version,
        needs_review=classification.category_confidence < REVIEW_BELOW,
        contact_allowed=contact_allowed,
        attachments=list(attachments or []),
        latitude=point.latitude if point else None,
        longitude=point.longitude if point else None,
        created_at=now,
        updated_at=now,
        due_at=due_at(now, mode, category, domain.taxonomy, domain.calendar, tz),
        clock_rules=domain.rules.digest,  # planned below: no second write of the row to say so
    )
    session.add(ticket)
    if joined and not codes.count_report_at_end(session, ticket, case, now):
        # an atomic increment: concurrent filers must not overwrite each other's count
        case.report_count = Case.report_count + 1
        case.last_report_at = now
        case.is_open = True
    _event(
        session,
        domain,
        ticket,
        actor,
        EventKind.FILED,
        source=source.value,
        category=category.code,
        urgent=ticket.urgent,
        confidence=classification.category_confidence,
        case=case.code,
        similarity=round(score, 3),
        unit=unit.code if unit else None,
        area=area_unit.code if area_unit else None,
        **({"near_km": round(near[1], 2)} if near else {}),
    )
    _post_staff_card(session, domain, ticket, area_unit, unit)
    session.flush()
    for attachment in ticket.attachments:
        _record_photo(session, ticket, attachment, reporter, now)
    clock.reschedule(session, domain, ticket, new=True)
    return ticket


def _pinned(locations: list[dict[str, Any]]) -> Point | None:
    """The first location span that carries coordinates (a pin the dialogue gave as the place)."""
    for loc in locations:
        if loc.get("latitude") is not None and loc.get("longitude") is not None:
            try:
                return Point.parse(loc["latitude"], loc["longitude"])
            except InvalidInput:
                return None
    return None


def _near(domain: Domain, tree: UnitTree, point: Point) -> tuple[Unit, float] | None:
    """The unit nearest a pin within the configured distance, with its distance in km."""
    return tree.nearest(point, domain.settings.nearest_unit_km)


def _record_photo(
    session: Session, ticket: Ticket, file_id: str, sender: Person | None, now: datetime
) -> None:
    photos.record_telegram(
        session,
        ticket=ticket,
        file_id=file_id,
        sent_by_id=sender.id if sender else None,
        chat_id=sender.telegram_user_id if sender else None,
        now=now,
    )


def attach_photo(
    session: Session, domain: Domain, ticket: Ticket, file_id: str, sender: Person
) -> None:
    """A photo the resident sent to their ticket after filing: kept on the ticket and recorded for
    fetching (``tickets.photos``)."""
    ticket.attachments = [*ticket.attachments, file_id]
    _record_photo(session, ticket, file_id, sender, domain.clock())


def _transition(
    session: Session, domain: Domain, ticket: Ticket, action: Action, actor: Actor, **data: Any
) -> TicketEvent:
    ensure_can_act(actor, ticket, domain.units(session))
    new = next_status(ticket.code, ticket.status, action)
    old = ticket.status
    ticket.status = new
    event = _event(
        session,
        domain,
        ticket,
        actor,
        EventKind(action.value),
        **{"from": old.value, "to": new.value, **data},
    )
    if ticket.first_response_at is None:  # 首次响应: the first status change made on the ticket
        ticket.first_response_at = event.at
    return event


def accept(*, session: Session, domain: Domain, ticket: Ticket, actor: Actor) -> Ticket:
    """受理: take the ticket on and tell the resident."""
    event = _transition(session, domain, ticket, Action.ACCEPT, actor)
    clock.reschedule(session, domain, ticket)
    _notify(session, domain, ticket, "accepted", event)
    return ticket


def assign(*, session: Session, domain: Domain, ticket: Ticket, unit: Unit, actor: Actor) -> Ticket:
    """派单 (or 改派 when it was dispatched before): give the ticket to ``unit`` (accepting it too when
    it was new); the unit's work chat gets the card. The dispatcher is the actor's unit: a 退单 returns
    the ticket there."""
    tree = domain.units(session)
    was_new = ticket.status is Status.NEW
    redispatch = ticket.dispatcher_id is not None or ticket.sent_back_count > 0
    event = _transition(
        session,
        domain,
        ticket,
        Action.ASSIGN,
        actor,
        unit=unit.code,
        unit_name=unit.name,
        redispatch=redispatch,
    )
    ticket.unit_id = unit.id
    dispatcher = _dispatcher(tree, actor, unit)
    ticket.dispatcher_id = dispatcher.id if dispatcher is not None else None
    ticket.sent_back_at = None
    clock.reschedule(session, domain, ticket)
    session.flush()
    session.refresh(ticket, ["unit"])
    label = "改派" if redispatch else "派单"
    post_card(session, domain, ticket, unit, key=f"e{event.id}", notice=f"📌 {label}至{unit.name}")
    _notify(session, domain, ticket, "accepted" if was_new else "assigned", event)
    if was_new:
        _notify(session, domain, ticket, "assigned", event)
    return ticket


def _dispatcher(tree: UnitTree, actor: Actor, unit: Unit) -> Unit | None:
    """The unit a dispatch to ``unit`` comes from: the actor's unit, or for someone without one (an
    admin, the system) or dispatching to their own unit, the unit above ``unit``."""
    own = tree.by_id.get(actor.unit_id) if isinstance(actor, Person) and actor.unit_id else None
    if own is not None and own.id != unit.id:
        return own
    return workchats.above(tree, unit)


def send_back(
    *, session: Session, domain: Domain, ticket: Ticket, reason: str, actor: Actor
) -> Ticket:
    """退单: the unit the ticket was routed or dispatched to returns it, with a reason, to the unit that
    dispatched it (for a routed ticket, the unit above); the card goes to that unit's chat. Sent back
    ``SEND_BACKS_FLAGGED`` times, the ticket is flagged for the level above (督办)."""
    reason = _clean_text(reason, MAX_NOTE_CHARS, "退单原因")
    tree = domain.units(session)
    unit = tree.by_id.get(ticket.unit_id) if ticket.unit_id else None
    back_to = tree.by_id.get(ticket.dispatcher_id) if ticket.dispatcher_id else None
    if back_to is None or unit is None or back_to.id == unit.id:
        back_to = workchats.above(tree, unit)
    if back_to is None or unit is None or back_to.id == unit.id:
        raise InvalidInput(f"工单 {ticket.code} 已在最上级单位，无法退单，请改派或不予受理")
    event = _transition(
        session,
        domain,
        ticket,
        Action.SEND_BACK,
        actor,
        reason=reason,
        unit=unit.code,
        to=back_to.code,
        count=ticket.sent_back_count + 1,
    )
    ticket.unit_id = back_to.id
    ticket.sent_back_count += 1
    ticket.sent_back_at = event.at
    clock.reschedule(session, domain, ticket)
    session.flush()
    session.refresh(ticket, ["unit"])
    post_card(
        session,
        domain,
        ticket,
        back_to,
        key=f"e{event.id}",
        notice=messages.sent_back_notice(ticket, unit.name, reason),
    )
    if ticket.sent_back_count >= SEND_BACKS_FLAGGED:
        escalate(
            session=session,
            domain=domain,
            ticket=ticket,
            level=max(1, ticket.escalation_level),
            to=workchats.above(tree, back_to),
            reason="sent_back",
        )
    return ticket


def escalate(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    level: int,
    to: Unit | None,
    reason: str,
    actor: Actor = "督办",
) -> workchats.WorkChat | None:
    """督办: flag the ticket for ``to`` (a unit above the one handling it) and post the card there with
    the reason (overdue, urgent_not_accepted, sent_back); returns where it went."""
    ticket.escalation_level = max(ticket.escalation_level, level)
    ticket.escalated_to_id = to.id if to is not None else None
    event = _event(
        session,
        domain,
        ticket,
        actor,
        EventKind.ESCALATED,
        level=level,
        to=to.code if to is not None else None,
        reason=reason,
    )
    ticket.escalated_at = event.at
    session.flush()
    tree = domain.units(session)
    unit = tree.by_id.get(ticket.unit_id) if ticket.unit_id else None
    notice = messages.escalation_notice(
        ticket, reason, level, unit.name if unit else "—", domain.clock(), domain.settings.timezone
    )
    return post_card(session, domain, ticket, to, key=f"e{event.id}", notice=notice)


def add_helper(
    *, session: Session, domain: Domain, ticket: Ticket, unit: Unit, actor: Actor
) -> TicketHelper:
    """协办: ``unit`` helps the responsible (lead) unit; its staff see the ticket, can add notes and
    mark their part done, and its work chat gets a helper's card. The lead alone resolves it."""
    ensure_can_act(actor, ticket, domain.units(session))
    if not ticket.status.is_open:
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，不能增加协办单位")
    if unit.id == ticket.unit_id:
        raise InvalidInput(f"{unit.name}已是承办单位")
    if any(h.unit_id == unit.id for h in ticket.helpers):
        raise InvalidInput(f"{unit.name}已是协办单位")
    helper = TicketHelper(
        ticket=ticket,
        unit_id=unit.id,
        added_by_id=actor.id if isinstance(actor, Person) else None,
        added_at=domain.clock(),
    )
    session.add(helper)
    event = _event(
        session, domain, ticket, actor, EventKind.HELPER_ADDED, unit=unit.code, unit_name=unit.name
    )
    session.flush()
    post_card(
        session,
        domain,
        ticket,
        unit,
        key=f"e{event.id}",
        notice=f"🤝 请{unit.name}协办",
        helper=True,
    )
    return helper


def helper_done(
    *, session: Session, domain: Domain, ticket: Ticket, note: str, actor: Person
) -> TicketHelper:
    """A helper unit's staff mark their part of the ticket done, with what they did."""
    note = _clean_text(note, MAX_NOTE_CHARS, "协办情况") if note.strip() else ""
    unit_id = helping_unit(actor, ticket, domain.units(session))
    helper = next((h for h in ticket.helpers if h.unit_id == unit_id), None)
    if helper is None:
        raise InvalidInput(f"您所在单位不是工单 {ticket.code} 的协办单位")
    if helper.done_at is not None:
        raise InvalidInput("本单位的协办部分已标记完成")
    helper.done_at = domain.clock()
    helper.done_by_id = actor.id
    helper.note = note or None
    event = _event(
        session, domain, ticket, actor, EventKind.HELPER_DONE, unit=helper.unit_id, note=note
    )
    session.flush()
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}")
    return helper


def set_visit(
    *, session: Session, domain: Domain, ticket: Ticket, at: datetime, actor: Actor
) -> Ticket:
    """上门办: staff set the visit time; the resident is told, the unit is reminded before it."""
    ensure_can_act(actor, ticket, domain.units(session))
    if not ticket.status.is_open:
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，不能预约上门")
    if at.tzinfo is None:
        raise InvalidInput("上门时间需要带时区")
    now = domain.clock()
    if at <= now:
        raise InvalidInput("上门时间需要晚于现在")
    if at > now + timedelta(days=90):
        raise InvalidInput("上门时间最多约在 90 天内")
    ticket.visit_at = at
    event = _event(session, domain, ticket, actor, EventKind.VISIT_SET, at=at.isoformat())
    clock.reschedule(session, domain, ticket)
    _notify(
        session,
        domain,
        ticket,
        "visit",
        event,
        extra=messages.when(at, domain.settings.timezone),
    )
    return ticket


def start(*, session: Session, domain: Domain, ticket: Ticket, actor: Actor) -> Ticket:
    """处理中: work has started on site."""
    event = _transition(session, domain, ticket, Action.START, actor)
    clock.reschedule(session, domain, ticket)
    _notify(session, domain, ticket, "in_progress", event)
    return ticket


def resolve(*, session: Session, domain: Domain, ticket: Ticket, note: str, actor: Actor) -> Ticket:
    """办结 with a note for the resident, who is then asked to rate the result."""
    note = _clean_text(note, MAX_NOTE_CHARS, "办结说明")
    event = _transition(session, domain, ticket, Action.RESOLVE, actor, note=note)
    ticket.resolved_at = event.at
    ticket.resolution_note = note
    ticket.callback_at = None
    clock.reschedule(session, domain, ticket)
    _notify(session, domain, ticket, "resolved", event)
    return ticket


def close(
    *, session: Session, domain: Domain, ticket: Ticket, actor: Actor, reason: str = ""
) -> Ticket:
    """关闭 a resolved ticket (after a satisfied rating, or as 未评价 when the 回访 period has passed)."""
    data = {"reason": reason} if reason else {}
    event = _transition(session, domain, ticket, Action.CLOSE, actor, **data)
    ticket.closed_at = event.at
    clock.reschedule(session, domain, ticket)
    return ticket


def reopen(
    *, session: Session, domain: Domain, ticket: Ticket, reason: str, actor: Actor
) -> Ticket:
    """重新打开 a resolved, closed or rejected ticket; it goes back to work (counts as accepted)."""
    reason = _clean_text(reason, MAX_NOTE_CHARS, "重新打开原因")
    event = _transition(session, domain, ticket, Action.REOPEN, actor, reason=reason)
    ticket.resolved_at = None
    ticket.closed_at = None
    clock.reschedule(session, domain, ticket)
    _notify(session, domain, ticket, "reopened", event)
    return ticket


def reject(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    reason: str,
    actor: Actor,
    not_demand: bool = False,
) -> Ticket:
    """不予受理 with a reason; ``not_demand`` also records label feedback (the NLU was wrong)."""
    reason = _clean_text(reason, MAX_NOTE_CHARS, "不受理原因")
    event = _transition(
        session, domain, ticket, Action.REJECT, actor, reason=reason, not_demand=not_demand
    )
    clock.reschedule(session, domain, ticket)
    if not_demand:
        _feedback(
            session, domain, ticket, actor, {"is_demand": False, "category": None, "urgent": False}
        )
    _notify(session, domain, ticket, "rejected", event, extra=reason)
    return ticket


def merge(
    *, session: Session, domain: Domain, ticket: Ticket, into: Ticket, actor: Actor
) -> Ticket:
    """合并 ``ticket`` into ``into``: its reporter then hears about every change of ``into``."""
    if into.id == ticket.id:
        raise InvalidInput("不能把工单合并到自己")
    if into.duplicate_of_id is not None or into.status is Status.MERGED:
        raise InvalidInput(f"工单 {into.code} 已合并到其他工单，请合并到主工单")
    ensure_can_act(actor, into, domain.units(session))
    event = _transition(session, domain, ticket, Action.MERGE, actor, into=into.code)
    ticket.duplicate_of_id = into.id
    clock.reschedule(session, domain, ticket)
    for child in session.scalars(select(Ticket).where(Ticket.duplicate_of_id == ticket.id)):
        child.duplicate_of_id = into.id
    _event(session, domain, into, actor, EventKind.MERGED_IN, merged=ticket.code)
    _notify(session, domain, ticket, "merged", event, extra=into.code)
    return ticket


def reclassify(
    *, session: Session, domain: Domain, ticket: Ticket, category: str, actor: Actor
) -> Ticket:
    """改类别: change the category, re-route when nobody has been assigned yet, record label feedback."""
    if category not in domain.taxonomy:
        raise UnknownCategory(f"未知类别：{category}")
    ensure_can_act(actor, ticket, domain.units(session))
    if ticket.status in (Status.MERGED, Status.CLOSED):
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，不能改类别")
    old = ticket.category
    if old == category:
        return ticket
    ticket.category = category
    data: dict[str, Any] = {"from": old, "to": category}
    if ticket.status in (Status.NEW, Status.ACCEPTED):
        tree = domain.units(session)
        area = tree.by_id.get(ticket.area_id) if ticket.area_id else None
        unit = route(tree, domain.taxonomy.get(category), area)
        ticket.unit_id = unit.id if unit else None
        data["unit"] = unit.code if unit else None
    ticket.needs_review = False  # a person has decided the category
    _event(session, domain, ticket, actor, EventKind.RECLASSIFIED, **data)
    _feedback(
        session,
        domain,
        ticket,
        actor,
        {"is_demand": True, "category": category, "urgent": ticket.urgent},
    )
    return ticket


def correct_place(
    *, session: Session, domain: Domain, ticket: Ticket, place: str, actor: Actor
) -> Ticket:
    """改地点: staff give the ticket's right place; the area and, while nobody has been assigned,
    the responsible unit follow it, the staff card is edited, and the correction is label feedback
    (a place named in the message becomes a place span the NLU learns from)."""
    ensure_can_act(actor, ticket, domain.units(session))
    if ticket.status in (Status.MERGED, Status.CLOSED):
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，不能改地点")
    place = _clean_text(place, MAX_PLACE_CHARS, "地点")
    old = ticket.location_text or ""
    if place == old:
        return ticket
    start = ticket.original_text.find(place)
    location: dict[str, Any] = {
        "text": place,
        "start": start,
        "end": start + len(place) if start >= 0 else -1,
        "source": "staff",
    }
    for loc in ticket.locations or []:  # a pin the resident sent stays with the ticket
        if "latitude" in loc and "longitude" in loc:
            location["latitude"], location["longitude"] = loc["latitude"], loc["longitude"]
    ticket.locations = [location]
    ticket.location_text = place[:255]
    tree = domain.units(session)
    area = tree.locate([place])
    ticket.area_id = area.id if area else ticket.area_id
    data: dict[str, Any] = {"from": old, "to": place, "area": area.code if area else None}
    if ticket.status in (Status.NEW, Status.ACCEPTED):
        unit = route(tree, domain.taxonomy.get(ticket.category), area or _area(tree, ticket))
        ticket.unit_id = unit.id if unit else None
        data["unit"] = unit.code if unit else None
    event = _event(session, domain, ticket, actor, EventKind.PLACE_CORRECTED, **data)
    _feedback(
        session,
        domain,
        ticket,
        actor,
        {
            "is_demand": True,
            "category": ticket.category,
            "urgent": ticket.urgent,
            "locations": [place],
        },
    )
    session.flush()
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}")
    return ticket


def _area(tree: UnitTree, ticket: Ticket) -> Unit | None:
    return tree.by_id.get(ticket.area_id) if ticket.area_id else None


def recategorize_from_resident(
    *, session: Session, domain: Domain, ticket: Ticket, category: str, resident: Person
) -> TicketEvent | None:
    """What the resident said after an urgent filing makes the report another category (it was filed
    from its first words): change it and re-route, unless a person has decided the category already or
    the ticket has been dispatched. None when nothing changed."""
    _ensure_own_open(ticket, resident)
    if category not in domain.taxonomy or category == ticket.category:
        return None
    if ticket.status not in (Status.NEW, Status.ACCEPTED) or any(
        e.kind in (EventKind.RECLASSIFIED, EventKind.REVIEW_CONFIRMED) for e in ticket.events
    ):
        return None
    tree = domain.units(session)
    area = tree.by_id.get(ticket.area_id) if ticket.area_id else None
    unit = route(tree, domain.taxonomy.get(category), area)
    data = {"from": ticket.category, "to": category, "unit": unit.code if unit else None}
    ticket.category = category
    ticket.unit_id = unit.id if unit else None
    event = _event(session, domain, ticket, resident, EventKind.RECLASSIFIED, **data, by="resident")
    session.flush()
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}")
    return event


def confirm_classification(
    *, session: Session, domain: Domain, ticket: Ticket, actor: Actor
) -> Ticket:
    """复核确认: a person confirms the NLU's category of a ticket flagged for review (待复核)."""
    ensure_can_act(actor, ticket, domain.units(session))
    if not ticket.needs_review:
        return ticket
    ticket.needs_review = False
    _event(session, domain, ticket, actor, EventKind.REVIEW_CONFIRMED, category=ticket.category)
    return ticket


def set_handling_mode(
    *, session: Session, domain: Domain, ticket: Ticket, mode: HandlingMode, actor: Actor
) -> Ticket:
    """设置办理方式; the due time is recomputed from the filing time."""
    ensure_can_act(actor, ticket, domain.units(session))
    if not ticket.status.is_open:
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，不能修改办理方式")
    old = ticket.handling_mode
    ticket.handling_mode = mode
    ticket.due_at = due_at(
        ticket.created_at,
        mode,
        domain.taxonomy.get(ticket.category),
        domain.taxonomy,
        domain.calendar,
        domain.settings.timezone,
    )
    _event(
        session,
        domain,
        ticket,
        actor,
        EventKind.HANDLING_MODE,
        **{"from": old.value, "to": mode.value},
    )
    clock.reschedule(session, domain, ticket)
    return ticket


def set_urgent(
    *, session: Session, domain: Domain, ticket: Ticket, urgent: bool, actor: Actor
) -> Ticket:
    """Mark or unmark 紧急 (label feedback for the urgency detector)."""
    ensure_can_act(actor, ticket, domain.units(session))
    if ticket.urgent == urgent:
        return ticket
    ticket.urgent = urgent
    event = _event(session, domain, ticket, actor, EventKind.URGENT, urgent=urgent)
    # A new ticket marked urgent gets the urgent-not-accepted clock from now; unmarked, it loses it.
    ticket.urgent_at = event.at if urgent else None
    clock.reschedule(session, domain, ticket)
    _feedback(
        session,
        domain,
        ticket,
        actor,
        {"is_demand": True, "category": ticket.category, "urgent": urgent},
    )
    # The staff card shows it (🔴 or not): a card still waiting is rewritten and, marked urgent,
    # moves ahead of its chat's backlog; a card already sent is edited and, marked urgent, gets a
    # line under it so the chat is alerted, not just edited.
    session.flush()
    notice = messages.urgent_notice(ticket) if urgent else None
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}", notice=notice)
    return ticket


def add_note(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    text: str,
    actor: Actor,
    tell_resident: bool = False,
) -> TicketEvent:
    """备注. With ``tell_resident`` the note is also sent to the resident as progress."""
    text = _clean_text(text, MAX_NOTE_CHARS, "备注")
    ensure_can_help(actor, ticket, domain.units(session))
    event = _event(session, domain, ticket, actor, EventKind.NOTE, text=text, public=tell_resident)
    if tell_resident:
        _notify(session, domain, ticket, "note", event, extra=text)
        ticket.progress_at = event.at  # 跟踪办: the next progress request counts from here
        clock.reschedule(session, domain, ticket)
    return event


def _ensure_own_open(ticket: Ticket, resident: Person) -> None:
    if ticket.reporter_id != resident.id:
        raise NotFound(f"没有找到工单 {ticket.code}")
    if not ticket.status.is_open:
        raise InvalidInput(f"工单 {ticket.code} 已{ticket.status.label}，如问题仍未解决请重新反映")


def add_resident_info(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    text: str,
    resident: Person,
    show_on_card: bool = False,
) -> TicketEvent:
    """The resident adds information (text or a photo id) to their own open ticket; with
    ``show_on_card`` the staff card is refreshed to show it."""
    _ensure_own_open(ticket, resident)
    text = _clean_text(text, MAX_NOTE_CHARS, "补充内容")
    event = _event(
        session, domain, ticket, resident, EventKind.RESIDENT_INFO, text=redact(text), original=text
    )
    if show_on_card:
        session.flush()
        refresh_staff_card(session, domain, ticket, key=f"e{event.id}")
    return event


def add_place(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    place: str,
    resident: Person,
    replacing: bool = False,
    detail_only: bool = False,
    coordinates: tuple[float, float] | None = None,
) -> TicketEvent | None:
    """The resident says where (after filing): the place joins or, when ``replacing``, replaces the
    ticket's place (``detail_only``: it may only add to it, as a place mentioned in passing does);
    the area and, while nobody has been assigned, the responsible unit follow it; the staff card is
    edited and, for an urgent ticket, the duty chat is told. None when nothing changed."""
    _ensure_own_open(ticket, resident)
    place = _clean_text(place, MAX_PLACE_CHARS, "地点")
    old = ticket.location_text or ""
    new = old
    for n, part in enumerate(p for p in place.split("、") if p.strip()):
        new = merge_place(new or None, part.strip(), replacing=replacing and n == 0)
    new = new[:255]
    if detail_only and old and old not in new:
        new = old
    if new == old and coordinates is None:
        return None
    tree = domain.units(session)
    point = Point.parse(*coordinates) if coordinates is not None else None
    near = _near(domain, tree, point) if point is not None else None
    area = (
        tree.locate([new])
        or (near[0] if near else None)
        or (tree.by_id.get(ticket.area_id) if ticket.area_id else None)
    )
    location: dict[str, Any] = {"text": new, "start": -1, "end": -1, "source": "resident"}
    if point is not None:
        location["latitude"], location["longitude"] = point.as_pair()
        ticket.latitude, ticket.longitude = point.as_pair()
    ticket.locations = [location]
    ticket.location_text = new
    ticket.area_id = area.id if area else None
    data: dict[str, Any] = {"from": old, "to": new, "area": area.code if area else None}
    if point is not None:
        data["point"] = [point.latitude, point.longitude]
    if ticket.status in (Status.NEW, Status.ACCEPTED):
        unit = route(tree, domain.taxonomy.get(ticket.category), area)
        ticket.unit_id = unit.id if unit else None
        data["unit"] = unit.code if unit else None
    event = _event(session, domain, ticket, resident, EventKind.PLACE_ADDED, **data)
    session.flush()
    notice = messages.place_notice(ticket, new) if ticket.urgent else None
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}", notice=notice)
    return event


def add_pin(
    *, session: Session, domain: Domain, ticket: Ticket, point: Point, actor: Person
) -> TicketEvent:
    """A pin for an open ticket from its reporter or forwarder, or a grid member or staff member (a
    location shared in reply to the ticket's message in a grid group): the ticket's coordinates are
    set; a ticket with no area yet goes to the unit nearest the pin (and is routed there while nobody
    has been assigned). The staff card shows it."""
    if not ticket.status.is_open:
        raise InvalidInput(f"工单 {ticket.code} 已结束")
    if not (actor.role.is_staff and actor.active) and actor.id not in (
        ticket.reporter_id,
        ticket.forwarder_id,
    ):
        raise NotFound(f"没有找到工单 {ticket.code}")
    tree = domain.units(session)
    near = _near(domain, tree, point)
    data: dict[str, Any] = {"point": [point.latitude, point.longitude]}
    if near is not None:
        data["near"], data["near_km"] = near[0].code, round(near[1], 2)
    ticket.latitude, ticket.longitude = point.as_pair()
    if ticket.area_id is None and near is not None:
        ticket.area_id = near[0].id
        data["area"] = near[0].code
        if ticket.status in (Status.NEW, Status.ACCEPTED):
            unit = route(tree, domain.taxonomy.get(ticket.category), near[0])
            ticket.unit_id = unit.id if unit else None
            data["unit"] = unit.code if unit else None
    event = _event(session, domain, ticket, actor, EventKind.PIN_ADDED, **data)
    session.flush()
    refresh_staff_card(session, domain, ticket, key=f"e{event.id}")
    return event


def rate(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    satisfaction: Satisfaction,
    resident: Person,
    note: str = "",
) -> Ticket:
    """The resident rates a resolved ticket: 满意/基本满意 close it, 不满意 reopens it."""
    if ticket.reporter_id != resident.id and not session.scalar(
        select(Ticket.id).where(
            Ticket.duplicate_of_id == ticket.id, Ticket.reporter_id == resident.id
        )
    ):
        raise NotFound(f"没有找到工单 {ticket.code}")
    return _rated(session, domain, ticket, satisfaction, note, resident)


def record_callback(
    *,
    session: Session,
    domain: Domain,
    ticket: Ticket,
    satisfaction: Satisfaction,
    note: str,
    actor: Person,
) -> Ticket:
    """电话回访: staff record what the resident said on the phone about a resolved ticket; it counts
    as the resident's rating (满意/基本满意 close it, 不满意 reopens it)."""
    ensure_can_act(actor, ticket, domain.units(session))
    if ticket.status is not Status.RESOLVED:
        raise InvalidInput(f"工单 {ticket.code} 当前为「{ticket.status.label}」，办结后才能回访")
    note = note.strip()[:MAX_NOTE_CHARS]
    event = _event(
        session,
        domain,
        ticket,
        actor,
        EventKind.CALLBACK,
        by="phone",
        satisfaction=satisfaction.value,
        note=note,
    )
    ticket.callback_at = ticket.callback_at or event.at
    return _rated(session, domain, ticket, satisfaction, note, actor)


def _rated(
    session: Session,
    domain: Domain,
    ticket: Ticket,
    satisfaction: Satisfaction,
    note: str,
    rater: Person,
) -> Ticket:
    if ticket.status is not Status.RESOLVED:
        raise InvalidInput(f"工单 {ticket.code} 当前为「{ticket.status.label}」，办结后才能评价")
    note = note.strip()[:MAX_NOTE_CHARS]
    ticket.satisfaction = satisfaction
    ticket.satisfaction_note = note or None
    _event(
        session,
        domain,
        ticket,
        rater,
        EventKind.RATED,
        satisfaction=satisfaction.value,
        note=note,
    )
    if satisfaction.counts_as_satisfied:
        close(session=session, domain=domain, ticket=ticket, actor=rater.display_name or "居民")
    else:
        reopen(
            session=session,
            domain=domain,
            ticket=ticket,
            reason=f"居民评价不满意：{note}" if note else "居民评价不满意",
            actor="居民评价",
        )
    return ticket


def publish(*, session: Session, domain: Domain, ticket: Ticket) -> Ticket:
    """公开办: put the ticket's progress on the public board."""
    if ticket.published_at is None:
        event = _event(session, domain, ticket, "公开办", EventKind.PUBLISHED)
        ticket.published_at = event.at
        clock.reschedule(session, domain, ticket)
    return ticket


def ask_callback(*, session: Session, domain: Domain, ticket: Ticket) -> int:
    """回访: ask the resident (and the reporters of merged tickets) once more to rate the resolved
    ticket; returns how many could be asked (0: staff must phone)."""
    event = _event(session, domain, ticket, "回访", EventKind.CALLBACK, by="bot")
    ticket.callback_at = event.at
    text = messages.callback_question(
        ticket, domain.taxonomy.name(ticket.category), domain.links.url(ticket.code)
    )
    session.flush()
    recipients = _recipients(session, ticket)
    for chat_id, person_id in recipients:
        outbox.enqueue(
            session,
            chat_id=chat_id,
            text=text,
            kind="callback",
            ticket=ticket,
            person_id=person_id,
            reply_markup=messages.rating_keyboard(ticket.code),
            dedupe_key=f"{ticket.code}:{event.id}:callback:{chat_id}",
            now=event.at,
        )
    event.data = {**event.data, "asked": len(recipients)}
    clock.reschedule(session, domain, ticket)
    return len(recipients)


def _feedback(
    session: Session, domain: Domain, ticket: Ticket, actor: Actor, corrected: dict[str, Any]
) -> None:
    session.add(
        LabelFeedback(
            ticket_id=ticket.id,
            text=ticket.original_text,
            predicted={
                "is_demand": True,
                "category": ticket.ranking[0][0] if ticket.ranking else ticket.category,
                "confidence": ticket.category_confidence,
                "classifier_version": ticket.classifier_version,
            },
            corrected=corrected,
            actor_id=actor.id if isinstance(actor, Person) else None,
            source="staff" if isinstance(actor, Person) else actor,
            created_at=domain.clock(),
        )
    )


def record_feedback(
    *,
    session: Session,
    domain: Domain,
    text: str,
    predicted: dict[str, Any],
    corrected: dict[str, Any],
    actor: Actor,
    source: str,
    ticket: Ticket | None = None,
) -> LabelFeedback:
    """Store a correction of NLU output that is not tied to a ticket change (e.g. 不是诉求 on a forward)."""
    item = LabelFeedback(
        ticket_id=ticket.id if ticket else None,
        text=clean(text, limit=MAX_TEXT_CHARS, what="文本", truncate=True).text,
        predicted=predicted,
        corrected=corrected,
        actor_id=actor.id if isinstance(actor, Person) else None,
        source=source,
        created_at=domain.clock(),
    )
    session.add(item)
    return item
