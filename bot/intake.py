"""Grid-group intake: messages are classified and recorded in micro-batches.

Each handler call waits for its batch, so its inbox row is marked done only after the batch's transaction
(tickets, review items, replies) committed. Inside the transaction each message has its own savepoint: a
message that cannot be filed goes to the review queue, and one that cannot even be set aside fails alone
(its update stays failed in the inbox) while the rest of the batch is recorded. Batching is what lets one process keep up with busy groups:
one classifier call and one transaction for up to ``group_batch_size`` messages.

Batches are per worker; with several workers the transaction first checks that this worker still holds
each message's inbox row (``queues.still_held``, which locks them): a message whose row a peer took over
after this worker's lease ran out is left to that peer (``TakenOver``), so two workers never file one
message at the same time.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.errors import GroupMessageFailed, TakenOver
from bot.worker import current
from tickets import queues
from tickets.classification import Classification
from tickets.usecases import groups
from tickets.usecases.views import GroupMessage, GroupOutcome

Pending = tuple[GroupMessage, "asyncio.Future[GroupOutcome]", int | None]

log = logging.getLogger(__name__)


class GroupIntake:
    def __init__(self, deps: Deps, *, parallel: int = 2) -> None:
        self.deps = deps
        self._pending: list[Pending] = []
        self._timer: asyncio.TimerHandle | None = None
        self._slots = asyncio.Semaphore(parallel)
        self._flushes: set[asyncio.Task[None]] = set()
        self.thresholds = groups.Thresholds(
            file=deps.settings.group_file_threshold, review=deps.settings.group_review_threshold
        )

    async def submit(self, message: GroupMessage) -> GroupOutcome:
        """Queue ``message`` for the next batch and wait for what became of it."""
        future: asyncio.Future[GroupOutcome] = asyncio.get_running_loop().create_future()
        processing = current()
        self._pending.append((message, future, processing.row.id if processing else None))
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

    async def _flush(self, batch: list[Pending]) -> None:
        messages = [m for m, _, _ in batch]
        owner = self.deps.owner

        def record(session: Session, results: list[Classification]) -> list[GroupOutcome | None]:
            held = queues.still_held(session, [r for _, _, r in batch if r is not None], owner)
            keep = [i for i, (_, _, row) in enumerate(batch) if row is None or row in held]
            recorded = groups.record_group_messages(
                session,
                self.deps.domain,
                [messages[i] for i in keep],
                [results[i] for i in keep],
                thresholds=self.thresholds,
            )
            outcomes: list[GroupOutcome | None] = [None] * len(batch)
            for i, outcome in zip(keep, recorded, strict=True):
                outcomes[i] = outcome
            return outcomes

        try:
            async with self._slots:
                results = await self.deps.classifier.classify([m.text for m in messages])
                outcomes = await self.deps.write(record, results)
        except Exception as e:  # every waiting handler sees the error (and its update is retried)
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future, _), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if outcome is None:  # a peer took the update over: its work now
                future.set_exception(TakenOver("the update was taken over by another worker"))
                continue
            if outcome.kind == "error":  # only this message failed; the rest of the batch is kept
                future.set_exception(GroupMessageFailed(outcome.error))
            else:
                future.set_result(outcome)

    async def close(self) -> None:
        self._kick()
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
