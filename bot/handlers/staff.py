"""Staff in the staff group: the buttons on ticket cards, /card and /stats.

One-click buttons (受理, 处理中, 协办完成, a 退单 reason) act at once; 改类别, 派单, 协办 and 退单 swap the
card's buttons for a chooser; the rest need words, so they open a short conversation with the staff
member who pressed:

```
 [办结] ──► "请回复本条消息…" ──► NOTE     ──text──► resolved with the note
 [不受理] ──────────────────────► REASON   ──text──► rejected with the reason
 [合并] ────────────────────────► MERGE    ──text──► merged into the code given
 [退单]→[其他原因] ─────────────► SENDBACK ──text──► sent back with the reason
 [上门] ────────────────────────► VISIT    ──text──► visit time set, resident told
 [填写进展] ────────────────────► PROGRESS ──text──► note told to the resident
 [备注] ────────────────────────► REMARK   ──text──► note for staff only
                       any state ──/cancel──► end
```
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import keyboards, texts
from bot.handlers.common import Context, answer, deps_of, edit, edit_markup, reply
from tickets import messages
from tickets.queues import Outgoing
from tickets.usecases import residents, staff

BUTTON = re.compile(r"^t:(?P<action>[a-z]+):(?P<code>MW-\d{8}-\d{4})(?::(?P<arg>[\w-]+))?$")
NOTE, REASON, MERGE, SENDBACK, VISIT, PROGRESS, REMARK = range(7)
#: Buttons that need words: the state that waits for them, the prompt, the command they lead to, the
#: command's argument the words fill, and its other arguments.
ASKS: dict[str, tuple[int, Callable[[str], str], str, str, dict[str, Any]]] = {
    "resolve": (NOTE, texts.staff_ask_note, "resolve", "note", {}),
    "reject": (REASON, texts.staff_ask_reason, "reject", "reason", {}),
    "merge": (MERGE, texts.staff_ask_merge, "merge", "into", {}),
    "sbother": (SENDBACK, texts.staff_ask_send_back, "send_back", "reason", {}),
    "visit": (VISIT, texts.staff_ask_visit, "visit", "when", {}),
    "progress": (PROGRESS, texts.staff_ask_progress, "note", "text", {"tell_resident": True}),
    "note": (REMARK, texts.staff_ask_note_only, "note", "text", {}),
}
STATES = {state: (action, param, extra) for state, _, action, param, extra in ASKS.values()}
#: Choosers: a button that swaps the card's buttons for choices.
CHOOSERS = ("reclassify", "assign", "help", "sendback", "back")


def _parse(update: Update) -> tuple[str, str, str | None, Message | None]:
    query = update.callback_query
    assert query is not None and query.data is not None
    match = BUTTON.match(query.data)
    assert match is not None
    message = query.message if isinstance(query.message, Message) else None
    return match["action"], match["code"], match["arg"], message


async def button(update: Update, context: Context) -> None:
    """Act on a one-click button, or swap the card's buttons for a chooser (or back)."""
    action, code, arg, card = _parse(update)
    query = update.callback_query
    assert query is not None
    deps = deps_of(context)
    if action in CHOOSERS:
        await deps.read(staff.ensure_staff, telegram_user_id=query.from_user.id)
        markup = await _chooser(context, action, code, query.from_user.id)
        await answer(query)
        if card is not None:
            await reply(context, update, edit_markup(card.message_id, markup))
        return
    params: dict[str, Any] = {}
    if action == "cat":
        params = {"category": arg}
    elif action in ("unit", "hunit"):
        params = {"unit_id": int(arg or 0)}
    elif action == "sb":
        reasons = messages.SEND_BACK_REASONS
        params = {"reason": reasons[int(arg or 0) % len(reasons)]}
    target = {"cat": "reclassify", "unit": "assign", "hunit": "help", "sb": "send_back"}.get(
        action, action
    )
    result = await deps.write(
        staff.act,
        deps.domain,
        telegram_user_id=query.from_user.id,
        code=code,
        action=target,
        card_chat_id=card.chat_id if card else None,
        card_message_id=card.message_id if card else None,
        **params,
    )
    await answer(query, texts.staff_done(code, result.action_label, result.actor_name))


async def _chooser(context: Context, action: str, code: str, user_id: int) -> dict[str, object]:
    deps = deps_of(context)
    if action == "reclassify":
        return keyboards.categories(deps.domain.taxonomy, code, "t:cat")
    if action in ("assign", "help"):
        choices = await deps.read(
            staff.unit_choices, deps.domain, telegram_user_id=user_id, code=code
        )
        return keyboards.units(code, choices, "unit" if action == "assign" else "hunit")
    if action == "sendback":
        return keyboards.send_back_reasons(code, messages.SEND_BACK_REASONS)
    return messages.staff_keyboard(code)


async def ask(update: Update, context: Context) -> int:
    """Ask the staff member who pressed a button that needs words for them."""
    action, code, _, _ = _parse(update)
    query = update.callback_query
    assert query is not None
    await deps_of(context).read(staff.ensure_staff, telegram_user_id=query.from_user.id)
    state, prompt, _, _, _ = ASKS[action]
    context.user_data["staff_pending"] = {"code": code, "state": state}  # type: ignore[index]
    await answer(query)
    mention = f"{query.from_user.full_name}，" if query.from_user.full_name else ""
    await reply(
        context, update, Outgoing(mention + prompt(code), reply_markup=keyboards.FORCE_REPLY)
    )
    return state


async def take_text(update: Update, context: Context) -> int:
    """Do the pending action with the words the staff member wrote."""
    pending = context.user_data.pop("staff_pending", None)  # type: ignore[union-attr]
    message = update.effective_message
    assert message is not None and message.text is not None
    if pending is None:
        raise ApplicationHandlerStop(ConversationHandler.END)
    action, param, extra = STATES[pending["state"]]
    value = message.text.strip()
    if param == "into":
        value = residents.find_code(value) or value
    deps = deps_of(context)
    result = await deps.write(
        staff.act,
        deps.domain,
        telegram_user_id=message.from_user.id,  # type: ignore[union-attr]
        code=pending["code"],
        action=action,
        **{param: value, **extra},
    )
    await reply(
        context, update, texts.staff_done(result.code, result.action_label, result.actor_name)
    )
    raise ApplicationHandlerStop(ConversationHandler.END)


async def cancel(update: Update, context: Context) -> int:
    """Drop the pending action."""
    if context.user_data.pop("staff_pending", None):  # type: ignore[union-attr]
        await reply(context, update, texts.STAFF_CANCELLED)
    return ConversationHandler.END


async def stats(update: Update, context: Context) -> None:
    """/stats: today's and this month's figures within the staff member's area."""
    deps = deps_of(context)
    user = update.effective_user
    assert user is not None
    view = await deps.read(staff.stats_view, deps.domain, telegram_user_id=user.id)
    await reply(context, update, texts.stats(view))


async def card(update: Update, context: Context) -> None:
    """/card 工单号: post the ticket's card with its buttons here (a ticket a backlog digest listed)."""
    deps = deps_of(context)
    user = update.effective_user
    assert user is not None
    if not context.args:
        await reply(context, update, texts.CARD_USAGE)
        return
    code, text, markup = await deps.read(
        staff.card_on_request, deps.domain, telegram_user_id=user.id, code=context.args[0]
    )
    await reply(
        context, update, Outgoing(text, reply_markup=markup, kind="staff_card", ticket_code=code)
    )


def conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(ask, pattern=rf"^t:({'|'.join(ASKS)}):")],
        states={state: [MessageHandler(text, take_text)] for state in STATES},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="staff_text",
        persistent=False,  # the state is in the database: bot.state
        allow_reentry=True,
    )


def buttons() -> CallbackQueryHandler:
    return CallbackQueryHandler(
        button,
        pattern=r"^t:(accept|start|helped|reclassify|assign|help|sendback|back|cat|unit|hunit|sb):",
    )


__all__ = ["buttons", "card", "conversation", "edit", "stats"]
