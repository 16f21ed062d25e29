"""民微实事 votes: the answers to a project's poll in a grid group. The poll is non-anonymous, so
Telegram sends each answer, a changed answer and a retraction as a ``poll_answer`` update; the core
counts one vote per person and keeps answers from strangers apart. Nothing is said in the group."""

from __future__ import annotations

import logging
import re

from telegram import Message, Update

from bot import worker
from bot.handlers.common import Context, answer, deps_of, edit, reply
from tickets.statuses import Satisfaction
from tickets.usecases import evaluations, votes

log = logging.getLogger(__name__)

RATE = re.compile(r"^prate:(?P<code>XM-\d{8}-\d{4}):(?P<value>satisfied|basic|unsatisfied)$")
#: A poll whose id is not recorded yet is retried this often, waiting 2, 4, 8 … 30 s: its send result
#: is being written, or the worker that sent it died first and the id comes back from its send journal
#: (replayed when it restarts, read by whoever takes its rows over once their lease runs out).
UNKNOWN_POLL_RETRIES = 8
UNKNOWN_POLL_MAX_DELAY = 30.0


async def poll_answer(update: Update, context: Context) -> None:
    """Record one answer to a project's poll (retried briefly when the poll is not known yet)."""
    answer = update.poll_answer
    assert answer is not None
    deps = deps_of(context)
    outcome = await deps.write(
        votes.record_poll_answer,
        deps.domain,
        poll_id=answer.poll_id,
        telegram_user_id=answer.user.id if answer.user is not None else None,
        option_ids=list(answer.option_ids),
        option_persistent_ids=list(answer.option_persistent_ids),
    )
    processing = worker.current()
    if outcome.kind == "unknown_poll" and processing is not None:
        if processing.row.attempts <= UNKNOWN_POLL_RETRIES:
            delay = min(UNKNOWN_POLL_MAX_DELAY, 2.0**processing.row.attempts)
            processing.try_later("poll not recorded yet", delay=delay)
        return
    log.info("poll %s: %s (%s)", answer.poll_id, outcome.kind, outcome.project_code)


async def rate_button(update: Update, context: Context) -> None:
    """A resident rates a finished project from the buttons under its 验收 notice."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = RATE.match(query.data)
    if match is None:
        await answer(query)
        return
    value = Satisfaction(match["value"])
    await answer(query, value.label)
    deps = deps_of(context)
    said = await deps.write(
        evaluations.rate_from_telegram,
        deps.domain,
        project_code=match["code"],
        telegram_user_id=query.from_user.id,
        satisfaction=value,
    )
    if isinstance(query.message, Message) and query.message.text:
        await reply(context, update, edit(query.message.message_id, query.message.text), step="e")
    await reply(context, update, said)
