"""Helpers that build classified messages, people and tickets for tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tickets import services
from tickets.classification import Classification
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket
from tickets.statuses import Role, Source


def classified(
    category: str | None,
    *,
    urgent: bool = False,
    locations: list[str] | None = None,
    text: str = "",
    confidence: float = 0.9,
) -> Classification:
    """A classification as the NLU would return it; location spans are found in ``text``."""
    spans = []
    for loc in locations or []:
        start = text.find(loc)
        spans.append({"text": loc, "start": start, "end": start + len(loc)})
    return Classification(
        is_demand=category is not None,
        demand_confidence=0.95,
        category=category,
        category_confidence=confidence,
        ranking=[(category, confidence)] if category else [],
        urgent=urgent,
        locations=spans,
        classifier_version="test",
    )


def person(
    session: Session,
    role: Role = Role.RESIDENT,
    *,
    tg: int | None = None,
    unit: str | None = None,
    domain: Domain | None = None,
    name: str = "",
) -> Person:
    unit_id = domain.units(session).get(unit).id if unit and domain else None
    p = Person(role=role, telegram_user_id=tg, unit_id=unit_id, display_name=name or role.label)
    session.add(p)
    session.flush()
    return p


def file(
    session: Session,
    domain: Domain,
    text: str,
    category: str,
    *,
    locations: list[str] | None = None,
    urgent: bool = False,
    reporter: Person | None = None,
    source: Source = Source.PRIVATE,
    **kwargs: object,
) -> Ticket:
    return services.file_ticket(
        session=session,
        domain=domain,
        text=text,
        source=source,
        classification=classified(category, urgent=urgent, locations=locations, text=text),
        reporter=reporter,
        **kwargs,  # type: ignore[arg-type]
    )


def file_burst(
    db: Database,
    domain: Domain,
    n: int,
    *,
    urgent_at: int | None = None,
    text: str = "幸福花园{k}栋楼道灯坏咗，电话13812345678",
) -> list[str]:
    """``n`` street-light tickets at 幸福花园 blocks 0…n-1 (``text`` formatted with ``k``), the
    ``urgent_at``-th urgent, filed and committed in one transaction; their codes in filing order."""
    with db.unit_of_work() as uow:
        codes = [
            file(
                uow.session,
                domain,
                text.format(k=k),
                "road_facility",
                locations=[f"幸福花园{k}栋"],
                urgent=k == urgent_at,
            ).code
            for k in range(n)
        ]
        uow.commit()
    return codes
