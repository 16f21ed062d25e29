"""Forwards from grid members arrive as a burst (one update per message); they are coalesced here.

Each forward's inbox row stays claimed ("deferred") until its burst is filed; the burst's tickets, the
replies to the grid member and the rows' "done" marks are written in one transaction. A crash in between
leaves the rows to be claimed again, and filing is idempotent by (chat, message), so nothing is lost or
filed twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot import keyboards, texts
from bot.deps import Deps
from bot.worker import InboxWorker
from tickets import queues
from tickets.errors import TicketError
from tickets.queues import Outgoing
from tickets.usecases import forwards
from tickets.usecases.views import ForwardBurstResult, ForwardItem

log = logging.getLogger(__name__)


@dataclass
class Burst:
    chat_id: int
    items: list[ForwardItem] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class ForwardCoalescer:
    def __init__(self, deps: Deps, worker: InboxWorker) -> None:
        self.deps = deps
        self.worker = worker
        self._bursts: dict[int, Burst] = {}
        self._flushes: set[asyncio.Task[None]] = set()

    def add(self, user_id: int, item: ForwardItem, row_id: int) -> None:
        """Add a forward to ``user_id``'s burst; the burst is filed after a quiet spell."""
        burst = self._bursts.setdefault(user_id, Burst(item.chat_id))
        if item.update_id in {i.update_id for i in burst.items}:
            return
        burst.items.append(item)
        burst.rows.append(row_id)
        if burst.timer is not None:
            burst.timer.cancel()
        burst.timer = asyncio.get_running_loop().call_later(
            self.deps.config.forward_burst_seconds, self._start_flush, user_id
        )

    def _start_flush(self, user_id: int) -> None:
        burst = self._bursts.pop(user_id, None)
        if burst is None:
            return
        task = asyncio.create_task(self._flush(user_id, burst))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, user_id: int, burst: Burst) -> None:
        demands = forwards.coalesce(burst.items)
        key = f"fwd:{min(i.update_id for i in burst.items)}"
        review = self.deps.settings.group_review_threshold

        def record(session: Session) -> ForwardBurstResult:
            result = forwards.file_burst(
                session,
                self.deps.domain,
                forwarder_telegram_id=user_id,
                demands=demands,
                results=results,
                review_threshold=review,
            )
            replies = [Outgoing(texts.forward_burst(result), kind="forward_result")]
            replies += [
                Outgoing(
                    texts.forward_ticket(f),
                    reply_markup=keyboards.forward_result(f.code),
                    kind="forward_result",
                    ticket_code=f.code,
                )
                for f in result.filed
            ]
            queues.queue_messages(session, chat_id=burst.chat_id, messages=replies, key=key)
            queues.finish_inbox(session, done=burst.rows)
            return result

        try:
            results = await self.deps.classifier.classify([d.text for d in demands])
            result = await self.deps.write(record)
        except TicketError as e:  # e.g. the member's account was unlinked meanwhile
            log.warning("forward burst of %s refused: %s", user_id, e)
            await self._give_back(burst, str(e), delay=None)
            return
        except Exception as e:  # classifier or database down: the rows are processed again later
            log.warning("forward burst of %s not filed yet: %r", user_id, e)
            await self._give_back(burst, repr(e), delay=30.0)
            return
        log.info(
            "forward burst of %s: %d messages, %d tickets",
            user_id,
            result.messages,
            len(result.filed),
        )
        self.worker.wake()

    async def _give_back(self, burst: Burst, error: str, delay: float | None) -> None:
        try:
            if delay is None:
                await self.deps.plumbing(queues.fail_inbox, [(r, error) for r in burst.rows])
            else:
                await self.deps.plumbing(
                    queues.finish_inbox, retry=[(r, error, delay) for r in burst.rows]
                )
        except Exception as e:  # the rows stay claimed and are taken again after the claim timeout
            log.warning("could not give back forward rows %s: %r", burst.rows, e)

    async def close(self) -> None:
        """File every open burst now (at shutdown)."""
        for user_id in list(self._bursts):
            burst = self._bursts[user_id]
            if burst.timer is not None:
                burst.timer.cancel()
            self._start_flush(user_id)
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
