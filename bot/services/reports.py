"""Filing what a resident reported in the private dialogue (called by the Rasa action)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services.people import Speaker, person_for
from tickets import services
from tickets.domain import Domain


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
        spans.append(
            {
                "text": report.location,
                "start": start,
                "end": start + len(report.location) if start >= 0 else -1,
            }
        )
    classification = services.Classification.from_dict(
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
        classification = services.Classification(
            **{**classification.__dict__, "category_confidence": 1.0}
        )
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
