"""What every handler needs: the dependencies, replies through the outbox, callback answers."""

from __future__ import annotations

import logging
from typing import Any

from telegram import CallbackQuery, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.deps import Deps
from bot.forwarding import ForwardCoalescer
from bot.intake import GroupIntake
from tickets import queues
from tickets.queues import Outgoing

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


def deps_of(context: Context) -> Deps:
    deps: Deps = context.application.bot_data["deps"]
    return deps


def intake_of(context: Context) -> GroupIntake:
    """The grid groups' intake (built in ``post_init``, kept in ``bot_data``)."""
    intake: GroupIntake = context.application.bot_data["intake"]
    return intake


def forwards_of(context: Context) -> ForwardCoalescer:
    """The grid members' forward coalescer (built in ``post_init``, kept in ``bot_data``)."""
    forwards: ForwardCoalescer = context.application.bot_data["forwards"]
    return forwards


async def reply(
    context: Context,
    update: Update,
    *messages: Outgoing | str,
    chat_id: int | None = None,
    step: str = "",
) -> None:
    """Queue ``messages`` to the update's chat; processing the update again queues nothing new.

    ``step`` tells apart several separate replies to one update (e.g. an edit, then the answer)."""
    target = chat_id if chat_id is not None else update.effective_chat.id  # type: ignore[union-attr]
    outgoing = [Outgoing(m) if isinstance(m, str) else m for m in messages]
    await deps_of(context).write(
        queues.queue_messages,
        chat_id=target,
        messages=outgoing,
        key=f"u{update.update_id}{':' + step if step else ''}",
    )


def edit(message_id: int, text: str, markup: dict[str, Any] | None = None) -> Outgoing:
    """An edit of a message the bot sent (its keyboard goes unless ``markup`` is given)."""
    return Outgoing(
        text, reply_markup=markup, method="editMessageText", extra={"message_id": message_id}
    )


def edit_markup(message_id: int, markup: dict[str, Any] | None) -> Outgoing:
    extra: dict[str, Any] = {"message_id": message_id}
    if markup is not None:
        extra["reply_markup"] = markup
    return Outgoing("", method="editMessageReplyMarkup", extra=extra)


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press at once (best effort: it only stops the button's spinner)."""
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramError as e:
        log.info("could not answer callback query %s: %s", query.id, e)


def user_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user is not None else ""
