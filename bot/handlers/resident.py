"""Residents in private chat: /start, /help, /my, /add, /cancel, /id, and every message they send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Message, Update

from bot import dialogue, texts
from bot.handlers.common import Context, answer, deps_of, edit, reply
from bot.inputs import MAX_TEXT, Kind, kind_of, photo_of, text_of
from tickets import messages
from tickets.usecases import people, photos, residents


async def start(update: Update, context: Context) -> None:
    """Greet the user and explain what the bot does and what happens to their data."""
    chat = update.effective_chat
    if chat is not None and chat.type != "private":
        await reply(context, update, texts.GROUP_HELP)
        return
    user = update.effective_user
    if user is not None:
        await deps_of(context).write(
            people.resident_for,
            telegram_user_id=user.id,
            name=user.full_name,
            username=user.username,
        )
    await reply(context, update, texts.START)


async def help_command(update: Update, context: Context) -> None:
    """Explain the bot (the same text as /start; groups get the grid commands)."""
    chat = update.effective_chat
    await reply(
        context, update, texts.HELP if chat and chat.type == "private" else texts.GROUP_HELP
    )


async def whoami(update: Update, context: Context) -> None:
    """Tell the user their Telegram id, which an admin links to a staff account."""
    user = update.effective_user
    if user is None:
        return
    role = await deps_of(context).read(people.role_label, user.id)
    chat = update.effective_chat
    group = chat.id if chat is not None and chat.type != "private" else None
    await reply(context, update, texts.whoami(user.id, role, group))


async def my_tickets(update: Update, context: Context) -> None:
    """List the resident's tickets with their status and latest progress."""
    deps = deps_of(context)
    user = update.effective_user
    assert user is not None
    tickets = await deps.write(
        residents.my_tickets, deps.domain, telegram_user_id=user.id, name=user.full_name
    )
    text = texts.my_tickets(tickets, deps.settings.timezone) if tickets else messages.MY_NONE
    await reply(context, update, text)


async def add_info(update: Update, context: Context) -> None:
    """/add <code> <text>: add information to one of the resident's open tickets."""
    deps = deps_of(context)
    args = context.args or []
    code = residents.find_code(" ".join(args[:1])) if args else None
    if code is None or len(args) < 2:
        await reply(context, update, texts.ADD_USAGE)
        return
    user = update.effective_user
    assert user is not None
    await deps.write(
        residents.add_info,
        deps.domain,
        telegram_user_id=user.id,
        code=code,
        text=" ".join(args[1:]),
    )
    await reply(context, update, messages.info_added(code))


async def cancel(update: Update, context: Context) -> None:
    """Cancel whatever the resident was filling in (the Rasa form)."""
    await _converse(update, context, update.effective_message, dialogue.CANCEL)  # type: ignore[arg-type]


async def unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have: list the ones it has."""
    await reply(context, update, texts.UNKNOWN_COMMAND)


async def message(update: Update, context: Context) -> None:
    """Route a private message by what it is: text and photos to the dialogue, the rest answered here."""
    msg = update.effective_message
    assert msg is not None
    kind = kind_of(msg)
    if kind in (Kind.TEXT, Kind.PHOTO) and await _added_to_ticket(update, context, msg):
        return
    await ROUTES[kind](update, context, msg)


async def _added_to_ticket(update: Update, context: Context, msg: Message) -> bool:
    """A reply to one of the bot's messages about a ticket adds to that ticket."""
    replied = msg.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return False
    deps = deps_of(context)
    code = await deps.read(
        residents.ticket_for_bot_message, chat_id=msg.chat_id, message_id=replied.message_id
    )
    if code is None:
        return False
    photo = await _photo_within_limit(update, context, msg)
    if photo is None and not text_of(msg).strip():
        return True
    await deps.write(
        residents.add_info,
        deps.domain,
        telegram_user_id=msg.from_user.id,  # type: ignore[union-attr]
        code=code,
        text=text_of(msg),
        photo=photo,
    )
    await reply(context, update, messages.info_added(code))
    return True


async def _converse(
    update: Update, context: Context, msg: Message, text: str, **extra: object
) -> None:
    user = msg.from_user
    assert user is not None
    turn = dialogue.Turn(
        update_id=update.update_id,
        chat_id=msg.chat_id,
        message_id=msg.message_id,
        user_id=user.id,
        name=user.full_name,
        username=user.username,
        text=text,
        photo=extra.get("photo"),  # type: ignore[arg-type]
        location=extra.get("location"),  # type: ignore[arg-type]
    )
    deps = deps_of(context)
    await deps.write(
        people.resident_for, telegram_user_id=user.id, name=user.full_name, username=user.username
    )
    await dialogue.converse(deps, turn)


async def _text(update: Update, context: Context, msg: Message) -> None:
    await _converse(update, context, msg, text_of(msg).strip())


async def _photo_within_limit(update: Update, context: Context, msg: Message) -> str | None:
    """The file id of the message's photo, or None (and the resident told) when Telegram says it is
    over the size limit: it is not fetched, and the caption still goes on."""
    found = photo_of(msg)
    if found is None:
        return None
    file_id, size = found
    deps = deps_of(context)
    if size is not None and size > deps.settings.photo_max_bytes:
        await deps.write(
            photos.refuse_before_fetch,
            deps.domain,
            chat_id=msg.chat_id,
            size=size,
            message_key=f"photo:{msg.chat_id}:{msg.message_id}:too_large",
        )
        return None
    return file_id


async def _photo(update: Update, context: Context, msg: Message) -> None:
    photo = await _photo_within_limit(update, context, msg)
    caption = text_of(msg).strip()
    if photo is None and not caption:
        return
    await _converse(update, context, msg, caption or dialogue.PHOTO, photo=photo)


async def _location(update: Update, context: Context, msg: Message) -> None:
    where = msg.venue.location if msg.venue is not None else msg.location
    assert where is not None
    place = {"latitude": where.latitude, "longitude": where.longitude}
    if msg.venue is not None:
        place["title"] = msg.venue.title  # type: ignore[assignment]
    await _converse(update, context, msg, dialogue.SHARE_LOCATION, location=place)


def _say(text: str) -> Callable[[Update, Context, Message], Awaitable[None]]:
    async def say(update: Update, context: Context, msg: Message) -> None:
        await reply(context, update, text)

    return say


async def _too_long(update: Update, context: Context, msg: Message) -> None:
    await reply(context, update, texts.too_long(len(text_of(msg)), MAX_TEXT))


#: What to do with each kind of private message.
ROUTES: dict[Kind, Callable[[Update, Context, Message], Awaitable[None]]] = {
    Kind.TEXT: _text,
    Kind.PHOTO: _photo,
    Kind.LOCATION: _location,
    Kind.TOO_LONG: _too_long,
    Kind.EMPTY: _say(texts.EMPTY),
    Kind.EMOJI_ONLY: _say(texts.EMOJI_ONLY),
    Kind.STICKER: _say(texts.STICKER),
    Kind.VOICE: _say(texts.VOICE),
    Kind.UNSUPPORTED: _say(texts.UNSUPPORTED),
}


async def rasa_button(update: Update, context: Context) -> None:
    """A button under a dialogue message was pressed: show the choice, then send its payload to Rasa."""
    query = update.callback_query
    assert query is not None and query.data is not None
    message = query.message
    await answer(query)
    if not isinstance(message, Message):
        return
    chosen = next(
        (
            button.text
            for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
            for button in row
            if button.callback_data == query.data
        ),
        "",
    )
    if message.text:
        await reply(
            context, update, edit(message.message_id, f"{message.text}\n→ {chosen}"), step="choice"
        )
    user = query.from_user
    turn = dialogue.Turn(
        update_id=update.update_id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        user_id=user.id,
        name=user.full_name,
        username=user.username,
        text=query.data[1:],
    )
    await dialogue.converse(deps_of(context), turn)
