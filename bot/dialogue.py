"""The bridge to the Rasa dialogue: one resident turn in, the bot's messages out (into the outbox).

The sender id is ``tg:<telegram user id>``; the metadata carries the chat and message ids (the action that
files the ticket links it to the resident's message) and, for photos and shared locations, what Telegram
sent. Rasa buttons become inline buttons whose callback data is the payload (``r/affirm``); custom
payloads ``{"minwei": {...}}`` from our actions carry keyboards, ticket codes and "retry later".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.deps import Deps
from bot.errors import TryLater
from bot.rasa import action_server_up, to_outgoing
from tickets import messages, queues
from tickets.queues import Outgoing
from tickets.usecases.people import Speaker

log = logging.getLogger(__name__)

#: Intents the bot sends on its own (Rasa's "/intent" syntax bypasses the NLU).
PHOTO = "/photo"
SHARE_LOCATION = "/share_location"
CANCEL = "/cancel"


@dataclass(frozen=True)
class Turn:
    """One resident message for Rasa."""

    update_id: int
    chat_id: int
    message_id: int
    user_id: int
    name: str
    username: str | None
    text: str
    photo: str | None = None
    location: dict[str, float] | None = None

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "telegram": {
                "chat_id": self.chat_id,
                "message_id": self.message_id,
                "update_id": self.update_id,
                "user_id": self.user_id,
                "name": self.name,
                "username": self.username,
            }
        }
        if self.photo:
            meta["photo"] = self.photo
        if self.location:
            meta["location"] = self.location
        return meta


async def converse(deps: Deps, turn: Turn) -> None:
    """Send the turn to Rasa and queue its replies (keyed by update id: queued once however often the
    update is processed). Raises RasaUnavailable / TryLater when the turn must wait."""
    replies = await deps.rasa.send(
        sender=Speaker(telegram_user_id=turn.user_id).sender,
        text=turn.text,
        metadata=turn.metadata(),
    )
    outgoing, retry = to_outgoing(replies)
    if retry:
        raise TryLater("动作服务器暂时无法处理，稍后重试")
    if not outgoing:
        if not await action_server_up(deps.settings.action_server_port):
            raise TryLater("动作服务器无法连接")
        outgoing = [Outgoing(messages.NOT_UNDERSTOOD)]
    await deps.write(
        queues.queue_messages, chat_id=turn.chat_id, messages=outgoing, key=f"u{turn.update_id}"
    )
