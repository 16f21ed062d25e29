"""Reading what Rasa tells the actions: who is talking, what the NLU said, what the channel sent."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from tickets.usecases.people import Speaker

#: Where the latest message came from, by the key its channel puts in the metadata: the bot sends
#: ``{"telegram": {...}}``, the console's 试一试 chat ``{"web": {...}}`` (console.tryout).
CHANNELS = ("telegram", "web")


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def channel(tracker: Tracker) -> dict[str, Any]:
    """Chat id, message id and the speaker's name of the latest message, as its channel sent them."""
    meta = metadata(tracker)
    for key in CHANNELS:
        found = meta.get(key)
        if isinstance(found, dict):
            return found
    return {}


def speaker(tracker: Tracker) -> Speaker | None:
    """Who is talking (sender ``tg:<user id>`` or ``web:<person id>``); None for any other sender."""
    meta = channel(tracker)
    username = meta.get("username")
    return Speaker.from_sender(
        tracker.sender_id or "",
        name=str(meta.get("name") or ""),
        username=username if isinstance(username, str) else None,
    )


def intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "").strip()


def nlu(tracker: Tracker) -> dict[str, Any]:
    """The NLU's ``minwei`` result for the latest message (empty when the model has none)."""
    result = tracker.latest_message.get("minwei")
    return dict(result) if isinstance(result, dict) else {}


def locations(tracker: Tracker) -> list[dict[str, Any]]:
    """Location spans of the latest message: the NLU's ``minwei.locations``, else its entities."""
    found = nlu(tracker).get("locations")
    if isinstance(found, list) and found:
        return [loc for loc in found if isinstance(loc, dict) and loc.get("text")]
    return [
        {"text": e.get("value"), "start": e.get("start"), "end": e.get("end")}
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "location" and e.get("value")
    ]


def is_command(message: str) -> bool:
    """Messages like ``/photo`` or ``/affirm`` that the bot (or a button) sent, not the resident's words."""
    return message.startswith("/")
