"""Every handler of the bot, in one table.

Group 0 holds the bot's own short conversations (a staff member's note, a resident's reason for 不满意):
while one is waiting, its text goes there and stops. Group 1 holds everything else.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    PollAnswerHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.handlers import errors, grid, projects, rating, resident, staff, workchat

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS


def table() -> dict[int, list[BaseHandler[Any, Any, Any]]]:
    with warnings.catch_warnings():
        # Our conversations start from a button and then wait for text from the same person in the same
        # chat; PTB warns that such a conversation is not tracked per message, which is what we want.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        conversations: list[BaseHandler[Any, Any, Any]] = [
            staff.conversation(),
            rating.conversation(),
        ]
    return {
        0: conversations,
        1: [
            CommandHandler("start", resident.start),
            CommandHandler("help", resident.help_command),
            CommandHandler("id", resident.whoami),
            CommandHandler("my", resident.my_tickets, filters=PRIVATE),
            CommandHandler("add", resident.add_info, filters=PRIVATE),
            CommandHandler("cancel", resident.cancel, filters=PRIVATE),
            CommandHandler("bind", grid.bind),
            CommandHandler("unbind", grid.unbind, filters=GROUPS),
            CommandHandler("groupreply", grid.group_reply, filters=GROUPS),
            CommandHandler("bindunit", workchat.bind_unit),
            CommandHandler("unbindunit", workchat.unbind_unit, filters=GROUPS),
            CommandHandler("digest", grid.digest),
            CommandHandler("stats", staff.stats),
            CommandHandler("card", staff.card),
            staff.buttons(),
            rating.satisfied_buttons(),
            CallbackQueryHandler(grid.forward_button, pattern=r"^g:"),
            CallbackQueryHandler(resident.rasa_button, pattern=r"^r/"),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE, grid.edited),
            MessageHandler(PRIVATE & filters.FORWARDED, grid.forwarded),
            MessageHandler(PRIVATE & ~filters.COMMAND, resident.message),
            MessageHandler(PRIVATE & filters.COMMAND, resident.unknown_command),
            MessageHandler(
                GROUPS & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND, grid.group_message
            ),
            MessageHandler(
                GROUPS & (filters.LOCATION | filters.VENUE) & filters.REPLY, grid.group_location
            ),
            ChatMemberHandler(grid.added_to_group, ChatMemberHandler.MY_CHAT_MEMBER),
            PollAnswerHandler(projects.poll_answer),
            CallbackQueryHandler(projects.rate_button, pattern=r"^prate:"),
        ],
    }


def register(app: Application) -> None:
    for group, handlers in table().items():
        app.add_handlers(handlers, group=group)
    app.add_error_handler(errors.on_error)
