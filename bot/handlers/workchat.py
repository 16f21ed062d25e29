"""Units' work chats: /bindunit makes a group the chat where a unit's ticket cards, warnings and
escalations go; /unbindunit stops it."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.handlers.common import Context, deps_of, reply
from tickets.usecases import unitchats


async def bind_unit(update: Update, context: Context) -> None:
    """/bindunit <unit code>: this group becomes the unit's work chat (its staff and admins only)."""
    chat = update.effective_chat
    assert chat is not None
    if chat.type == "private":
        await reply(context, update, texts.BINDUNIT_ONLY_IN_GROUPS)
        return
    if not context.args:
        await reply(context, update, texts.BINDUNIT_USAGE)
        return
    deps = deps_of(context)
    view = await deps.write(
        unitchats.bind,
        deps.domain,
        chat_id=chat.id,
        title=chat.title or "",
        unit_code=context.args[0],
        telegram_user_id=update.effective_user.id if update.effective_user else None,
    )
    await reply(context, update, texts.unit_bound(view.unit_name, view.unit_code))


async def unbind_unit(update: Update, context: Context) -> None:
    """/unbindunit: this group is no longer a unit's work chat."""
    chat = update.effective_chat
    assert chat is not None
    deps = deps_of(context)
    name = await deps.write(
        unitchats.unbind,
        deps.domain,
        chat_id=chat.id,
        telegram_user_id=update.effective_user.id if update.effective_user else None,
    )
    await reply(context, update, texts.unit_unbound(name) if name else texts.UNIT_CHAT_NOT_BOUND)
