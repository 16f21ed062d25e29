"""Grid-group intake: messages are classified and recorded in micro-batches.

Each handler call waits for its batch, so its inbox row is marked done only after the batch's transaction
(tickets, review items, replies) committed. Inside the transaction each message has its own savepoint: a
message that cannot be filed goes to the review queue, and one that cannot even be set aside fails alone
(its update stays failed in the inbox) while the rest of the batch is recorded. Batching is what lets one process keep up with busy groups:
one classifier call and one transaction for up to ``group_batch_size`` messages.
"""

from __future__ import annotations

import asyncio
import logging

from bot.deps import Deps
from bot.errors import GroupMessageFailed
from tickets.usecases import groups
from tickets.usecases.views import GroupMessage, GroupOutcome

log = logging.getLogger(__name__)


class GroupIntake:
    def __init__(self, deps: Deps, *, parallel: int = 2) -> None:
        self.deps = deps
        self._pending: list[tuple[GroupMessage, asyncio.Future[GroupOutcome]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._slots = asyncio.Semaphore(parallel)
        self._flushes: set[asyncio.Task[None]] = set()
        self.thresholds = groups.Thresholds(
            file=deps.settings.group_file_threshold, review=deps.settings.group_review_threshold
        )

    async def submit(self, message: GroupMessage) -> GroupOutcome:
        """Queue ``message`` for the next batch and wait for what became of it."""
        future: asyncio.Future[GroupOutcome] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        if len(self._pending) >= self.deps.config.group_batch_size:
            self._kick()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(
                self.deps.config.group_batch_wait, self._kick
            )
        return await future

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        size = self.deps.config.group_batch_size
        while self._pending:
            batch, self._pending = self._pending[:size], self._pending[size:]
            task = asyncio.create_task(self._flush(batch))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: list[tuple[GroupMessage, asyncio.Future[GroupOutcome]]]) -> None:
        messages = [m for m, _ in batch]
        try:
            async with self._slots:
                results = await self.deps.classifier.classify([m.text for m in messages])
                outcomes = await self.deps.write(
                    groups.record_group_messages,
                    self.deps.domain,
                    messages,
                    results,
                    thresholds=self.thresholds,
                )
        except Exception as e:  # every waiting handler sees the error (and its update is retried)
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if outcome.kind == "error":  # only this message failed; the rest of the batch is kept
                future.set_exception(GroupMessageFailed(outcome.error))
            else:
                future.set_result(outcome)

    async def close(self) -> None:
        self._kick()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
