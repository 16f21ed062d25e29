"""Grid groups and grid members: /bind, /unbind, /groupreply, /digest, group messages, forwards and
the corrections a grid member makes to what was filed from their forwards."""

from __future__ import annotations

import logging
import re

from telegram import (
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)

from bot import keyboards, texts
from bot.errors import GroupMessageFailed, TakenOver
from bot.handlers import resident
from bot.handlers.common import (
    Context,
    answer,
    deps_of,
    edit,
    forwards_of,
    intake_of,
    reply,
)
from bot.inputs import text_of
from bot.worker import current
from tickets.usecases import forwards, groups, people
from tickets.usecases.views import ForwardItem, GroupMessage

log = logging.getLogger(__name__)

FORWARD_BUTTON = re.compile(
    r"^g:(?P<action>ok|cat|set|no|back):(?P<code>MW-\d{8}-\d{4})(?::(?P<arg>\w+))?$"
)


async def bind(update: Update, context: Context) -> None:
    """/bind <grid code>: bind this group to a grid (grid members and admins only)."""
    chat = update.effective_chat
    assert chat is not None
    if chat.type == "private":
        await reply(context, update, texts.BIND_ONLY_IN_GROUPS)
        return
    if not context.args:
        await reply(context, update, texts.BIND_USAGE)
        return
    deps = deps_of(context)
    reply_flag = {"reply": True, "回复": True, "silent": False, "静默": False}.get(
        context.args[1] if len(context.args) > 1 else ""
    )
    binding = await deps.write(
        groups.bind,
        deps.domain,
        chat_id=chat.id,
        title=chat.title or "",
        grid_code=context.args[0],
        telegram_user_id=update.effective_user.id if update.effective_user else None,
        reply_in_group=reply_flag,
    )
    await deps.refresh_bindings()
    await reply(
        context, update, texts.bound(binding.grid_name, binding.grid_code, binding.reply_in_group)
    )


async def unbind(update: Update, context: Context) -> None:
    """/unbind: stop reading this group."""
    chat = update.effective_chat
    assert chat is not None
    deps = deps_of(context)
    removed = await deps.write(
        groups.unbind,
        deps.domain,
        chat_id=chat.id,
        telegram_user_id=update.effective_user.id if update.effective_user else None,
    )
    await deps.refresh_bindings()
    await reply(context, update, texts.UNBOUND if removed else texts.NOT_BOUND)


async def group_reply(update: Update, context: Context) -> None:
    """/groupreply on|off: whether the bot answers in the group when it files a ticket."""
    chat = update.effective_chat
    assert chat is not None
    args = context.args or []
    on = bool(args) and args[0].lower() in ("on", "开", "开启", "1", "true")
    deps = deps_of(context)
    await deps.write(
        groups.set_reply_in_group,
        deps.domain,
        chat_id=chat.id,
        telegram_user_id=update.effective_user.id if update.effective_user else None,
        on=on,
    )
    await deps.refresh_bindings()
    await reply(context, update, texts.group_reply_set(on))


async def digest(update: Update, context: Context) -> None:
    """/digest: the grid's open tickets, what is overdue, and the hotspots."""
    chat = update.effective_chat
    deps = deps_of(context)
    view = await deps.read(
        groups.digest,
        deps.domain,
        chat_id=chat.id if chat is not None and chat.type != "private" else None,
        telegram_user_id=update.effective_user.id if update.effective_user else None,
    )
    await reply(context, update, texts.digest(view, deps.settings.timezone))


async def group_message(update: Update, context: Context) -> None:
    """Hand a message of a bound group to the intake (silently, unless the group asked for replies)."""
    message = update.effective_message
    assert message is not None
    deps = deps_of(context)
    if await deps.binding(message.chat_id) is None:
        return
    text = text_of(message).strip()
    if not text:
        return
    user = message.from_user
    try:
        await intake_of(context).submit(
            GroupMessage(
                update_id=update.update_id,
                chat_id=message.chat_id,
                message_id=message.message_id,
                user_id=user.id if user else None,
                user_name=user.full_name if user else (message.author_signature or ""),
                username=user.username if user else None,
                text=text,
            )
        )
    except TakenOver:  # another worker has the update now and finishes it
        processing = current()
        if processing is not None:
            processing.defer()
    except GroupMessageFailed as e:  # kept as failed in the inbox; the group is not told
        log.warning("group message %s/%s failed: %s", message.chat_id, message.message_id, e)
        processing = current()
        if processing is not None:
            processing.fail(str(e))


async def group_location(update: Update, context: Context) -> None:
    """A location or venue in a bound group, in reply to a message that was filed: the ticket's pin
    (silently; the staff card shows it)."""
    message = update.effective_message
    assert message is not None
    deps = deps_of(context)
    where = message.venue.location if message.venue is not None else message.location
    replied, user = message.reply_to_message, message.from_user
    if where is None or replied is None or user is None:
        return
    if await deps.binding(message.chat_id) is None:
        return
    await deps.write(
        groups.pin_group_message,
        deps.domain,
        chat_id=message.chat_id,
        message_id=replied.message_id,
        telegram_user_id=user.id,
        name=user.full_name,
        latitude=where.latitude,
        longitude=where.longitude,
    )


async def edited(update: Update, context: Context) -> None:
    """An edited message: in a bound group it is looked at again; in private we say how to correct."""
    message = update.edited_message
    assert message is not None
    if message.chat.type == "private":
        await reply(context, update, texts.EDITED)
        return
    await group_message(update, context)


def _origin(message: Message) -> tuple[str, int | None, str, str | None]:
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        user = origin.sender_user
        return "user", user.id, user.full_name, user.username
    if isinstance(origin, MessageOriginHiddenUser):
        return "hidden_user", None, origin.sender_user_name, None
    if isinstance(origin, MessageOriginChat):
        title = origin.sender_chat.title or ""
        return (
            "chat",
            None,
            f"{title}（{origin.author_signature}）" if origin.author_signature else title,
            None,
        )
    if isinstance(origin, MessageOriginChannel):
        title = origin.chat.title or ""
        return (
            "channel",
            None,
            f"{title}（{origin.author_signature}）" if origin.author_signature else title,
            None,
        )
    return "unknown", None, "", None


async def forwarded(update: Update, context: Context) -> None:
    """A forward in private chat: a grid member's goes into their burst; anyone else's is a message."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    deps = deps_of(context)
    role = await deps.read(people.role_label, message.from_user.id)
    processing = current()
    if role is None or processing is None:
        await resident.message(update, context)
        return
    text = text_of(message).strip()
    if not text:
        return
    kind, user_id, name, username = _origin(message)
    item = ForwardItem(
        update_id=update.update_id,
        chat_id=message.chat_id,
        message_id=message.message_id,
        text=text,
        origin_kind=kind,
        origin_user_id=user_id,
        origin_name=name,
        origin_username=username,
        origin_date=message.forward_origin.date if message.forward_origin else None,
    )
    await forwards_of(context).add(message.from_user.id, item, processing.row.id)
    processing.defer()  # waiting in its burst: the filing marks it done


async def forward_button(update: Update, context: Context) -> None:
    """✓ 确认 / 改类别 / 不是诉求 under a filed forward: store the label and change the ticket."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = FORWARD_BUTTON.match(query.data)
    assert match is not None
    action, code, arg = match["action"], match["code"], match["arg"]
    deps = deps_of(context)
    message = query.message if isinstance(query.message, Message) else None
    original = message.text if message is not None and message.text else ""
    uid = query.from_user.id
    if action in ("cat", "back"):
        await deps.read(people.staff_for, uid)
        markup = (
            keyboards.categories(deps.domain.taxonomy, code, "g:set")
            if action == "cat"
            else keyboards.forward_result(code)
        )
        await answer(query)
        if message is not None:
            await reply(context, update, edit(message.message_id, original, markup))
        return
    if action == "ok":
        await deps.write(forwards.confirm, deps.domain, telegram_user_id=uid, code=code)
        new_text = texts.forward_confirmed(original)
    elif action == "set":
        name = await deps.write(
            forwards.reclassify,
            deps.domain,
            telegram_user_id=uid,
            code=code,
            category=arg or "other",
        )
        new_text = texts.forward_reclassified(original, name)
    else:
        await deps.write(forwards.not_a_demand, deps.domain, telegram_user_id=uid, code=code)
        new_text = texts.forward_rejected(original)
    await answer(query)
    if message is not None:
        await reply(context, update, edit(message.message_id, new_text))


async def added_to_group(update: Update, context: Context) -> None:
    """The bot was added to a group: say how to bind it."""
    change = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    if change.new_chat_member.status in (
        "member",
        "administrator",
    ) and change.old_chat_member.status in ("left", "kicked"):
        await reply(context, update, texts.ADDED_TO_GROUP)
