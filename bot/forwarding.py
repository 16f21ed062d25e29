"""Forwards from grid members arrive as a burst (one update per message); they are coalesced here.

The burst lives in the database (``forward_bursts``), not in a process: each forward's handler adds it
to the member's open burst and parks its inbox row as ``waiting``; every worker's filing loop claims
bursts that have been quiet for ``forward_burst_seconds`` (``FOR UPDATE SKIP LOCKED``, with a lease
like the inbox's) and files them: the tickets, the replies to the grid member, the rows' "done" marks
and the burst's removal in one transaction. A worker dying in between leaves the burst to another
after its lease; filing is idempotent by (chat, message) and the replies by the burst's first update,
so nothing is lost or filed twice whichever worker received which forward.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot import keyboards, texts
from bot.deps import Deps
from bot.worker import InboxWorker
from tickets import queues
from tickets.errors import StoreUnavailable, TicketError
from tickets.queues import Outgoing
from tickets.usecases import forwards
from tickets.usecases.views import ForwardBurstResult, ForwardItem

log = logging.getLogger(__name__)


def to_json(item: ForwardItem) -> dict[str, Any]:
    data = asdict(item)
    data["origin_date"] = item.origin_date.isoformat() if item.origin_date else None
    return data


def from_json(data: dict[str, Any]) -> ForwardItem:
    fields = {k: v for k, v in data.items() if k != "row_id"}
    date = fields.get("origin_date")
    fields["origin_date"] = datetime.fromisoformat(date) if date else None
    return ForwardItem(**fields)


class ForwardCoalescer:
    def __init__(self, deps: Deps, worker: InboxWorker) -> None:
        self.deps = deps
        self.worker = worker
        self._flushes: set[asyncio.Task[None]] = set()
        #: Bursts being filed here: the heartbeat renews exactly these leases.
        self._held: set[int] = set()

    def held(self) -> list[int]:
        return list(self._held)

    async def add(self, user_id: int, item: ForwardItem, row_id: int) -> None:
        """Add a forward to ``user_id``'s burst; the burst is filed after a quiet spell."""
        await self.deps.plumbing(
            queues.add_to_burst,
            user_id=user_id,
            chat_id=item.chat_id,
            item=to_json(item),
            row_id=row_id,
            quiet=timedelta(seconds=self.deps.config.forward_burst_seconds),
        )

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and file quiet bursts until ``stopping`` (open ones stay for the next worker)."""
        interval = min(1.0, max(0.05, self.deps.config.forward_burst_seconds / 4))
        while not stopping.is_set():
            try:
                bursts = await self.deps.plumbing(
                    queues.claim_bursts, owner=self.deps.owner, lease=self.deps.lease
                )
            except StoreUnavailable as e:
                log.warning("forwards: database unavailable: %s", e)
                bursts = []
            for burst in bursts:
                self._held.add(burst.id)
                task = asyncio.create_task(self._flush(burst))
                self._flushes.add(task)
                task.add_done_callback(self._flushes.discard)
            waiters = [asyncio.ensure_future(stopping.wait())]
            try:
                await asyncio.wait(waiters, timeout=interval)
            finally:
                for w in waiters:
                    w.cancel()

    async def _flush(self, burst: queues.BurstRow) -> None:
        try:
            await self._file(burst)
        finally:
            self._held.discard(burst.id)

    async def _file(self, burst: queues.BurstRow) -> None:
        items = [from_json(i) for i in burst.items]
        demands = forwards.coalesce(items)
        key = f"fwd:{min(i.update_id for i in items)}"
        review = self.deps.settings.group_review_threshold
        owner = self.deps.owner

        def record(session: Session) -> ForwardBurstResult | None:
            if not queues.close_burst(session, burst, owner=owner):
                return None  # a peer took it over meanwhile and files it
            result = forwards.file_burst(
                session,
                self.deps.domain,
                forwarder_telegram_id=burst.user_id,
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
            return result

        try:
            results = await self.deps.classifier.classify([d.text for d in demands])
            result = await self.deps.write(record)
        except StoreUnavailable as e:  # down, or a deadlock with a peer: filed again shortly
            log.warning("forward burst of %s not filed yet: %s", burst.user_id, e)
            await self._give_back(burst, str(e), retry_in=2.0)
            return
        except TicketError as e:  # e.g. the member's account was unlinked meanwhile
            log.warning("forward burst of %s refused: %s", burst.user_id, e)
            await self._give_back(burst, str(e), retry_in=None)
            return
        except Exception as e:  # classifier or database down: the burst is filed again later
            log.warning("forward burst of %s not filed yet: %r", burst.user_id, e)
            await self._give_back(burst, repr(e), retry_in=30.0)
            return
        if result is not None:
            log.info(
                "forward burst of %s: %d messages, %d tickets",
                burst.user_id,
                result.messages,
                len(result.filed),
            )
        self.worker.wake()

    async def _give_back(self, burst: queues.BurstRow, error: str, retry_in: float | None) -> None:
        try:
            await self.deps.plumbing(
                queues.give_back_burst, burst, owner=self.deps.owner, error=error, retry_in=retry_in
            )
        except Exception as e:  # the burst stays claimed and is taken again after its lease
            log.warning("could not give back the forward burst of %s: %r", burst.user_id, e)

    async def close(self) -> None:
        """Finish the bursts being filed (at shutdown); open ones wait in the database."""
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
