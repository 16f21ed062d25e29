"""The resident's report: every turn read into the report, the form for what is missing, the filing.

```
 report ──► action_start_report ──urgent──► filed at once ──no place──► followup_form (where exactly?)
                  │
                  └──► report_form: location? ─► confirmed? ─► photo? ─► contact_allowed? ─► action_submit_report
                          ▲   (any turn that makes the report urgent files it at once)  │  ▲
                          └────────── more story, a place, a correction ───────────────┘  └ 不对，是5栋
```
Each turn is read once (``nlu.conversation.read_turn``) and kept in the ``report_turns`` slot; the
report's category and urgency are decided over all of them (``verdict``), with the joined story
classified again. The form's slots are filled from the resident's words (``from_text`` in domain.yml);
the ``validate_`` methods below decide what each answer means. After a filing, what the resident says
goes on that ticket (``actions.followup``).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import followup, texts, urgent
from actions.deps import ActionDeps, UsesDeps
from actions.story import FOLLOWUP_SLOTS, coordinates_of, look_back, place_of_pin, turns_of
from actions.tracker import (
    channel,
    intent,
    is_command,
    locations,
    metadata,
    nlu,
    speaker,
    text,
)
from nlu import corrections
from nlu.conversation import (
    NonAnswer,
    Role,
    Turn,
    asks_about_earlier,
    means_cancel,
    non_answer,
    read_turn,
    story_text,
    verdict,
)
from nlu.place_text import merge_place
from tickets import messages
from tickets.errors import NotFound, StoreUnavailable
from tickets.messages import when
from tickets.usecases import residents
from tickets.usecases.reports import Filed, Report, file_report

log = logging.getLogger(__name__)

#: The slots of one report, cleared when it is filed or cancelled (``report_turns`` stays until the next
#: report: the follow-up after an urgent filing looks back at it).
REPORT_SLOTS = (
    "demand_text",
    "demand_summary",
    "category",
    "category_name",
    "category_fixed",
    "nlu",
    "urgent",
    "location",
    "pin",
    "place_asks",
    "confirmed",
    "correcting",
    "photo",
    "contact_allowed",
    "report_chat_id",
    "report_message_id",
)
NO_PHOTO = "none"
#: The place of a report whose resident could not say where (filed without one).
NO_PLACE = "未提供具体位置"
#: How often the form asks where before filing without a place.
MAX_PLACE_ASKS = 3
SMALL_TALK = {"greet", "goodbye", "thank", "chitchat", "notice"}
#: Turns before a report that may belong to it ("厨房个煤气管有啲问题" read as a notice, then the smell).
CONTEXT_INTENTS = {"chitchat", "notice", "inform", "ask_info", "report"}
#: Actions after which earlier turns no longer belong to the next report.
REPORT_BOUNDARIES = {
    "action_start_report",
    "action_submit_report",
    "action_cancel_report",
    "action_followup_done",
    "action_ticket_status",
    "action_session_start",
}
#: How far back (seconds) and how many turns before a report may belong to it.
CONTEXT_SECONDS = 600
CONTEXT_TURNS = 3
PHONE = re.compile(r"\d[\d\s-]{6,}\d")


def cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in REPORT_SLOTS]


def summary(story: str, old_place: str | None = None, new_place: str | None = None) -> str:
    """The confirmation's one-line summary of the story, showing a corrected place for the old one."""
    if old_place and new_place and old_place in story:
        story = story.replace(old_place, new_place)
    return messages.summary(story)


@dataclass
class Step:
    """One resident turn read into the report: the turn, all turns, and the slots that change."""

    turn: Turn
    turns: list[Turn]
    slots: dict[str, Any] = field(default_factory=dict)


def context_turns(deps: ActionDeps, tracker: Tracker) -> list[Turn]:
    """What the resident said just before the report that may be part of it: recent turns the NLU
    did not take as a report (a vague first line, a detail, an address), since the last report."""
    found: list[Turn] = []
    users = 0
    now = time.time()
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "action" and event.get("name") in REPORT_BOUNDARIES:
            break
        if kind != "user":
            continue
        users += 1
        if users == 1:
            continue  # the report itself
        stamp = event.get("timestamp")
        if isinstance(stamp, int | float) and now - stamp > CONTEXT_SECONDS:
            break
        parse = event.get("parse_data") or {}
        said = str(event.get("text") or "").strip()
        name = str((parse.get("intent") or {}).get("name") or "")
        if not said or is_command(said) or name not in CONTEXT_INTENTS:
            continue
        minwei = parse.get("minwei")
        turn = read_turn(said, minwei if isinstance(minwei, dict) else {}, words=deps.place_words)
        if turn.role in (Role.STORY, Role.PLACE):
            found.insert(0, turn)
        if len(found) >= CONTEXT_TURNS:
            break
    return found


async def read_step(
    deps: ActionDeps, tracker: Tracker, *, first: bool = False, asked_where: bool = False
) -> Step:
    """Read the latest turn into the report (the ``first`` one of a new report, or one more of the
    report being told): keep it, decide category and urgency over all its turns."""
    words, result = text(tracker), nlu(tracker)
    if is_command(words):
        turn = Turn(text=words, role=Role.ACK)
    else:
        turn = read_turn(words, result, words=deps.place_words, asked_where=asked_where)
    turns = [*context_turns(deps, tracker), turn] if first else [*turns_of(tracker), turn]
    stories = [t for t in turns if t.role in (Role.STORY, Role.CORRECTION)]
    story = await deps.classify_story(story_text(turns)) if len(stories) >= 2 else None
    decided = verdict(turns, story)
    taxonomy = deps.domain.taxonomy
    slots: dict[str, Any] = {
        "report_turns": [t.as_dict() for t in turns],
        "urgent": decided.urgent,
    }
    if (first or not tracker.get_slot("category_fixed")) and decided.category in taxonomy:
        slots["category"] = decided.category
        slots["category_name"] = taxonomy.name(decided.category)
    said = "\n".join(t.text for t in turns if t.role is not Role.ACK and t.text)
    if said:
        slots["demand_text"] = said
    story_words = story_text(turns)
    if story_words:
        slots["demand_summary"] = summary(story_words, None, None)
    if metadata(tracker).get("photo"):
        slots["photo"] = metadata(tracker)["photo"]
    return Step(turn, turns, slots)


class ActionStartReport(UsesDeps, Action):
    """Take in a reported problem: remember what the NLU understood; file urgent ones at once. Within
    the follow-up window of a filing, a turn that goes on with the same report is added to it."""

    def name(self) -> str:
        return "action_start_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = text(tracker)
        who = speaker(tracker)
        if asks_about_earlier(words) and who is not None and await self._has_tickets(who):
            return [FollowupAction("action_ticket_status")]  # "我报嘅路灯整好未" read as a report
        if followup.active(tracker):
            turn = read_turn(words, nlu(tracker), words=self.deps.place_words, asked_where=True)
            if followup.continues(tracker, turn):
                return await followup.add_turn(self.deps, dispatcher, tracker, turn)
        origin = channel(tracker)
        pending_photo = tracker.get_slot("photo") if not tracker.get_slot("demand_text") else None
        step = await read_step(self.deps, tracker, first=True)
        taxonomy = self.deps.domain.taxonomy
        category = step.slots.get("category") or "other"
        place = "、".join(step.turn.places) or look_back(
            self.deps, step.turns[:-1], only_found=True
        )
        slots: dict[str, Any] = {
            **{s: None for s in REPORT_SLOTS},
            **{s: None for s in FOLLOWUP_SLOTS},
            **step.slots,
            "demand_text": step.slots.get("demand_text") or words,
            "demand_summary": step.slots.get("demand_summary") or messages.summary(words),
            "category": category,
            "category_name": taxonomy.name(category),
            "nlu": {k: v for k, v in nlu(tracker).items() if k != "pii"},
            "location": place,
            "correcting": False,
            "place_asks": 0,
            "photo": metadata(tracker).get("photo") or pending_photo,
            "report_chat_id": origin.get("chat_id"),
            "report_message_id": origin.get("message_id"),
        }
        if not slots["urgent"]:
            return [*(SlotSet(k, v) for k, v in slots.items()), FollowupAction("report_form")]
        filed = await file_from(self.deps, tracker, slots, dispatcher)
        if filed is None:
            return [UserUtteranceReverted()]
        return after_filing(self.deps, filed, slots)

    async def _has_tickets(self, who: Any) -> bool:
        try:
            return bool(await self.deps.read(residents.has_tickets, speaker=who))
        except (StoreUnavailable, NotFound):
            return False


def after_filing(deps: ActionDeps, filed: Filed, slots: dict[str, Any]) -> list[EventType]:
    """Clear the report and open the follow-up window (an urgent report without a place: ask where)."""
    events: list[EventType] = [
        *cleared(),
        SlotSet("report_turns", slots.get("report_turns")),
        SlotSet("ticket_code", filed.code),
        SlotSet("followup_code", filed.code),
        SlotSet("followup_until", time.time() + 60 * deps.domain.settings.report_followup_minutes),
        SlotSet("followup_category", slots.get("category")),
        SlotSet("followup_urgent", filed.urgent),
        SlotSet("followup_asks", 0),
        SlotSet("followup_place", None),
    ]
    if filed.urgent and not filed.location:
        events.append(FollowupAction("followup_form"))
    return events


async def file_from(
    deps: Any, tracker: Tracker, slots: dict[str, Any], dispatcher: CollectingDispatcher
) -> Filed | None:
    """File the report in ``slots`` as the speaker's (``private`` from Telegram, ``web`` from the
    console's chat) and tell the resident; None (and "retry later") when the database is down: the
    caller reverts the turn so the bot can send it again."""
    who = speaker(tracker)
    if who is None:
        dispatcher.utter_message(response="utter_telegram_only")
        return None
    photo = slots.get("photo")
    location = slots.get("location")
    report = Report(
        speaker=who,
        text=str(slots["demand_text"]),
        nlu=dict(slots.get("nlu") or {}),
        category=str(slots["category"]),
        urgent=bool(slots.get("urgent")),
        location=location if location and location != NO_PLACE else None,
        chat_id=_int(slots.get("report_chat_id")),
        message_id=_int(slots.get("report_message_id")),
        contact_allowed=slots.get("contact_allowed"),
        photo=photo if photo and photo != NO_PHOTO else None,
        coordinates=coordinates_of(slots.get("pin")),
    )
    try:
        filed: Filed = await deps.write(file_report, deps.domain, report)
    except StoreUnavailable as e:
        log.warning("filing for %s postponed: %s", who.sender, e)
        dispatcher.utter_message(json_message={"minwei": {"retry_later": True}})
        return None
    except (
        NotFound
    ) as e:  # a web sender that is no web resident (tickets.usecases.people.web_resident)
        log.warning("not filed for %s: %s", who.sender, e)
        dispatcher.utter_message(response="utter_telegram_only")
        return None
    tz = deps.domain.settings.timezone
    if filed.urgent:
        message = texts.filed_urgent(
            filed.code, filed.category_name, urgent.advice_for(report.text)
        )
    else:
        message = texts.filed(
            filed.code,
            filed.category_name,
            when(filed.due_at, tz),
            report.contact_allowed,
            on_telegram=who.on_telegram,
        )
        if report.location is None:
            message += "\n" + texts.NO_PLACE_FILED
    dispatcher.utter_message(
        json_message={"minwei": {"text": message, "ticket_code": filed.code, "kind": "filed"}}
    )
    return filed


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


class ValidateReportForm(UsesDeps, FormValidationAction):
    """Interpret each answer of the report form (the slots are filled from the resident's words).

    Every answer is also read into the report: more story may change the category, a place or a
    correction changes the place, and a turn that makes the report urgent files it at once."""

    def name(self) -> str:
        return "validate_report_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("urgent"):
            return []  # urgent now: nothing more is asked before filing
        return domain_slots

    @staticmethod
    def _prefilled(tracker: Tracker, slot: str) -> bool:
        """Whether the form is validating a value set before it asked (on activation): the latest
        message then is the report's first turn, already read."""
        return tracker.get_slot("requested_slot") != slot

    @staticmethod
    def _before_asking(tracker: Tracker, slot: str, value: Any) -> dict[str, Any]:
        """The slot's value when the form starts: what the report's first turn gave, not that turn's
        words (Rasa's ``from_text`` mapping copies them into the first slot on activation)."""
        if value != text(tracker):
            return {slot: value}
        if slot == "location":
            first = turns_of(tracker)[:1]
            return {slot: ("、".join(first[0].places) or None) if first else None}
        return {slot: None}

    def _fix(self, step: Step, tracker: Tracker, *, asked_where: bool = False) -> dict[str, Any]:
        """What a correction or a place in this turn changes (place and/or category). When the
        turn answers "where?" there is no place yet (the slot holds the answer's words)."""
        turn, slots = step.turn, dict[str, Any]()
        current = None if asked_where else tracker.get_slot("location")
        current = None if current == NO_PLACE else current
        if turn.role is Role.CORRECTION:
            taxonomy = self.deps.domain.taxonomy
            fix = corrections.correct(
                turn.text,
                current_location=current,
                current_category=tracker.get_slot("category"),
                spans=locations(tracker),
                nlu=nlu(tracker),
                keywords={c.code: c.keywords for c in taxonomy.categories},
            )
            if fix.location is not None:
                slots["location"] = fix.location
            if fix.category is not None and fix.category in taxonomy:
                slots.update(
                    category=fix.category,
                    category_name=taxonomy.name(fix.category),
                    category_fixed=True,
                )
        elif turn.places and turn.role in (Role.PLACE, Role.STORY):
            place = current
            for found in turn.places:
                place = merge_place(place, found)
            # More about the problem that mentions somewhere else ("车库里都冇信号") adds detail to
            # the place given, never replaces it; a reply that is only a place may.
            if turn.role is Role.PLACE or not current or (place and current in place):
                slots["location"] = place
        if "location" in slots and tracker.get_slot("demand_summary"):
            slots["demand_summary"] = summary(
                str(step.slots.get("demand_summary") or tracker.get_slot("demand_summary")),
                current,
                slots["location"],
            )
        return slots

    async def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the place from a pin, the NLU's places, a place the answer names by its form, or the
        earlier turns (刚才讲了); otherwise ask again, and file without a place after a few tries or
        when the resident cannot say."""
        if self._prefilled(tracker, "location"):
            return self._before_asking(tracker, "location", value)
        step = await read_step(self.deps, tracker, asked_where=True)
        slots = {**step.slots, **self._fix(step, tracker, asked_where=True)}
        pin = metadata(tracker).get("location")
        asks = int(tracker.get_slot("place_asks") or 0) + 1
        if isinstance(pin, dict):
            return {**slots, "location": place_of_pin(pin), "pin": pin}
        if slots.get("location"):
            return slots
        kind = non_answer(step.turn.text) if step.turn.role is Role.NON_ANSWER else None
        if kind is NonAnswer.UNKNOWN:
            return {**slots, "location": NO_PLACE}
        if kind is not None or asks >= MAX_PLACE_ASKS:
            earlier = look_back(self.deps, step.turns[:-1])
            if earlier is not None:
                dispatcher.utter_message(text=texts.place_looked_back(earlier))
                return {**slots, "location": earlier}
            if asks >= MAX_PLACE_ASKS or kind is NonAnswer.REFUSED:
                return {**slots, "location": NO_PLACE}
        if step.turn.role is Role.STORY and not step.turn.places:
            found = self.deps.place_words.scan(step.turn.text)
            if found:
                return {**slots, "location": "、".join(found)}
        return {**slots, "location": None, "place_asks": asks}

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """对 confirms; a correction changes the place or category and asks again; 不对 alone asks
        what is wrong; anything else the resident adds is read into the report and asked again."""
        if self._prefilled(tracker, "confirmed"):
            return self._before_asking(tracker, "confirmed", value)
        said = intent(tracker)
        if said == "affirm" and not locations(tracker):
            return {"confirmed": True, "correcting": False}
        step = await read_step(self.deps, tracker)
        fix = self._fix(step, tracker)
        slots = {**step.slots, **fix, "confirmed": None}
        if step.turn.role is Role.ACK or said in SMALL_TALK:
            return {**slots, "correcting": said == "deny"}
        if said == "deny" and not fix and len(step.turn.text) <= 6:
            return {**slots, "correcting": True}
        return {**slots, "correcting": False}

    async def validate_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A photo is kept; 跳过 (or any other answer) goes on without one; words are read into the
        report (a late correction still changes the place)."""
        if self._prefilled(tracker, "photo"):
            return self._before_asking(tracker, "photo", value)
        photo = metadata(tracker).get("photo")
        if photo:
            return {"photo": photo}
        if is_command(text(tracker)):
            return {"photo": NO_PHOTO}
        step = await read_step(self.deps, tracker)
        return {**step.slots, **self._fix(step, tracker), "photo": NO_PHOTO}

    async def validate_contact_allowed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """可以 → yes, 不用 → no; a phone number given is a yes (kept, redacted for most staff);
        anything else is read into the report and asked again."""
        if self._prefilled(tracker, "contact_allowed"):
            return self._before_asking(tracker, "contact_allowed", value)
        said, words = intent(tracker), text(tracker)
        if PHONE.search(words):
            step = await read_step(self.deps, tracker)
            return {**step.slots, "contact_allowed": True}
        if said == "affirm":
            return {"contact_allowed": True}
        if said == "deny":
            return {"contact_allowed": False}
        if is_command(words):
            return {"contact_allowed": None}
        step = await read_step(self.deps, tracker)
        return {**step.slots, **self._fix(step, tracker), "contact_allowed": None}


class ActionAskLocation(UsesDeps, Action):
    """Ask where, saying what was understood so far."""

    def name(self) -> str:
        return "action_ask_location"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=texts.ask_place(
                str(tracker.get_slot("demand_summary") or ""),
                str(tracker.get_slot("category_name") or ""),
                int(tracker.get_slot("place_asks") or 0),
            )
        )
        return []


class ActionAskConfirmed(Action):
    """Ask the resident to confirm the summary, or, after a bare 不对, what is wrong."""

    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("correcting"):
            dispatcher.utter_message(response="utter_ask_correction")
        else:
            dispatcher.utter_message(response="utter_ask_confirmed")
        return []


class ActionSubmitReport(UsesDeps, Action):
    """File the report and reply with its code and time limit."""

    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = {name: tracker.get_slot(name) for name in (*REPORT_SLOTS, "report_turns")}
        if not slots.get("demand_text"):
            return cleared()
        filed = await file_from(self.deps, tracker, slots, dispatcher)
        if filed is None:
            return [UserUtteranceReverted()]
        return after_filing(self.deps, filed, slots)


class ActionCancelReport(Action):
    """Drop the report being filled in, when the resident really said so; otherwise ask again."""

    def name(self) -> str:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not means_cancel(text(tracker)):
            return [FollowupAction("report_form")]
        dispatcher.utter_message(response="utter_cancelled")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *cleared(),
            SlotSet("report_turns", None),
        ]
