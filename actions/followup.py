"""After a filing: the conversation goes on with the ticket just filed.

An urgent report is filed at once; when it has no place yet, ``followup_form`` asks where exactly until
the resident gives a place or a pin, or says they cannot (then staff are left to call). For a while
after any filing (``REPORT_FOLLOWUP_MINUTES``, renewed by every turn added) what the resident says goes
on that ticket unless it starts a new report: a place updates the ticket's place, area and routing and
the staff card (with a line to the duty chat for an urgent ticket); anything else is added as the
resident's information and shown on the card. Every change is an audit event (``tickets.services``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import texts
from actions.deps import ActionDeps, UsesDeps
from actions.story import (
    FOLLOWUP_SLOTS,
    coordinates_of,
    look_back,
    place_of_pin,
    turns_of,
)
from actions.tracker import intent, locations, metadata, nlu, speaker, text
from nlu import corrections
from nlu.conversation import (
    NonAnswer,
    Role,
    Turn,
    Verdict,
    non_answer,
    read_turn,
    starts_new_report,
    story_text,
    verdict,
)
from tickets import messages
from tickets.errors import InvalidInput, NotFound, StoreUnavailable
from tickets.usecases.reports import Added, add_to_report

log = logging.getLogger(__name__)

#: How often the follow-up asks where before leaving it to staff.
MAX_ASKS = 3
#: followup_place values that end the form without a place.
NEW_REPORT = "__new_report__"
NO_PLACE = "__no_place__"


def active(tracker: Tracker) -> bool:
    """Whether the last filing's follow-up window is still open."""
    until = tracker.get_slot("followup_until")
    return (
        bool(tracker.get_slot("followup_code"))
        and isinstance(until, int | float)
        and (time.time() < until)
    )


def continues(tracker: Tracker, turn: Turn) -> bool:
    """Whether ``turn`` goes on with the filed report rather than starting a new one (an urgent
    report's conversation needs a clearer sign of a new problem)."""
    strict = bool(tracker.get_slot("followup_urgent"))
    return not starts_new_report(turn, verdict(turns_of(tracker)), strict=strict)


async def retold(deps: ActionDeps, tracker: Tracker, turn: Turn) -> tuple[list[Turn], Verdict]:
    """The report's turns with ``turn``, and what they now say the report is."""
    turns = [*turns_of(tracker), turn]
    stories = [t for t in turns if t.role in (Role.STORY, Role.CORRECTION)]
    story = await deps.classify_story(story_text(turns)) if len(stories) >= 2 else None
    return turns, verdict(turns, story)


def ended() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FOLLOWUP_SLOTS]


def _place(deps: ActionDeps, turn: Turn, pin: Any, tracker: Tracker) -> tuple[str | None, bool]:
    """The place a turn after filing gives (and whether it replaces the ticket's place: a correction
    names the new place and negates the old one, 唔系鹤亭村，系鹤庆村)."""
    if isinstance(pin, dict):
        return place_of_pin(pin), False
    if turn.role is Role.CORRECTION:
        fix = corrections.correct(
            turn.text,
            current_location=None,
            current_category=None,
            spans=locations(tracker),
            nlu={},
            keywords={},
        )
        return fix.location, fix.location is not None
    if turn.places and turn.role in (Role.PLACE, Role.STORY):
        return "、".join(turn.places), False
    if turn.role is Role.STORY:
        found = deps.place_words.scan(turn.text)
        if found:
            return "、".join(found), False
    return None, False


async def add(
    deps: ActionDeps,
    tracker: Tracker,
    turn: Turn,
    *,
    place: str | None = None,
    replacing: bool = False,
    pin: Any = None,
) -> Added | None:
    """Put the turn on the filed ticket; None when that ticket can no longer take it (closed, gone).
    Raises StoreUnavailable when the database is down."""
    who = speaker(tracker)
    code = tracker.get_slot("followup_code")
    if who is None or not code:
        return None
    info = turn.text if turn.role in (Role.STORY, Role.CORRECTION, Role.RETRACTION) else ""
    if turn.role is Role.PLACE or (place and info.strip() == place):
        info = ""
    category = None
    if turn.role in (Role.STORY, Role.CORRECTION):
        _, now = await retold(deps, tracker, turn)
        if now.category and now.category != tracker.get_slot("followup_category"):
            category = now.category
    try:
        added: Added = await deps.write(
            add_to_report,
            deps.domain,
            speaker=who,
            code=str(code),
            text=info,
            place=place,
            replacing=replacing,
            detail_only=turn.role is Role.STORY,
            coordinates=coordinates_of(pin),
            photo=metadata(tracker).get("photo"),
            category=category,
        )
    except (NotFound, InvalidInput) as e:
        log.info("follow-up of %s ended: %s", code, e)
        return None
    return added


def renewed(
    deps: ActionDeps, tracker: Tracker, turn: Turn, added: Added | None = None
) -> list[EventType]:
    """The follow-up window renewed by ``turn``, which joins the report's turns."""
    turns = [*turns_of(tracker), turn]
    events: list[EventType] = [
        SlotSet("report_turns", [t.as_dict() for t in turns]),
        SlotSet("followup_until", time.time() + 60 * deps.domain.settings.report_followup_minutes),
    ]
    if added is not None and added.category:
        events.append(SlotSet("followup_category", added.category))
    return events


def reply(dispatcher: CollectingDispatcher, added: Added) -> None:
    if added.place:
        message = texts.place_added(added.code, added.place, added.urgent)
    else:
        message = messages.info_added(added.code)
    dispatcher.utter_message(json_message={"minwei": {"text": message, "ticket_code": added.code}})


async def add_turn(
    deps: ActionDeps, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn
) -> list[EventType]:
    """A turn within the follow-up window: onto the filed ticket (or a new report when it is gone)."""
    pin = metadata(tracker).get("location")
    place, replacing = _place(deps, turn, pin, tracker)
    try:
        added = await add(deps, tracker, turn, place=place, replacing=replacing, pin=pin)
    except StoreUnavailable:
        dispatcher.utter_message(json_message={"minwei": {"retry_later": True}})
        return [UserUtteranceReverted()]
    if added is None:  # closed or not theirs any more: this is a new report
        return [*ended(), FollowupAction("action_start_report")]
    reply(dispatcher, added)
    return renewed(deps, tracker, turn, added)


class ValidateFollowupForm(UsesDeps, FormValidationAction):
    """Where exactly, after an urgent filing: every answer goes on the ticket."""

    def name(self) -> str:
        return "validate_followup_form"

    async def validate_followup_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A place or pin ends the questions; 唔知 leaves it to staff; 刚才讲了 looks back; more
        about what happened is added and the question asked again; a new problem ends it too."""
        if tracker.get_slot("requested_slot") != "followup_place":
            return {"followup_place": None}  # activated right after the filing: nothing asked yet
        deps, pin = self.deps, metadata(tracker).get("location")
        turn = read_turn(text(tracker), nlu(tracker), words=deps.place_words, asked_where=True)
        asks = int(tracker.get_slot("followup_asks") or 0) + 1
        if not isinstance(pin, dict) and starts_new_report(
            turn, verdict(turns_of(tracker)), strict=True
        ):
            return {"followup_place": NEW_REPORT}
        place, replacing = _place(deps, turn, pin, tracker)
        kind = non_answer(turn.text) if turn.role is Role.NON_ANSWER else None
        if place is None and kind not in (None, NonAnswer.UNKNOWN):
            place = look_back(deps, turns_of(tracker))
        try:
            added = await add(deps, tracker, turn, place=place, replacing=replacing, pin=pin)
        except StoreUnavailable:
            # Asked again; what was said is in Rasa's tracker and the resident can repeat it.
            dispatcher.utter_message(text=messages.SORRY)
            return {"followup_place": None, "followup_asks": asks - 1}
        if added is None:
            return {"followup_place": NO_PLACE}
        events = {e["name"]: e["value"] for e in renewed(deps, tracker, turn, added)}
        if added.place:
            reply(dispatcher, added)
            return {**events, "followup_place": added.place, "followup_asks": asks}
        if kind is NonAnswer.UNKNOWN or asks >= MAX_ASKS:
            dispatcher.utter_message(text=texts.place_unknown(added.code))
            return {**events, "followup_place": NO_PLACE, "followup_asks": asks}
        if turn.role in (Role.STORY, Role.CORRECTION, Role.RETRACTION):
            reply(dispatcher, added)
        return {**events, "followup_place": None, "followup_asks": asks}


class ActionAskFollowupPlace(Action):
    """Ask where exactly the urgent problem is (worded differently each time)."""

    def name(self) -> str:
        return "action_ask_followup_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = str(tracker.get_slot("followup_code") or "")
        asks = int(tracker.get_slot("followup_asks") or 0)
        dispatcher.utter_message(text=texts.ask_urgent_place(code, asks))
        return []


class ActionFollowupDone(Action):
    """The where-question is over; a new problem the resident started is taken in now."""

    def name(self) -> str:
        return "action_followup_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("followup_place") == NEW_REPORT:
            return [*ended(), FollowupAction("action_start_report")]
        return [SlotSet("followup_place", None)]


class ActionStopFollowup(Action):
    """/cancel while asked where: stop asking (the urgent ticket stays filed)."""

    def name(self) -> str:
        return "action_stop_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        code = str(tracker.get_slot("followup_code") or "")
        dispatcher.utter_message(text=texts.place_unknown(code))
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("followup_place", None)]


class ActionOutOfContext(UsesDeps, Action):
    """Details, yes/no and chatter outside a form: on the filed ticket within its follow-up window,
    otherwise the usual short answer."""

    def name(self) -> str:
        return "action_out_of_context"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        said = intent(tracker)
        turn = read_turn(text(tracker), nlu(tracker), words=self.deps.place_words, asked_where=True)
        if active(tracker):
            plain_yes_no = said in ("affirm", "deny", "skip") and not turn.places
            if turn.role is Role.ACK or (plain_yes_no and turn.role is Role.STORY):
                dispatcher.utter_message(text=texts.FOLLOWUP_ACK)
                return []
            if turn.role is not Role.NON_ANSWER:
                return await add_turn(self.deps, dispatcher, tracker, turn)
        response = "utter_chitchat" if said == "chitchat" else "utter_what_problem"
        dispatcher.utter_message(response=response)
        return []


class ActionKeepPhoto(UsesDeps, Action):
    """A photo outside a report: onto the filed ticket within its follow-up window, otherwise kept
    for the report that follows."""

    def name(self) -> str:
        return "action_keep_photo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        photo = metadata(tracker).get("photo")
        if active(tracker) and photo:
            return await add_turn(self.deps, dispatcher, tracker, Turn(text="", role=Role.ACK))
        dispatcher.utter_message(response="utter_photo_outside")
        return [SlotSet("photo", photo)] if photo else []


class ActionSharedLocation(UsesDeps, Action):
    """A location pin outside a report: the filed ticket's place within its follow-up window."""

    def name(self) -> str:
        return "action_shared_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if active(tracker) and isinstance(metadata(tracker).get("location"), dict):
            return await add_turn(self.deps, dispatcher, tracker, Turn(text="", role=Role.PLACE))
        dispatcher.utter_message(response="utter_location_outside")
        return []
