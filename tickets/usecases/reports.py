"""Filing what a resident reported in the private dialogue, and adding what they say after the filing
(called by the Rasa actions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tickets import services
from tickets.classification import Classification
from tickets.domain import Domain
from tickets.usecases.people import Speaker, person_for


@dataclass(frozen=True)
class Report:
    """What the dialogue gathered (the NLU result, corrected by the resident)."""

    speaker: Speaker
    text: str
    nlu: dict[str, Any]
    category: str
    urgent: bool
    location: str | None
    chat_id: int | None
    message_id: int | None
    contact_allowed: bool | None
    photo: str | None
    #: A Telegram location pin given as the place (latitude, longitude).
    coordinates: tuple[float, float] | None = None


@dataclass(frozen=True)
class Filed:
    code: str
    category_name: str
    urgent: bool
    due_at: datetime | None
    location: str


def file_report(session: Session, domain: Domain, report: Report) -> Filed:
    """File the resident's report (``private`` from Telegram, ``web`` from the console's chat);
    idempotent for the same (chat, message)."""
    reporter = person_for(session, report.speaker)
    spans: list[dict[str, Any]] = []
    if report.location:
        start = report.text.find(report.location)
        span: dict[str, Any] = {
            "text": report.location,
            "start": start,
            "end": start + len(report.location) if start >= 0 else -1,
        }
        if report.coordinates is not None:
            span["latitude"], span["longitude"] = report.coordinates
        spans.append(span)
    classification = Classification.from_dict(
        {
            **report.nlu,
            "is_demand": True,
            "demand_confidence": report.nlu.get("demand_confidence", 1.0),
            "category": report.category,
            "urgent": report.urgent,
            "locations": spans,
        }
    )
    if report.category != report.nlu.get("category"):
        # The resident corrected the category: it is certain now.
        classification = Classification(**{**classification.__dict__, "category_confidence": 1.0})
    ticket = services.file_ticket(
        session=session,
        domain=domain,
        text=report.text,
        source=report.speaker.source,
        classification=classification,
        reporter=reporter,
        chat_id=report.chat_id,
        message_id=report.message_id,
        contact_allowed=report.contact_allowed,
        attachments=[report.photo] if report.photo else [],
    )
    return Filed(
        code=ticket.code,
        category_name=domain.taxonomy.name(ticket.category),
        urgent=ticket.urgent,
        due_at=ticket.due_at,
        location=ticket.location_text,
    )


@dataclass(frozen=True)
class Added:
    """What a turn after the filing added to the resident's ticket."""

    code: str
    urgent: bool
    #: The ticket's place after the turn, when the turn gave one.
    place: str | None = None
    category: str | None = None


def add_to_report(
    session: Session,
    domain: Domain,
    *,
    speaker: Speaker,
    code: str,
    text: str = "",
    place: str | None = None,
    replacing: bool = False,
    detail_only: bool = False,
    coordinates: tuple[float, float] | None = None,
    photo: str | None = None,
    category: str | None = None,
) -> Added:
    """Add what the resident said after filing to their own open ticket ``code``: a place (joined to
    the ticket's, or replacing it after a correction), information shown on the staff card, and the
    category the whole report now points to. Raises NotFound (not theirs) or InvalidInput (closed)."""
    person = person_for(session, speaker)
    ticket = services.get_ticket(session, code)
    if category is not None:
        services.recategorize_from_resident(
            session=session, domain=domain, ticket=ticket, category=category, resident=person
        )
    placed = None
    if place:
        services.add_place(
            session=session,
            domain=domain,
            ticket=ticket,
            place=place,
            resident=person,
            replacing=replacing,
            detail_only=detail_only,
            coordinates=coordinates,
        )
        placed = ticket.location_text
    if photo:
        services.attach_photo(session, domain, ticket, photo, person)
        text = text or ADDED_PHOTO
    if text.strip():
        services.add_resident_info(
            session=session,
            domain=domain,
            ticket=ticket,
            text=text,
            resident=person,
            show_on_card=True,
        )
    return Added(code=ticket.code, urgent=ticket.urgent, place=placed, category=ticket.category)


#: The information recorded for a photo sent without words.
ADDED_PHOTO = "（补充了一张照片）"
