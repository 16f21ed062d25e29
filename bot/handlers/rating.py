"""Residents rate a resolved ticket with the buttons under the 已办结 notice; 不满意 reopens and asks why.

```
 [满意] / [基本满意] ──► rated (ticket closed)
 [不满意] ──► reopened, "哪里不满意？" ──► REASON ──text──► noted for staff
                                             └─/cancel──► done
```
"""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import texts
from bot.handlers.common import Context, answer, deps_of, edit, reply
from tickets.statuses import Satisfaction
from tickets.usecases import residents

REASON = 1
RATE = re.compile(r"^rate:(?P<code>MW-\d{8}-\d{4}):(?P<value>satisfied|basic|unsatisfied)$")
UNSATISFIED = r"^rate:MW-\d{8}-\d{4}:unsatisfied$"


async def _rate(update: Update, context: Context) -> tuple[str, Satisfaction]:
    """Record the pressed rating and take the buttons off the notice."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = RATE.match(query.data)
    assert match is not None
    code, value = match["code"], Satisfaction(match["value"])
    deps = deps_of(context)
    await answer(query, value.label)
    await deps.write(
        residents.rate,
        deps.domain,
        telegram_user_id=query.from_user.id,
        code=code,
        satisfaction=value,
    )
    if isinstance(query.message, Message) and query.message.text:
        note = texts.your_rating(query.message.text, value.label)
        await reply(context, update, edit(query.message.message_id, note), step="rated")
    return code, value


async def rated(update: Update, context: Context) -> None:
    """Record 满意 or 基本满意 (the ticket is closed)."""
    code, value = await _rate(update, context)
    await reply(context, update, texts.rated(code, value.label))


async def unsatisfied(update: Update, context: Context) -> int:
    """Record 不满意 (the ticket is reopened) and ask what was wrong."""
    code, _ = await _rate(update, context)
    context.user_data["unsatisfied"] = code  # type: ignore[index]
    await reply(context, update, texts.unsatisfied_ask(code))
    return REASON


async def reason(update: Update, context: Context) -> int:
    """Pass the resident's reason on to staff, then leave the conversation."""
    deps = deps_of(context)
    code = context.user_data.pop("unsatisfied", None)  # type: ignore[union-attr]
    message = update.effective_message
    assert message is not None and message.text is not None
    if code:
        await deps.write(
            residents.note_unsatisfied_reason,
            deps.domain,
            telegram_user_id=message.from_user.id,  # type: ignore[union-attr]
            code=code,
            reason=message.text,
        )
        await reply(context, update, texts.unsatisfied_noted(code))
    raise ApplicationHandlerStop(ConversationHandler.END)


async def skip(update: Update, context: Context) -> int:
    """/cancel: no reason given (the ticket stays reopened); /cancel also reaches the dialogue."""
    context.user_data.pop("unsatisfied", None)  # type: ignore[union-attr]
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(unsatisfied, pattern=UNSATISFIED)],
        states={
            REASON: [
                MessageHandler(filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, reason)
            ]
        },
        fallbacks=[CommandHandler("cancel", skip)],
        name="rating_reason",
        persistent=False,  # the state is in the database: bot.state
        allow_reentry=True,
    )


def satisfied_buttons() -> CallbackQueryHandler:
    return CallbackQueryHandler(rated, pattern=r"^rate:MW-\d{8}-\d{4}:(satisfied|basic)$")
