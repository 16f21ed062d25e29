"""Forwards from grid members: a burst of neighbours' messages filed on the original senders' behalf,
and the grid member's corrections (confirm, change category, not a demand) stored as label feedback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets import codes, messages, services
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.errors import PermissionDenied
from tickets.models import LabelFeedback, Person, Ticket
from tickets.statuses import Source
from tickets.usecases import staff
from tickets.usecases.groups import demand_probability
from tickets.usecases.people import resident_for, staff_for
from tickets.usecases.views import FiledForward, ForwardBurstResult, ForwardDemand, ForwardItem

#: Consecutive forwards of one sender written within this span are one utterance.
SAME_UTTERANCE = timedelta(seconds=90)


def _origin_key(item: ForwardItem) -> tuple[str, Any]:
    return (item.origin_kind, item.origin_user_id or item.origin_name)


def coalesce(items: Sequence[ForwardItem]) -> list[ForwardDemand]:
    """Join consecutive forwards of the same original sender written close together (a neighbour
    typing one problem in three short messages); everything else stays separate."""
    runs: list[list[ForwardItem]] = []
    for item in sorted(items, key=lambda i: i.message_id):
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and _origin_key(last) == _origin_key(item)
            and last.origin_date is not None
            and item.origin_date is not None
            and abs(item.origin_date - last.origin_date) <= SAME_UTTERANCE
        ):
            runs[-1].append(item)
        else:
            runs.append([item])
    return [ForwardDemand(tuple(run)) for run in runs]


def file_burst(
    session: Session,
    domain: Domain,
    *,
    forwarder_telegram_id: int,
    demands: Sequence[ForwardDemand],
    results: Sequence[Classification],
    review_threshold: float,
) -> ForwardBurstResult:
    """File each demand in the burst for its original sender, forwarded by the grid member."""
    forwarder = staff_for(session, forwarder_telegram_id)
    tree = domain.units(session)
    own_unit = tree.by_id.get(forwarder.unit_id) if forwarder.unit_id is not None else None
    default_area = own_unit if own_unit is not None and own_unit.level == "grid" else None
    tickets: list[tuple[Ticket, ForwardItem]] = []
    skipped = 0
    # Codes are taken when the burst is filed, not at its first ticket: the day's counter rows are
    # locked for the last moments of the transaction only (``codes.numbered_last``, as group batches).
    with codes.numbered_last(session):
        for demand, result in zip(demands, results, strict=True):
            if not result.is_demand and demand_probability(result) < review_threshold:
                skipped += 1
                continue
            result = replace(result, is_demand=True)  # the grid member forwarded it as one
            first = demand.first
            reporter = (
                resident_for(
                    session,
                    telegram_user_id=first.origin_user_id,
                    name=first.origin_name,
                    username=first.origin_username,
                )
                if first.origin_user_id is not None
                else None
            )
            classification = result
            area = tree.locate([loc["text"] for loc in classification.locations]) or default_area
            ticket = services.file_ticket(
                session=session,
                domain=domain,
                text=demand.text,
                source=Source.FORWARD,
                classification=classification,
                reporter=reporter,
                forwarder=forwarder,
                origin_label=first.origin_name or None,
                chat_id=first.chat_id,
                message_id=first.message_id,
                area=area,
            )
            tickets.append((ticket, first))
    filed = [
        FiledForward(
            code=ticket.code,
            category=ticket.category,
            category_name=domain.taxonomy.name(ticket.category),
            confidence=ticket.category_confidence or 0.0,
            urgent=ticket.urgent,
            location=ticket.location_text,
            origin=first.origin_name or messages.UNKNOWN_ORIGIN,
            summary=" ".join(ticket.redacted_text.split())[:80],
        )
        for ticket, first in tickets
    ]
    return ForwardBurstResult(
        messages=sum(len(d.items) for d in demands), filed=filed, skipped=skipped
    )


def _as_forwarder(
    session: Session,
    domain: Domain,
    telegram_user_id: int,
    code: str,
    change: Callable[[Ticket, Person | str], Any],
    label: str,
) -> Ticket:
    """Run ``change`` as the grid member; the member who forwarded a ticket may correct it even when it
    was located outside their grid. Feedback rows are marked as coming from a grid member."""
    person = staff_for(session, telegram_user_id)
    ticket = services.get_ticket(session, code)
    before = session.scalar(select(func.max(LabelFeedback.id))) or 0
    try:
        change(ticket, person)
    except PermissionDenied:
        if ticket.forwarder_id != person.id:
            raise
        change(ticket, messages.grid_member(person.display_name))
    session.flush()
    for feedback in session.scalars(
        select(LabelFeedback).where(LabelFeedback.id > before, LabelFeedback.ticket_id == ticket.id)
    ):
        feedback.source = "grid_member"
        feedback.actor_id = person.id
    staff.refresh_card(session, domain, ticket, messages.grid_member(person.display_name), label)
    return ticket


def confirm(session: Session, domain: Domain, *, telegram_user_id: int, code: str) -> None:
    """The grid member says the parse was right: a positive label, and the ticket leaves 待复核."""
    ticket = _as_forwarder(
        session,
        domain,
        telegram_user_id,
        code,
        lambda t, actor: services.confirm_classification(
            session=session, domain=domain, ticket=t, actor=actor
        ),
        "确认分类",
    )
    person = staff_for(session, telegram_user_id)
    label = {"is_demand": True, "category": ticket.category, "urgent": ticket.urgent}
    services.record_feedback(
        session=session,
        domain=domain,
        text=ticket.original_text,
        predicted={**label, "confidence": ticket.category_confidence},
        corrected=label,
        actor=person,
        source="grid_member",
        ticket=ticket,
    )


def reclassify(
    session: Session, domain: Domain, *, telegram_user_id: int, code: str, category: str
) -> str:
    """改类别 by the grid member; returns the new category's name."""
    _as_forwarder(
        session,
        domain,
        telegram_user_id,
        code,
        lambda t, actor: services.reclassify(
            session=session, domain=domain, ticket=t, category=category, actor=actor
        ),
        "改类别",
    )
    return domain.taxonomy.name(category)


def not_a_demand(session: Session, domain: Domain, *, telegram_user_id: int, code: str) -> None:
    """不是诉求: reject the ticket and store the negative label."""
    _as_forwarder(
        session,
        domain,
        telegram_user_id,
        code,
        lambda t, actor: services.reject(
            session=session,
            domain=domain,
            ticket=t,
            reason=messages.NOT_A_DEMAND_REASON,
            actor=actor,
            not_demand=True,
        ),
        "标记为不是诉求",
    )
