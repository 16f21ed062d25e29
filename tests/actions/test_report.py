"""The report: started from the NLU result, completed by the form, filed with the resident's message."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.deps import ActionDeps
from actions.report import (
    NO_PLACE,
    ActionAskConfirmed,
    ActionCancelReport,
    ActionStartReport,
    ActionSubmitReport,
    ValidateReportForm,
    summary,
)
from nlu.conversation import read_turn
from tests.actions.conftest import nlu, tracker
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import OutboxItem, Person, Ticket
from tickets.statuses import Role, Source


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def said(dispatcher: CollectingDispatcher) -> list[str]:
    out = []
    for m in dispatcher.messages:
        custom = (m.get("custom") or {}).get("minwei") or {}
        out.append(m.get("text") or m.get("response") or custom.get("text") or str(custom))
    return out


async def test_a_report_remembers_what_the_nlu_understood_and_starts_the_form(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    text = "幸福花园3栋电梯又坏咗，我阿妈落唔到楼"
    dispatcher = CollectingDispatcher()
    events = await ActionStartReport(deps).run(
        dispatcher,
        tracker(text, "report", minwei=nlu("elevator", text=text, locations=("幸福花园3栋",))),
        rasa_domain,
    )
    slots = slots_of(events)
    assert slots["category"] == "elevator"
    assert slots["category_name"] == "电梯"
    assert slots["location"] == "幸福花园3栋"
    assert slots["report_message_id"] == 10
    assert events[-1] == FollowupAction("report_form")
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("text", "category", "advice"),
    [
        ("救命！5栋2单元电梯困住人了，里面有个小朋友", "elevator", "不要强行扒门"),
        ("幸福花园北门好大煤气味，好似漏气", "public_safety", "关闭燃气总阀"),
        ("楼下的阿婆跌倒了，起唔到身", "elder_care", "120"),
    ],
)
async def test_an_urgent_report_is_filed_at_once_with_advice_and_an_urgent_staff_card(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    db: Database,
    text: str,
    category: str,
    advice: str,
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionStartReport(deps).run(
        dispatcher,
        tracker(text, "report", minwei=nlu(category, urgent=True, text=text)),
        rasa_domain,
    )
    assert "ticket_code" in slots_of(events)
    reply = said(dispatcher)[0]
    assert "紧急" in reply
    assert advice in reply
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.urgent, ticket.category, ticket.source) == (True, category, Source.PRIVATE)
        assert (ticket.chat_id, ticket.message_id) == (501, 10)
        card = s.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_card_urgent")).one()
        assert card.payload["text"].startswith("🔴")
        reporter = s.get(Person, ticket.reporter_id)
        assert reporter is not None and (reporter.role, reporter.telegram_user_id) == (
            Role.RESIDENT,
            501,
        )


def first_turn(text: str, category: str, **kw: Any) -> list[dict[str, Any]]:
    """The ``report_turns`` slot after the report's first turn."""
    return [read_turn(text, nlu(category, text=text, **kw)).as_dict()]


@pytest.mark.parametrize(
    ("text", "intent", "metadata", "expected"),
    [
        ("就在东风市场门口", "inform", None, "东风市场"),  # words around the place dropped
        ("沙湾镇", "inform", None, "沙湾镇"),  # a town the extractor does not know
        (
            "/share_location",
            "share_location",
            {"location": {"latitude": 23.1, "longitude": 113.3}},
            "定位 23.10000,113.30000",
        ),
        ("/skip", "skip", None, None),
        ("佢而家好痛", "chitchat", None, None),  # not a place: asked again
        ("唔知", "chitchat", None, NO_PLACE),  # the resident cannot say: filed without a place
    ],
)
async def test_the_place_is_taken_from_the_words_or_a_pin_and_never_from_a_non_answer(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    text: str,
    intent: str,
    metadata: Any,
    expected: str | None,
) -> None:
    meta = {"telegram": {"chat_id": 501, "message_id": 11}, **(metadata or {})}
    t = tracker(
        text,
        intent,
        slots={
            "requested_slot": "location",
            "report_turns": first_turn("路灯坏了", "road_facility"),
        },
        filled={"location": text},
        metadata=meta,
        minwei=nlu(None, text=text),
        form=True,
    )
    result = await ValidateReportForm(deps).validate_location(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result["location"] == expected


async def test_i_already_said_it_takes_the_place_from_an_earlier_turn(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    earlier = "南浦村牌坊嗰度水浸到过唔到车"
    t = tracker(
        "头先讲咗啦",
        "notice",
        slots={"requested_slot": "location", "report_turns": first_turn(earlier, "drainage")},
        filled={"location": "头先讲咗啦"},
        minwei=nlu(None, text="头先讲咗啦"),
        form=True,
    )
    dispatcher = CollectingDispatcher()
    result = await ValidateReportForm(deps).validate_location(
        "头先讲咗啦", dispatcher, t, rasa_domain
    )
    assert result["location"] == "南浦村"
    assert "南浦村" in said(dispatcher)[0]


async def test_when_the_form_starts_the_first_turn_is_not_taken_as_its_own_answer(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    text = "啲水由门口冲晒入嚟"
    t = tracker(
        text,
        "report",
        slots={"report_turns": first_turn(text, "drainage")},
        filled={"location": text},
        minwei=nlu("drainage", text=text),
        form=True,
    )
    result = await ValidateReportForm(deps).validate_location(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result == {"location": None}


async def test_a_turn_that_makes_the_report_urgent_ends_the_questions_so_it_is_filed_at_once(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    text = "而家成间屋都系臭鸡蛋味"
    t = tracker(
        text,
        "report",
        slots={
            "requested_slot": "location",
            "report_turns": first_turn("厨房个煤气管有啲问题", "utilities"),
        },
        filled={"location": text},
        minwei=nlu("public_safety", text=text, urgent=True),
        form=True,
    )
    result = await ValidateReportForm(deps).validate_location(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result["urgent"] is True
    t.slots.update(result)
    form = ValidateReportForm(deps)
    assert await form.required_slots(["location"], CollectingDispatcher(), t, rasa_domain) == []


@pytest.mark.parametrize(
    ("text", "old", "new", "expected"),
    [
        ("3栋电梯坏了", "3栋", "5栋", "5栋电梯坏了"),
        ("路灯坏了", "东风路", "幸福路", "路灯坏了"),
    ],
)
def test_the_summary_shows_the_corrected_place(
    text: str, old: str, new: str, expected: str
) -> None:
    assert summary(text, old, new) == expected


async def test_a_correction_changes_the_place_and_asks_again(
    deps: ActionDeps, rasa_domain: dict[str, Any]
) -> None:
    text = "不对，是5栋不是3栋"
    t = tracker(
        text,
        "deny",
        slots={
            "requested_slot": "confirmed",
            "demand_text": "幸福花园3栋电梯坏了",
            "demand_summary": "幸福花园3栋电梯坏了",
            "location": "幸福花园3栋",
            "category": "elevator",
            "report_turns": first_turn(
                "幸福花园3栋电梯坏了", "elevator", locations=("幸福花园3栋",)
            ),
        },
        filled={"confirmed": text},
        minwei=nlu(None, text=text, locations=("5栋", "3栋")),
        form=True,
    )
    result = await ValidateReportForm(deps).validate_confirmed(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result["confirmed"] is None
    assert result["location"] == "幸福花园5栋"
    assert result["demand_summary"] == "幸福花园5栋电梯坏了"
    assert result["demand_text"] == "幸福花园3栋电梯坏了\n不对，是5栋不是3栋"
    assert result["category"] == "elevator"  # a correction of the place keeps a clear category


@pytest.mark.parametrize(
    ("text", "intent", "confirmed", "correcting"),
    [
        ("/affirm", "affirm", True, False),
        ("对，冇错", "affirm", True, False),
        ("不对", "deny", None, True),
    ],
)
async def test_yes_confirms_and_a_bare_no_asks_what_is_wrong(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    text: str,
    intent: str,
    confirmed: Any,
    correcting: bool,
) -> None:
    t = tracker(
        text,
        intent,
        slots={"location": "3栋", "category": "elevator", "requested_slot": "confirmed"},
        filled={"confirmed": text},
        form=True,
    )
    result = await ValidateReportForm(deps).validate_confirmed(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert (result["confirmed"], result["correcting"]) == (confirmed, correcting)


async def test_after_a_bare_no_the_bot_asks_what_is_wrong_instead_of_the_summary(
    rasa_domain: dict[str, Any],
) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmed().run(
        dispatcher, tracker("不对", "deny", slots={"correcting": True}), rasa_domain
    )
    assert said(dispatcher) == ["utter_ask_correction"]


@pytest.mark.parametrize(
    ("text", "intent", "photo", "expected"),
    [
        ("/photo", "photo", "AgACfile1", "AgACfile1"),
        ("/skip", "skip", None, "none"),
        ("冇相", "deny", None, "none"),
    ],
)
async def test_a_photo_is_kept_and_skipping_goes_on(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    text: str,
    intent: str,
    photo: str | None,
    expected: str,
) -> None:
    meta: dict[str, Any] = {"telegram": {"chat_id": 501}}
    if photo:
        meta["photo"] = photo
    t = tracker(
        text,
        intent,
        slots={"requested_slot": "photo"},
        filled={"photo": text},
        metadata=meta,
        form=True,
    )
    result = await ValidateReportForm(deps).validate_photo(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result["photo"] == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("/affirm", "affirm", True),
        ("唔使，唔该", "deny", False),
        ("打我电话13812345678", "inform", True),
        ("今日天气几好", "chitchat", None),
    ],
)
async def test_may_staff_contact_you(
    deps: ActionDeps, rasa_domain: dict[str, Any], text: str, intent: str, expected: bool | None
) -> None:
    t = tracker(
        text,
        intent,
        slots={"demand_text": "路灯坏了", "requested_slot": "contact_allowed"},
        filled={"contact_allowed": text},
        form=True,
    )
    result = await ValidateReportForm(deps).validate_contact_allowed(
        text, CollectingDispatcher(), t, rasa_domain
    )
    assert result["contact_allowed"] is expected


FORM_DONE = {
    "demand_text": "东风路的路灯一直唔着，夜晚好黑",
    "category": "road_facility",
    "category_name": "道路设施",
    "nlu": nlu("road_facility", text="东风路的路灯一直唔着，夜晚好黑", locations=("东风路",)),
    "urgent": False,
    "location": "东风路",
    "confirmed": True,
    "photo": "none",
    "contact_allowed": True,
    "report_chat_id": 501,
    "report_message_id": 42,
}


async def test_the_completed_form_is_filed_once_with_code_and_time_limit(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    for _ in range(2):  # a repeated turn files nothing new
        dispatcher = CollectingDispatcher()
        events = await ActionSubmitReport(deps).run(
            dispatcher, tracker("/affirm", "affirm", slots=FORM_DONE), rasa_domain
        )
    reply = dispatcher.messages[0]["custom"]["minwei"]
    assert reply["ticket_code"] == "MW-20261123-0001"
    assert "办理时限" in reply["text"]
    assert slots_of(events)["ticket_code"] == "MW-20261123-0001"
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.category, ticket.location_text, ticket.contact_allowed) == (
            "road_facility",
            "东风路",
            True,
        )
        assert ticket.area is not None and ticket.area.name == "东风社区"


def web_resident(db: Database, **kw: Any) -> int:
    with db.unit_of_work() as uow:
        p = Person(role=Role.RESIDENT, display_name="网页居民（chen）", **kw)
        uow.session.add(p)
        uow.session.flush()
        uow.commit()
        return p.id


async def test_a_web_residents_report_is_filed_as_a_web_ticket_of_that_resident(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database
) -> None:
    resident = web_resident(db)
    web = {"web": {"chat_id": 2**53 + resident, "message_id": 77, "name": "网页居民（chen）"}}
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport(deps).run(
        dispatcher,
        tracker(
            "/affirm",
            "affirm",
            slots={**FORM_DONE, "report_chat_id": 2**53 + resident, "report_message_id": 77},
            metadata=web,
            sender=f"web:{resident}",
        ),
        rasa_domain,
    )
    reply = dispatcher.messages[0]["custom"]["minwei"]
    assert reply["kind"] == "filed"
    assert "随时问我" in reply["text"] and "/my" not in reply["text"]  # no Telegram to notify
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.source, ticket.reporter_id) == (Source.WEB, resident)
        assert (ticket.chat_id, ticket.message_id) == (2**53 + resident, 77)
        assert s.scalar(select(func.count(Person.id))) == 1  # nobody created on the way
        kinds = set(s.scalars(select(OutboxItem.kind)))
        assert kinds == {"staff_card"}  # the staff group hears of it; no resident message


@pytest.mark.parametrize(
    ("sender", "person"),
    [
        ("web:999", None),  # no such person
        ("web:{id}", {"telegram_user_id": 501}),  # a Telegram resident
        ("web:{id}", {"username": "chen", "role": Role.COMMUNITY_STAFF}),  # a staff account
        ("tryout:c1", None),  # neither Telegram nor web
    ],
)
async def test_a_sender_who_is_no_resident_of_ours_files_nothing(
    deps: ActionDeps,
    rasa_domain: dict[str, Any],
    db: Database,
    sender: str,
    person: dict[str, Any] | None,
) -> None:
    if person is not None:
        with db.unit_of_work() as uow:
            p = Person(**{"role": Role.RESIDENT, **person})
            uow.session.add(p)
            uow.session.flush()
            sender = sender.format(id=p.id)
            uow.commit()
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport(deps).run(
        dispatcher, tracker("/affirm", "affirm", slots=FORM_DONE, sender=sender), rasa_domain
    )
    assert events == [UserUtteranceReverted()]
    assert said(dispatcher) == ["utter_telegram_only"]
    with db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 0


async def test_when_the_database_is_down_the_turn_is_reverted_for_a_retry(
    rasa_domain: dict[str, Any], domain: Domain
) -> None:
    down = ActionDeps(
        Database(
            "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
        ),
        domain,
    )
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitReport(down).run(
        dispatcher, tracker("/affirm", "affirm", slots=FORM_DONE), rasa_domain
    )
    assert events == [UserUtteranceReverted()]
    assert dispatcher.messages[0]["custom"] == {"minwei": {"retry_later": True}}
    down.db.dispose()


async def test_cancel_drops_the_report(rasa_domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCancelReport().run(
        dispatcher, tracker("/cancel", "cancel", slots=FORM_DONE), rasa_domain
    )
    assert said(dispatcher) == ["utter_cancelled"]
    assert SlotSet("demand_text", None) in events
    assert ActiveLoop(None) in events
