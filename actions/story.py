"""What the report's actions and the follow-up's share: the report's turns kept in the tracker, a
shared location as a place, and looking back for a place said earlier."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.deps import ActionDeps
from nlu.conversation import Turn
from tickets import messages

#: The slots of the follow-up after a filing (actions.followup).
FOLLOWUP_SLOTS = (
    "followup_code",
    "followup_until",
    "followup_category",
    "followup_urgent",
    "followup_asks",
    "followup_place",
)


def turns_of(tracker: Tracker) -> list[Turn]:
    return [
        Turn.from_dict(t) for t in tracker.get_slot("report_turns") or () if isinstance(t, dict)
    ]


def place_of_pin(pin: dict[str, Any]) -> str:
    return messages.shared_location(
        float(pin["latitude"]), float(pin["longitude"]), str(pin.get("title") or "").strip()
    )


def coordinates_of(pin: Any) -> tuple[float, float] | None:
    if isinstance(pin, dict) and "latitude" in pin and "longitude" in pin:
        return float(pin["latitude"]), float(pin["longitude"])
    return None


def look_back(deps: ActionDeps, turns: list[Turn], *, only_found: bool = False) -> str | None:
    """The place the resident gave in an earlier turn (当他们说“刚才讲了”): the NLU's places, else
    (unless ``only_found``) places named by their form in the story."""
    for turn in reversed(turns):
        if turn.places:
            return "、".join(turn.places)
    if only_found:
        return None
    for turn in reversed(turns):
        found = deps.place_words.scan(turn.text)
        if found:
            return "、".join(found)
    return None
