"""Filing what a resident reported in the private dialogue (called by the Rasa action)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services.people import resident_for
from tickets import services
from tickets.domain import Domain
from tickets.statuses import Source


@dataclass(frozen=True)
class Report:
    """What the dialogue gathered (the NLU result, corrected by the resident)."""

    telegram_user_id: int
    name: str
    username: str | None
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
    """File the resident's report; idempotent for the same (chat, message)."""
    reporter = resident_for(
        session,
        telegram_user_id=report.telegram_user_id,
        name=report.name,
        username=report.username,
    )
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
        source=Source.PRIVATE,
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
