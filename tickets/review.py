"""The review queue (待复核): decide messages the NLU was unsure about.

Two kinds of items wait for a person:
- tickets filed with low category confidence (``Ticket.needs_review``): confirm the category
  (``services.confirm_classification``), correct it (``services.reclassify``) or reject them as not a
  demand (``services.reject(not_demand=True)``);
- review items (``ReviewItem``): group messages below the filing threshold (reason ``low_confidence``),
  too long to file (``too_long``: the item keeps the whole text, the ticket filed from it is cut) or
  that could not be filed automatically (``failed``). Filing one makes a ticket with the NLU's or the
  corrected category; dismissing it records that it was not a demand.

Every decision is stored as label feedback, exported later as training data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tickets import services
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, UnknownCategory
from tickets.models import Person, ReviewItem, Ticket
from tickets.statuses import Role, Source

PENDING = "pending"
#: Why a message waits for a person.
LOW_CONFIDENCE = "low_confidence"
TOO_LONG = "too_long"
FAILED = "failed"
FILED = "filed"
DISMISSED = "dismissed"


def can_decide(person: Person, item: ReviewItem, domain: Domain, session: Session) -> bool:
    """Staff decide items located in their units; items without a place only at district level."""
    if not person.active or not person.role.is_staff:
        return False
    tree = domain.units(session)
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if scope is None:
        return person.role is Role.DISTRICT_ADMIN
    if scope.parent_id is None:
        return True
    return item.area_id is not None and tree.is_within(item.area_id, scope)


def get_item(session: Session, domain: Domain, item_id: int, person: Person) -> ReviewItem:
    """The pending review item ``item_id`` if ``person`` may decide it (else NotFound)."""
    item = session.get(ReviewItem, item_id)
    if item is None or not can_decide(person, item, domain, session):
        raise NotFound(f"没有找到待复核消息 #{item_id}")
    if item.status != PENDING:
        raise InvalidInput(f"待复核消息 #{item_id} 已处理")
    return item


def _predicted(item: ReviewItem) -> dict[str, Any]:
    nlu = item.nlu or {}
    return {
        "is_demand": bool(nlu.get("is_demand", False)),
        "category": nlu.get("category"),
        "confidence": nlu.get("category_confidence"),
        "demand_confidence": nlu.get("demand_confidence"),
        "classifier_version": nlu.get("classifier_version", ""),
    }


def file_item(
    *,
    session: Session,
    domain: Domain,
    item: ReviewItem,
    actor: Person,
    category: str | None = None,
) -> Ticket:
    """File ``item`` as a ticket, with the NLU's category or ``category`` when a person corrected it."""
    nlu = dict(item.nlu or {})
    chosen = category or nlu.get("category") or "other"
    if chosen not in domain.taxonomy:
        raise UnknownCategory(f"未知类别：{chosen}")
    classification = Classification(
        is_demand=True,
        demand_confidence=float(nlu.get("demand_confidence") or 0.0),
        category=chosen,
        category_confidence=float(nlu.get("category_confidence") or 0.0),
        ranking=[(str(c), float(p)) for c, p in nlu.get("ranking") or []],
        urgent=bool(nlu.get("urgent", False)),
        locations=list(nlu.get("locations") or []),
        classifier_version=str(nlu.get("classifier_version", "")),
    )
    tree = domain.units(session)
    ticket = services.file_ticket(
        session=session,
        domain=domain,
        text=item.text,
        source=Source(item.source),
        classification=classification,
        reporter=session.get(Person, item.reporter_id) if item.reporter_id else None,
        forwarder=session.get(Person, item.forwarder_id) if item.forwarder_id else None,
        origin_label=item.origin_label,
        chat_id=item.chat_id,
        message_id=item.message_id,
        area=tree.by_id.get(item.area_id) if item.area_id else None,
        actor=actor,
        truncate=True,  # an over-long message (reason too_long): the item keeps the whole text
    )
    services.confirm_classification(session=session, domain=domain, ticket=ticket, actor=actor)
    _decide(session, domain, item, actor, FILED, ticket)
    services.record_feedback(
        session=session,
        domain=domain,
        text=item.text,
        predicted=_predicted(item),
        corrected={"is_demand": True, "category": chosen, "urgent": classification.urgent},
        actor=actor,
        source="review",
        ticket=ticket,
    )
    return ticket


def dismiss_item(*, session: Session, domain: Domain, item: ReviewItem, actor: Person) -> None:
    """Not a demand: close the item and record the correction."""
    _decide(session, domain, item, actor, DISMISSED, None)
    services.record_feedback(
        session=session,
        domain=domain,
        text=item.text,
        predicted=_predicted(item),
        corrected={"is_demand": False, "category": None, "urgent": False},
        actor=actor,
        source="review",
    )


def _decide(
    session: Session,
    domain: Domain,
    item: ReviewItem,
    actor: Person,
    status: str,
    ticket: Ticket | None,
) -> None:
    if item.status != PENDING:
        raise InvalidInput(f"待复核消息 #{item.id} 已处理")
    item.status = status
    item.ticket_id = ticket.id if ticket else None
    item.decided_by_id = actor.id
    item.decided_at = domain.clock()
    session.flush()
