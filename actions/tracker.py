"""Reading what Rasa tells the actions: who is talking, what the NLU said, what Telegram sent."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def telegram_user_id(tracker: Tracker) -> int | None:
    """The Telegram user behind the conversation (sender ids are ``tg:<user id>``)."""
    sender = tracker.sender_id or ""
    if sender.startswith("tg:") and sender[3:].lstrip("-").isdigit():
        return int(sender[3:])
    return None


def metadata(tracker: Tracker) -> dict[str, Any]:
    meta = tracker.latest_message.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def telegram(tracker: Tracker) -> dict[str, Any]:
    """Chat id, message id, update id and the user's name of the latest message (from the bot)."""
    tg = metadata(tracker).get("telegram") or {}
    return tg if isinstance(tg, dict) else {}


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
