"""After a filing the conversation goes on with the ticket: an urgent report is asked where until the
resident says, and what they say next lands on the ticket, its staff card and the audit log."""

from __future__ import annotations

import time
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.deps import ActionDeps
from actions.followup import (
    NEW_REPORT,
    NO_PLACE,
    ActionFollowupDone,
    ActionOutOfContext,
    ValidateFollowupForm,
)
from actions.report import ActionStartReport
from nlu.conversation import read_turn
from tests.actions.conftest import nlu, tracker
from tickets import queues
from tickets.db import Database
from tickets.models import OutboxItem, Ticket, TicketEvent

URGENT = "我阿妈喺屋企跌低咗，起唔到身"


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def said(dispatcher: CollectingDispatcher) -> list[str]:
    out = []
    for m in dispatcher.messages:
        custom = (m.get("custom") or {}).get("minwei") or {}
        out.append(m.get("text") or m.get("response") or custom.get("text") or "")
    return out


async def filed_urgent(deps: ActionDeps, rasa_domain: dict[str, Any]) -> dict[str, Any]:
    """File the urgent report without a place; the slots the conversation then has."""
    events = await ActionStartReport(deps).run(
        CollectingDispatcher(),
        tracker(URGENT, "report", minwei=nlu("elder_care", urgent=True, text=URGENT)),
        rasa_domain,
    )
    assert events[-1] == FollowupAction("followup_form")
    return slots_of(events)


def asked(slots: dict[str, Any], text: str, intent: str = "inform", **minwei: Any) -> Any:
    return tracker(
        text,
        intent,
        slots={**slots, "requested_slot": "followup_place"},
        filled={"followup_place": text},
        minwei=nlu(minwei.pop("category", None), text=text, **minwei),
        form=True,
    )


async def test_an_urgent_report_without_a_place_opens_the_where_question(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    assert slots["followup_code"] == "MW-20261123-0001"
    assert slots["followup_urgent"] is True
    assert slots["followup_until"] > time.time() + 60 * 29


async def test_the_place_given_next_goes_on_the_ticket_its_card_and_the_audit_log(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    dispatcher = CollectingDispatcher()
    result = await ValidateFollowupForm(deps).validate_followup_place(
        "幸福花园5栋",
        dispatcher,
        asked(slots, "幸福花园5栋", locations=("幸福花园5栋",)),
        rasa_domain,
    )
    assert result["followup_place"] == "幸福花园5栋"
    assert "幸福花园5栋" in said(dispatcher)[0]
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.location_text == "幸福花园5栋"
        assert ticket.area is not None and ticket.area.name == "幸福社区第一网格"
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "place_added")).one()
        assert (event.data["from"], event.data["to"]) == ("", "幸福花园5栋")
        card = s.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_card_urgent")).one()
        assert "地点：幸福花园5栋" in card.payload["text"]  # not sent yet: rewritten in place
        notice = s.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_notice")).one()
        assert notice.payload["text"] == "📍 MW-20261123-0001 居民补充地址：幸福花园5栋"


async def test_a_card_already_sent_is_edited_and_the_edit_finds_its_message(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    with db.unit_of_work() as uow:  # the sender delivers the card as message 9001
        rows = queues.claim_outbox(uow.session, limit=10)
        queues.finish_outbox(
            uow.session,
            [queues.SendResult(r.id, "sent", message_id=9001) for r in rows],
        )
        uow.commit()
    await ValidateFollowupForm(deps).validate_followup_place(
        "康乐苑", CollectingDispatcher(), asked(slots, "康乐苑", locations=("康乐苑",)), rasa_domain
    )
    with db.unit_of_work() as uow:
        rows = {r.kind: r for r in queues.claim_outbox(uow.session, limit=10)}
        uow.commit()
    edit = rows["staff_card_edit"]
    assert edit.method == "editMessageText"
    assert edit.payload["message_id"] == 9001
    assert "地点：康乐苑" in edit.payload["text"]


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("唔知点讲", "chitchat", NO_PLACE),  # the resident cannot say: staff will call
        ("佢而家好痛", "chitchat", None),  # more about what happened: added, asked again
    ],
)
async def test_answers_that_are_not_places_never_become_the_place(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    db: Database,
    text: str,
    intent: str,
    expected: str | None,
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    result = await ValidateFollowupForm(deps).validate_followup_place(
        text, CollectingDispatcher(), asked(slots, text, intent), rasa_domain
    )
    assert result["followup_place"] == expected
    with db.session() as s:
        assert s.scalars(select(Ticket)).one().location_text == ""


async def test_a_clearly_new_problem_ends_the_question_and_starts_a_new_report(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    text = "另外，3栋门口盏路灯又唔着"
    result = await ValidateFollowupForm(deps).validate_followup_place(
        text,
        CollectingDispatcher(),
        asked(slots, text, "report", category="road_facility", locations=("3栋",)),
        rasa_domain,
    )
    assert result == {"followup_place": NEW_REPORT}
    done = await ActionFollowupDone().run(
        CollectingDispatcher(), tracker(text, "report", slots=result), rasa_domain
    )
    assert done[-1] == FollowupAction("action_start_report")
    assert SlotSet("followup_code", None) in done


async def test_within_the_window_later_details_land_on_the_ticket(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    slots["report_turns"] = [read_turn(URGENT, nlu("elder_care", text=URGENT)).as_dict()]
    dispatcher = CollectingDispatcher()
    await ActionOutOfContext(deps).run(
        dispatcher,
        tracker("二楼", "inform", slots=slots, minwei=nlu(None, text="二楼", locations=("二楼",))),
        rasa_domain,
    )
    detail = "佢话个腰好痛"
    await ActionOutOfContext(deps).run(
        dispatcher,
        tracker(detail, "chitchat", slots=slots, minwei=nlu(None, text=detail)),
        rasa_domain,
    )
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        kinds = [e.kind for e in ticket.events]
        assert kinds == ["filed", "place_added", "resident_info"]
        assert ticket.events[-1].data["text"] == detail
        card = s.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_card_urgent")).one()
        assert f"居民补充：{detail}" in card.payload["text"]


async def test_after_the_window_a_detail_is_not_added_to_any_ticket(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    slots = await filed_urgent(deps, rasa_domain)
    slots["followup_until"] = time.time() - 1
    dispatcher = CollectingDispatcher()
    await ActionOutOfContext(deps).run(
        dispatcher,
        tracker("二楼", "inform", slots=slots, minwei=nlu(None, text="二楼")),
        rasa_domain,
    )
    assert said(dispatcher) == ["utter_what_problem"]
    with db.session() as s:
        assert [e.kind for e in s.scalars(select(Ticket)).one().events] == ["filed"]
