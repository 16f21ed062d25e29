"""The one global error handler: log first, then turn the error into the right reply and inbox outcome.

- A dependency down (Rasa, the action server, the classifier, the database): WARNING; the update is kept
  and processed again later; a resident in private chat is told once to bear with us.
- An expected refusal from the tickets core (not found, not allowed, illegal transition, bad input): INFO;
  its message (already in Chinese) goes back to the user; the update is done.
- Anything else is a bug: ERROR with the traceback; the update is set aside as failed and the user gets
  an apology.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.errors import ServiceUnavailable, TryLater
from bot.handlers.common import Context, answer, reply
from bot.worker import current
from tickets import messages
from tickets.errors import StoreUnavailable, TicketError

log = logging.getLogger("bot.errors")

TEMPORARY = (ServiceUnavailable, TryLater, StoreUnavailable)


async def on_error(update: object, context: Context) -> None:
    """Log the error first, then answer the user and tell the inbox worker what to do with the update."""
    error = context.error
    processing = current()
    where = f"update {update.update_id}" if isinstance(update, Update) else "no update"
    if isinstance(error, TEMPORARY):
        log.warning("%s: will retry later: %s", where, error)
        if processing is not None:
            processing.try_later(
                str(error), getattr(error, "delay", None) if isinstance(error, TryLater) else None
            )
        await _tell(update, context, texts.TRY_LATER, step="later", private_only=True)
        return
    if isinstance(error, TicketError):
        log.info("%s: refused: %s", where, error)
        # In a group only what was addressed to the bot (a command, a button) is answered: a refusal
        # of ordinary group talk is not posted as a reply to someone's message.
        await _tell(
            update,
            context,
            str(error),
            step="refused",
            alert=True,
            private_only=not _addressed_to_bot(update),
        )
        return
    log.error("%s: unexpected error", where, exc_info=error)
    if processing is not None:
        processing.fail(repr(error))
    await _tell(update, context, messages.SORRY, step="sorry", private_only=True)


def _addressed_to_bot(update: object) -> bool:
    if not isinstance(update, Update):
        return False
    if update.callback_query is not None:
        return True
    message = update.effective_message
    return bool(message is not None and (message.text or "").startswith("/"))


async def _tell(
    update: object,
    context: Context,
    text: str,
    *,
    step: str,
    alert: bool = False,
    private_only: bool = False,
) -> None:
    """Answer a button press with an alert, or reply to the chat (through the outbox when it works)."""
    if not isinstance(update, Update):
        return
    if update.callback_query is not None and alert:
        await answer(update.callback_query, text[:200], alert=True)
        return
    chat = update.effective_chat
    if chat is None or (private_only and chat.type != "private"):
        if update.callback_query is not None:
            await answer(update.callback_query, text[:200], alert=True)
        return
    try:
        await reply(context, update, text, step=step)
    except StoreUnavailable:
        try:  # the outbox is in the database: say it directly, once per processing
            await context.bot.send_message(chat_id=chat.id, text=text)
        except TelegramError as e:
            log.warning("could not tell chat %s: %s", chat.id, e)
