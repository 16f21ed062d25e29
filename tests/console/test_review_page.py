"""待复核 page: low-confidence tickets and unsure group messages, decided in one click."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from tests.console.conftest import post, sign_in
from tests.tickets.factories import classified
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import LabelFeedback, ReviewItem, Ticket
from tickets.statuses import Source, Status


def unsure_ticket(db: Database, domain: Domain) -> str:
    with db.unit_of_work() as uow:
        text = "幸福花园门口有啲嘢要搞下"
        ticket = services.file_ticket(
            session=uow.session,
            domain=domain,
            text=text,
            source=Source.GROUP,
            classification=classified(
                "property_mgmt", confidence=0.35, text=text, locations=["幸福花园"]
            ),
        )
        uow.commit()
        return ticket.code


def unsure_message(db: Database, domain: Domain, grid: str = "YX-SG-XF-01") -> int:
    with db.unit_of_work() as uow:
        item = ReviewItem(
            source=Source.GROUP,
            chat_id=-300,
            message_id=1,
            area_id=domain.units(uow.session).get(grid).id,
            text="北门嗰度啲灯好似坏咗",
            redacted_text="北门嗰度啲灯好似坏咗",
            nlu={
                "is_demand": True,
                "demand_confidence": 0.52,
                "category": "road_facility",
                "category_confidence": 0.45,
                "ranking": [["road_facility", 0.45], ["property_mgmt", 0.35]],
            },
            reason="low_confidence",
        )
        uow.session.add(item)
        uow.commit()
        return item.id


def test_the_queue_shows_both_kinds_with_the_model_s_guesses(
    client: TestClient, db: Database, domain: Domain
) -> None:
    code, item_id = unsure_ticket(db, domain), unsure_message(db, domain)
    page = sign_in(client, "grid1").get("/review").text
    assert code in page and f"消息 #{item_id}" in page
    assert 'value="category:road_facility"' not in page or "道路设施" in page
    assert 'value="category:property_mgmt"' in page  # the second guess is one key away
    assert 'data-key="y"' in page and 'data-key="n"' in page


def test_confirming_a_ticket_takes_it_off_the_queue(
    client: TestClient, db: Database, domain: Domain
) -> None:
    code = unsure_ticket(db, domain)
    sign_in(client, "xingfu")
    post(client, f"/review/tickets/{code}", {"decision": "confirm"}, page="/review")
    page = client.get("/review").text
    assert "已确认为「物业管理」" in page
    assert f">{code}</a>" not in page
    with db.session() as s:
        assert not s.scalars(select(Ticket.needs_review).where(Ticket.code == code)).one()


def test_picking_another_guess_reclassifies_with_feedback(
    client: TestClient, db: Database, domain: Domain
) -> None:
    code = unsure_ticket(db, domain)
    sign_in(client, "xingfu")
    post(client, f"/review/tickets/{code}", {"decision": "category:elevator"}, page="/review")
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        assert (ticket.category, ticket.needs_review) == ("elevator", False)
        assert s.scalars(select(LabelFeedback.source)).one() == "staff"


def test_not_a_demand_rejects_the_ticket(client: TestClient, db: Database, domain: Domain) -> None:
    code = unsure_ticket(db, domain)
    sign_in(client, "xingfu")
    post(client, f"/review/tickets/{code}", {"decision": "not_demand"}, page="/review")
    with db.session() as s:
        assert s.scalars(select(Ticket.status).where(Ticket.code == code)).one() is Status.REJECTED
        assert s.scalars(select(LabelFeedback.corrected)).one()["is_demand"] is False


def test_a_message_can_be_filed_with_the_chosen_category(
    client: TestClient, db: Database, domain: Domain
) -> None:
    item_id = unsure_message(db, domain)
    sign_in(client, "grid1")
    post(
        client,
        f"/review/items/{item_id}",
        {"decision": "category", "category": "property_mgmt"},
        page="/review",
    )
    assert "已立案为工单 MW-" in client.get("/review").text
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.category == "property_mgmt" and ticket.area.code == "YX-SG-XF-01"  # type: ignore[union-attr]


def test_a_message_can_be_dismissed(client: TestClient, db: Database, domain: Domain) -> None:
    item_id = unsure_message(db, domain)
    sign_in(client, "xingfu")
    post(client, f"/review/items/{item_id}", {"decision": "not_demand"}, page="/review")
    with db.session() as s:
        assert s.get(ReviewItem, item_id).status == "dismissed"  # type: ignore[union-attr]


def test_messages_of_other_areas_are_neither_shown_nor_decidable(
    client: TestClient, db: Database, domain: Domain
) -> None:
    item_id = unsure_message(db, domain, grid="YX-SG-CH-01")
    sign_in(client, "xingfu")
    assert f"消息 #{item_id}" not in client.get("/review").text
    response = post(client, f"/review/items/{item_id}", {"decision": "confirm"}, page="/review")
    assert response.status_code == 404  # type: ignore[attr-defined]
    with db.session() as s:
        assert s.get(ReviewItem, item_id).status == "pending"  # type: ignore[union-attr]
