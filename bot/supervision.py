"""The supervision clock in the bot process: a repeating job on PTB's job queue runs passes of
``tickets.usecases.supervision`` until nothing due is left.

Each pass is one transaction in a worker thread (``Deps.write``) over at most ``PASS_LIMIT`` items and
``PASS_SECONDS``, so intake waits at most one short pass for the database; the job never runs twice at once in one process,
and passes in other processes (a second bot, ``python -m tickets supervise``) claim other rows. The
rows are the clock: a bot that stops loses nothing, and the next pass does what fell due meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.deps import Deps
from tickets.errors import StoreUnavailable
from tickets.usecases import supervision

log = logging.getLogger(__name__)

#: Passes one run of the job does at most (then the next run continues).
MAX_PASSES = 50


async def run_passes(deps: Deps, *, max_passes: int = MAX_PASSES) -> int:
    """Do what is due, pass after pass; returns how many items were done (or skipped, held …)."""
    total = 0
    for _ in range(max_passes):
        try:
            steps = await deps.write(supervision.run_pass, deps.domain)
        except StoreUnavailable as e:
            log.warning("supervision: database unavailable, trying again next run: %s", e)
            break
        total += len(steps)
        done = sum(1 for s in steps if s.outcome == "done")
        if done:
            log.info("supervision: %d due items done (%d handled)", done, len(steps))
        if not steps:
            break
        await asyncio.sleep(0)  # let the bot's own work in between passes
    return total


async def _job(context: ContextTypes.DEFAULT_TYPE) -> None:
    await run_passes(context.application.bot_data["deps"])


def schedule(app: Application, seconds: float) -> None:
    """Run the clock every ``seconds`` on the application's job queue (starts with the app)."""
    if app.job_queue is None:
        raise RuntimeError("python-telegram-bot[job-queue] is not installed: no supervision clock")
    app.job_queue.run_repeating(
        _job,
        interval=seconds,
        first=min(seconds, 5.0),
        name="supervision",
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
