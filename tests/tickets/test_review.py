"""The review queue: confirming, correcting and dismissing what the NLU was unsure about."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.tickets.factories import classified, person
from tickets import review, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound
from tickets.models import LabelFeedback, ReviewItem, Ticket, TicketEvent
from tickets.statuses import Role, Source

NLU = {
    "is_demand": True,
    "demand_confidence": 0.55,
    "category": "sanitation",
    "category_confidence": 0.41,
    "ranking": [["sanitation", 0.41], ["greening_space", 0.3]],
    "urgent": False,
    "locations": [{"text": "康乐楼", "start": 0, "end": 3}],
    "classifier_version": "test-1",
}


def pending_item(db: Database, domain: Domain, grid: str = "YX-SG-XF-02") -> int:
    with db.unit_of_work() as uow:
        text = "康乐楼后面啲落叶冇人扫，电话13812345678"
        item = ReviewItem(
            source=Source.GROUP,
            chat_id=-200,
            message_id=9,
            area_id=domain.units(uow.session).get(grid).id,
            text=text,
            redacted_text=text.replace("13812345678", "138****5678"),
            nlu=NLU,
            reason="low_confidence",
        )
        uow.session.add(item)
        uow.commit()
        return item.id


def test_a_low_confidence_ticket_is_flagged_and_confirming_clears_it(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        ticket = services.file_ticket(
            session=s,
            domain=domain,
            text="康乐楼有啲嘢",
            source=Source.GROUP,
            classification=classified(
                "other", confidence=0.3, text="康乐楼有啲嘢", locations=["康乐楼"]
            ),
        )
        assert ticket.needs_review
        services.confirm_classification(session=s, domain=domain, ticket=ticket, actor=staff)
        uow.commit()
        assert not ticket.needs_review
        assert [e.kind for e in ticket.events] == ["filed", "review_confirmed"]


def test_reclassifying_a_flagged_ticket_clears_the_flag_and_records_feedback(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.DISTRICT_ADMIN, domain=domain)
        ticket = services.file_ticket(
            session=s,
            domain=domain,
            text="楼下成日有人烧嘢",
            source=Source.GROUP,
            classification=classified("noise", confidence=0.2),
        )
        services.reclassify(
            session=s, domain=domain, ticket=ticket, category="public_safety", actor=staff
        )
        uow.commit()
        assert not ticket.needs_review
        assert s.scalars(select(LabelFeedback.corrected)).one()["category"] == "public_safety"


def test_filing_a_review_item_makes_a_confirmed_ticket_and_feedback(
    db: Database, domain: Domain
) -> None:
    item_id = pending_item(db, domain)
    with db.unit_of_work() as uow:
        s = uow.session
        staff = person(s, Role.GRID_MEMBER, unit="YX-SG-XF-02", domain=domain)
        item = review.get_item(s, domain, item_id, staff)
        ticket = review.file_item(
            session=s, domain=domain, item=item, actor=staff, category="greening_space"
        )
        uow.commit()
    with db.session() as s:
        item = s.get(ReviewItem, item_id)
        ticket = s.scalars(select(Ticket)).one()
        assert item is not None and item.status == "filed" and item.ticket_id == ticket.id
        assert ticket.category == "greening_space" and not ticket.needs_review
        assert ticket.area is not None and ticket.area.code == "YX-SG-XF-02"
        assert ticket.redacted_text.endswith("138****5678")
        feedback = s.scalars(select(LabelFeedback)).one()
        assert feedback.source == "review"
        assert feedback.predicted["category"] == "sanitation"
        assert feedback.corrected == {
            "is_demand": True,
            "category": "greening_space",
            "urgent": False,
        }
        kinds = s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)).all()
        assert kinds == ["filed", "review_confirmed"]


def test_dismissing_a_review_item_records_that_it_was_not_a_demand(
    db: Database, domain: Domain
) -> None:
    item_id = pending_item(db, domain)
    with db.unit_of_work() as uow:
        staff = person(uow.session, Role.DISTRICT_ADMIN, domain=domain)
        item = review.get_item(uow.session, domain, item_id, staff)
        review.dismiss_item(session=uow.session, domain=domain, item=item, actor=staff)
        uow.commit()
        with pytest.raises(InvalidInput, match="已处理"):
            review.get_item(uow.session, domain, item_id, staff)
    with db.session() as s:
        assert s.scalars(select(Ticket)).all() == []
        assert s.scalars(select(LabelFeedback.corrected)).one() == {
            "is_demand": False,
            "category": None,
            "urgent": False,
        }


@pytest.mark.parametrize(
    ("role", "unit", "may"),
    [
        (Role.DISTRICT_ADMIN, None, True),
        (Role.STREET_STAFF, "YX-SG", True),
        (Role.COMMUNITY_STAFF, "YX-SG-XF", True),
        (Role.GRID_MEMBER, "YX-SG-XF-02", True),
        (Role.GRID_MEMBER, "YX-SG-XF-01", False),
        (Role.COMMUNITY_STAFF, "YX-SG-CH", False),
        (Role.RESIDENT, None, False),
    ],
)
def test_only_staff_of_the_item_s_area_may_decide_it(
    db: Database, domain: Domain, role: Role, unit: str | None, may: bool
) -> None:
    item_id = pending_item(db, domain)
    with db.unit_of_work() as uow:
        someone = person(uow.session, role, unit=unit, domain=domain)
        if may:
            assert review.get_item(uow.session, domain, item_id, someone).id == item_id
        else:
            with pytest.raises(NotFound):
                review.get_item(uow.session, domain, item_id, someone)
