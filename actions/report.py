"""The resident's report: start it from what the NLU understood, fill the form, file the ticket.

```
 report ──► action_start_report ──urgent──► filed at once, advice for now
                  │
                  └──► report_form: location? ─► confirmed? ─► photo? ─► contact_allowed? ─► action_submit_report
                                                   │  ▲
                                  不对，是5栋不是3栋 └──┘ (corrected, asked again)
```
The form's slots are filled from the resident's words (``from_text`` in domain.yml); the ``validate_``
methods below interpret them with the NLU's entities, the metadata the bot sent (photos, shared
locations) and the correction rules of ``actions.corrections``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import corrections, urgent
from actions.deps import UsesDeps
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
from bot import texts
from bot.services.reports import Filed, Report, file_report
from tickets.errors import NotFound, StoreUnavailable
from tickets.messages import when

log = logging.getLogger(__name__)

#: The slots of one report, cleared when it is filed or cancelled.
REPORT_SLOTS = (
    "demand_text",
    "demand_summary",
    "category",
    "category_name",
    "nlu",
    "urgent",
    "location",
    "confirmed",
    "correcting",
    "photo",
    "contact_allowed",
    "report_chat_id",
    "report_message_id",
)
NO_PHOTO = "none"
SMALL_TALK = {"greet", "goodbye", "thank", "chitchat", "notice"}
PHONE = re.compile(r"\d[\d\s-]{6,}\d")


def cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in REPORT_SLOTS]


def place_of_shared_location(place: dict[str, Any]) -> str:
    return texts.shared_location(
        float(place["latitude"]), float(place["longitude"]), str(place.get("title") or "").strip()
    )


def summary(demand_text: str, old_place: str | None, new_place: str | None) -> str:
    """The confirmation's one-line summary, showing a corrected place in place of the old one."""
    first_line = demand_text.split(texts.CORRECTION_MARK)[0]
    if old_place and new_place and old_place in first_line:
        first_line = first_line.replace(old_place, new_place)
    elif new_place and new_place not in first_line:
        # An earlier correction already changed the place: swap the building number said first.
        numbers = list(corrections.PLACE.finditer(first_line))
        new_numbers = list(corrections.PLACE.finditer(new_place))
        if numbers and new_numbers and numbers[0].group(0)[-1] == new_numbers[-1].group(0)[-1]:
            first = numbers[0]
            first_line = first_line[: first.start()] + new_place + first_line[first.end() :]
    return texts.summary(first_line)


class ActionStartReport(UsesDeps, Action):
    """Take in a reported problem: remember what the NLU understood; file urgent ones at once."""

    def name(self) -> str:
        return "action_start_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        result = nlu(tracker)
        words = text(tracker)
        taxonomy = self.deps.domain.taxonomy
        category = result.get("category") if result.get("category") in taxonomy else "other"
        spans = locations(tracker)
        place = "、".join(dict.fromkeys(str(s["text"]) for s in spans)) or None
        origin = channel(tracker)
        slots: dict[str, Any] = {
            "demand_text": words,
            "demand_summary": texts.summary(words),
            "category": category,
            "category_name": taxonomy.name(category),
            "nlu": {k: v for k, v in result.items() if k != "pii"},
            "urgent": bool(result.get("urgent")),
            "location": place,
            "confirmed": None,
            "correcting": False,
            "photo": metadata(tracker).get("photo") or tracker.get_slot("photo"),
            "contact_allowed": None,
            "report_chat_id": origin.get("chat_id"),
            "report_message_id": origin.get("message_id"),
        }
        if not slots["urgent"]:
            return [*(SlotSet(k, v) for k, v in slots.items()), FollowupAction("report_form")]
        filed = await file_from(self.deps, tracker, slots, dispatcher)
        if filed is None:
            return [UserUtteranceReverted()]
        return [*cleared(), SlotSet("ticket_code", filed.code)]


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
    report = Report(
        speaker=who,
        text=str(slots["demand_text"]),
        nlu=dict(slots.get("nlu") or {}),
        category=str(slots["category"]),
        urgent=bool(slots.get("urgent")),
        location=slots.get("location"),
        chat_id=_int(slots.get("report_chat_id")),
        message_id=_int(slots.get("report_message_id")),
        contact_allowed=slots.get("contact_allowed"),
        photo=photo if photo and photo != NO_PHOTO else None,
    )
    try:
        filed: Filed = await deps.write(file_report, deps.domain, report)
    except StoreUnavailable as e:
        log.warning("filing for %s postponed: %s", who.sender, e)
        dispatcher.utter_message(json_message={"minwei": {"retry_later": True}})
        return None
    except NotFound as e:  # a web sender that is no web resident (bot.services.people.web_resident)
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
    dispatcher.utter_message(
        json_message={"minwei": {"text": message, "ticket_code": filed.code, "kind": "filed"}}
    )
    return filed


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


class ValidateReportForm(UsesDeps, FormValidationAction):
    """Interpret each answer of the report form (the slots are filled from the resident's words)."""

    def name(self) -> str:
        return "validate_report_form"

    def _more(self, tracker: Tracker, words: str) -> str:
        """The report's text with the resident's further words, kept for staff."""
        return f"{tracker.get_slot('demand_text') or ''}{texts.CORRECTION_MARK}{words}".strip()

    def validate_location(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the place from the NLU's spans, a shared location, or the resident's own words."""
        meta, words = metadata(tracker), text(tracker)
        found: dict[str, Any] = {"photo": meta["photo"]} if meta.get("photo") else {}
        if meta.get("location"):
            return {**found, "location": place_of_shared_location(meta["location"])}
        spans = locations(tracker)
        if spans:
            return {**found, "location": "、".join(dict.fromkeys(str(s["text"]) for s in spans))}
        if not words or is_command(words):
            return {**found, "location": None}
        if intent(tracker) == "report":  # more about the problem, not the place: keep it, ask again
            return {**found, "location": None, "demand_text": self._more(tracker, words)}
        return {**found, "location": corrections.clean_place(words)[:100]}

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """对 confirms; a correction changes the place or category and asks again; 不对 alone asks
        what is wrong; anything else the resident adds is kept for staff and asked again."""
        said, words = intent(tracker), text(tracker)
        if said == "affirm":
            return {"confirmed": True, "correcting": False}
        found: dict[str, Any] = {}
        if metadata(tracker).get("photo"):
            found["photo"] = metadata(tracker)["photo"]
        if not words or is_command(words) or said in SMALL_TALK:
            return {**found, "confirmed": None, "correcting": said == "deny"}
        taxonomy = self.deps.domain.taxonomy
        old_place = tracker.get_slot("location")
        fix = corrections.correct(
            words,
            current_location=old_place,
            current_category=tracker.get_slot("category"),
            spans=locations(tracker),
            nlu=nlu(tracker),
            keywords={c.code: c.keywords for c in taxonomy.categories},
        )
        if not fix.found and said == "deny" and len(words) <= 6:
            return {**found, "confirmed": None, "correcting": True}
        slots: dict[str, Any] = {
            **found,
            "confirmed": None,
            "correcting": False,
            "demand_text": self._more(tracker, words),
        }
        if fix.location is not None:
            slots["location"] = fix.location
            slots["demand_summary"] = summary(
                str(tracker.get_slot("demand_text") or ""), old_place, fix.location
            )
        if fix.category is not None and fix.category in taxonomy:
            slots["category"] = fix.category
            slots["category_name"] = taxonomy.name(fix.category)
        return slots

    def validate_photo(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A photo is kept; 跳过 (or any other answer) goes on without one."""
        photo = metadata(tracker).get("photo")
        if photo:
            return {"photo": photo}
        words = text(tracker)
        if intent(tracker) in ("report", "inform") and not is_command(words) and len(words) > 4:
            return {"photo": NO_PHOTO, "demand_text": self._more(tracker, words)}
        return {"photo": NO_PHOTO}

    def validate_contact_allowed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """可以 → yes, 不用 → no; a phone number given is a yes (kept, redacted for most staff)."""
        said, words = intent(tracker), text(tracker)
        if PHONE.search(words):
            return {"contact_allowed": True, "demand_text": self._more(tracker, words)}
        if said == "affirm":
            return {"contact_allowed": True}
        if said == "deny":
            return {"contact_allowed": False}
        return {"contact_allowed": None}


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
    """File the confirmed report and reply with its code and time limit."""

    def name(self) -> str:
        return "action_submit_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = {name: tracker.get_slot(name) for name in REPORT_SLOTS}
        if not slots.get("demand_text"):
            return cleared()
        filed = await file_from(self.deps, tracker, slots, dispatcher)
        if filed is None:
            return [UserUtteranceReverted()]
        return [*cleared(), SlotSet("ticket_code", filed.code)]


class ActionCancelReport(Action):
    """Drop the report being filled in."""

    def name(self) -> str:
        return "action_cancel_report"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *cleared()]


class ActionKeepPhoto(Action):
    """A photo outside a report: keep it for the report that follows."""

    def name(self) -> str:
        return "action_keep_photo"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_photo_outside")
        photo = metadata(tracker).get("photo")
        return [SlotSet("photo", photo)] if photo else []
