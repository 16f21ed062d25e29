"""The inbox worker: claims stored updates and runs each through the Application's handlers.

A row is marked done after its handlers finished (their own writes are idempotent by update id, chat and
message), or rescheduled when a handler said "try later" (Rasa or the database down), or left for a
handler that finishes it itself (a forward waiting for the rest of its burst). Updates of one
conversation are claimed one at a time (see ``tickets.queues``); everything else runs side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import Application

from bot.deps import Deps
from bot.state import SharedState
from tickets import queues
from tickets.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: Retry delays for an update whose handler asked to try later: 5 s, 10 s, 20 s … capped at 5 minutes.
MAX_RETRY_DELAY = 300.0


@dataclass
class Processing:
    """The inbox row being processed; handlers (and the error handler) say how it ended."""

    row: queues.InboxRow
    retry_reason: str | None = None
    retry_delay: float = 0.0
    failed: str | None = None
    deferred: bool = False
    told_later: bool = field(default=False)

    def try_later(self, reason: str, delay: float | None = None) -> None:
        backoff = min(MAX_RETRY_DELAY, 5.0 * 2 ** max(0, self.row.attempts - 1))
        self.retry_reason = reason
        self.retry_delay = backoff if delay is None else delay

    def fail(self, reason: str) -> None:
        self.failed = reason

    def defer(self) -> None:
        """The handler finishes this row itself later (``InboxWorker.finish`` in its own transaction)."""
        self.deferred = True


CURRENT: ContextVar[Processing | None] = ContextVar("minwei_processing", default=None)


def current() -> Processing | None:
    """The inbox row of the update being handled in this task (None outside the worker)."""
    return CURRENT.get()


class InboxWorker:
    def __init__(self, app: Application, deps: Deps) -> None:
        self.app = app
        self.deps = deps
        self.state = SharedState(app, deps)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Rows this worker is working on (processing or finished and not yet marked): the heartbeat
        #: renews exactly these leases, so a row whose processing was lost here expires.
        self._held: set[int] = set()
        self._done: list[int] = []
        self._retry: list[tuple[int, str, float]] = []
        self._failed: list[tuple[int, str]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.processed = 0

    def wake(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and process until ``stopping`` is set (in-flight updates are then finished by drain)."""
        backoff = 1.0
        claimed_at = 0.0
        while not stopping.is_set():
            capacity = self.deps.config.concurrency - len(self._tasks)
            rows: list[queues.InboxRow] = []
            if capacity > 0:
                gap = self.deps.config.inbox_claim_interval - (time.monotonic() - claimed_at)
                if gap > 0:  # let the updates arriving meanwhile join this claim
                    await asyncio.sleep(gap)
                claimed_at = time.monotonic()
                try:
                    rows = await self.deps.plumbing(
                        queues.claim_inbox,
                        limit=min(capacity, self.deps.config.inbox_batch),
                        owner=self.deps.owner,
                        lease=self.deps.lease,
                    )
                    backoff = 1.0
                except StoreUnavailable as e:
                    log.warning("inbox: database unavailable, retrying in %.0fs: %s", backoff, e)
                    await self._sleep(stopping, backoff)
                    backoff = min(30.0, backoff * 2)
                    continue
            for row in rows:
                self._start(row)
            if rows and len(rows) >= min(capacity, self.deps.config.inbox_batch):
                continue  # more may be waiting
            await self._sleep(stopping, self.deps.config.inbox_poll_seconds)

    async def _sleep(self, stopping: asyncio.Event, seconds: float) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    def held(self) -> list[int]:
        return list(self._held)

    def _start(self, row: queues.InboxRow) -> None:
        self._idle.clear()
        self._held.add(row.id)
        task = asyncio.create_task(self._process(row), name=f"inbox-{row.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    @property
    def busy(self) -> bool:
        """Updates in flight, or finished ones not yet marked."""
        return bool(self._tasks or self._done or self._retry or self._failed) or (
            self._flusher is not None and not self._flusher.done()
        )

    async def _process(self, row: queues.InboxRow) -> None:
        processing = Processing(row)
        token = CURRENT.set(processing)
        try:
            update = Update.de_json(row.payload, self.app.bot)
            async with self.state.around(update, row.kind):
                await self.app.process_update(update)
        except StoreUnavailable as e:  # the dialogue state could not be read or written
            log.warning("inbox: update %s waits for the database: %s", row.update_id, e)
            processing.try_later(str(e))
        except Exception as e:  # process_update hands handler errors to the error handler already
            log.exception("inbox: update %s could not be processed", row.update_id)
            processing.fail(repr(e))
        finally:
            CURRENT.reset(token)
        self.processed += 1
        if processing.deferred:  # waiting in a forward burst: no longer this worker's to hold
            self._held.discard(row.id)
            return
        if processing.retry_reason is not None:
            self._retry.append((row.id, processing.retry_reason, processing.retry_delay))
        elif processing.failed is not None:
            self._failed.append((row.id, processing.failed))
        else:
            self._done.append(row.id)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Mark finished rows shortly, in one transaction for all that finish meanwhile."""
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_after(0.005))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        backoff = 0.5
        while self._done or self._retry or self._failed:
            if await self._flush():
                backoff = 0.5
            else:  # the database is busy or down: try again (the leases are renewed meanwhile)
                await asyncio.sleep(backoff)
                backoff = min(10.0, backoff * 2)

    async def _flush(self) -> bool:
        """Write finished rows in one transaction (rows finishing meanwhile join the next one);
        False when it could not (they are kept for the next try)."""
        if not (self._done or self._retry or self._failed):
            return True
        done, self._done = self._done, []
        retry, self._retry = self._retry, []
        failed, self._failed = self._failed, []
        try:
            await self.deps.plumbing(_finish, done, retry, failed, self.deps.owner)
        except StoreUnavailable as e:
            # Kept for the next try. Should this worker die first, the rows stay "processing" and
            # are claimed again when their lease runs out; their handlers' effects are idempotent.
            log.warning("inbox: could not mark %d rows finished: %s", len(done) + len(retry), e)
            self._done[:0], self._retry[:0], self._failed[:0] = done, retry, failed
            return False
        self._held.difference_update([*done, *(r[0] for r in retry), *(f[0] for f in failed)])
        self.wake()
        return True

    async def finish(self, row_ids: list[int], session: Session | None = None) -> None:
        """Mark deferred rows done (inside the caller's transaction when ``session`` is given)."""
        if session is not None:
            queues.finish_inbox(session, done=row_ids)
        else:
            await self.deps.plumbing(_finish, row_ids, [], [], self.deps.owner)
        self.wake()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for the updates in flight (at shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if self._flusher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(self._flusher, return_exceptions=True), timeout
                )
        await self._flush()


def _finish(
    session: Session,
    done: list[int],
    retry: list[tuple[int, str, float]],
    failed: list[tuple[int, str]],
    owner: str,
) -> None:
    queues.finish_inbox(session, done=done, retry=retry, owner=owner)
    queues.fail_inbox(session, failed, owner=owner)
