"""Rasa 3.6 REST input channel that handles each Telegram update once (imported only by the Rasa
server, ``.venv-rasa``; named in ``credentials.yml``).

The bot sends every resident message to ``/webhooks/rest/webhook`` with the Telegram ``update_id`` in
its metadata. When the bot's request times out (Rasa busy, the machine loaded) or the bot worker dies
after Rasa answered, the update is sent again. Rasa's own REST channel would run the turn a second
time: a "可以" that confirmed and filed a report is read once more by a conversation that has moved
on, and a report told again restarts the form. Here the turn runs under the conversation's lock
(Rasa's lock store: in memory, or Redis with several Rasa servers), and when the tracker already
holds that update's user message (not reverted: a turn the action server asked to retry is reverted
and runs again), the answers it got are sent back instead of running the turn again.

A turn that fails (the lock store or the tracker store down) is answered 503, not with an empty list:
the bot then sends the update again later instead of taking the silence for "not understood".
Messages without an ``update_id`` (the console's web chat) are handled as Rasa's REST channel does.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


def turn_key(metadata: Any) -> int | None:
    """The Telegram update id the bot put in a message's metadata, if any."""
    if not isinstance(metadata, dict):
        return None
    telegram = metadata.get("telegram")
    update_id = telegram.get("update_id") if isinstance(telegram, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def earlier_answers(events: list[Any], key: int) -> list[dict[str, Any]] | None:
    """What the bot said after the (applied) user message of update ``key``, up to the next user
    message; None when that update was never handled."""
    answers: list[dict[str, Any]] | None = None
    for event in events:
        if isinstance(event, UserUttered):
            if answers is not None:
                break
            if turn_key(event.metadata) == key:
                answers = []
        elif answers is not None and isinstance(event, BotUttered):
            answers.append(event.message())
    return answers


class OnceRestInput(RestInput):
    """Rasa's REST channel (same name and URL), each Telegram update handled at most once."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Any) -> Blueprint:
        hook = Blueprint("minwei_rest_once", __name__)

        @hook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender = body.get("sender")
            metadata = body.get("metadata")
            collector = CollectingOutputChannel()
            message = UserMessage(
                body.get("message"),
                collector,
                sender,
                input_channel=self.name(),
                metadata=metadata,
            )
            key = turn_key(metadata)
            agent = request.app.ctx.agent
            if key is None or sender is None or not agent.is_ready():
                try:
                    await on_new_message(message)
                except Exception:  # as Rasa's REST channel: log, answer with what was collected
                    log.exception("turn of %s failed", sender)
                return response.json(collector.messages)
            try:
                await self._once(agent, message, key)
            except Exception as e:
                # The lock store (Redis) or the tracker store is down, or the turn broke half way:
                # not an answer. 503 makes the bot send the update again later, and the retry is
                # answered from the tracker if this turn got as far as recording it.
                log.warning("turn of %s (update %s) failed, the bot will retry: %r", sender, key, e)
                return response.json({"error": "turn not handled", "retry": True}, status=503)
            return response.json(collector.messages)

        return hook

    @staticmethod
    async def _once(agent: Any, message: UserMessage, key: int) -> None:
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.retrieve(message.sender_id)
            answers = earlier_answers(tracker.applied_events(), key) if tracker else None
            if answers is None:
                await agent.processor.handle_message(message)
                return
            log.info(
                "update %s of %s was handled already: its answers sent again",
                key,
                message.sender_id,
            )
            for answer in answers:
                await message.output_channel.send_response(message.sender_id, answer)
