"""The outbox sender: delivers queued messages within Telegram's limits and never drops one.

Limits: about 30 messages a second overall and 20 a minute in any one group, shared by every bot process
on PostgreSQL (``bot.limits``). ``RetryAfter`` reschedules the
row for exactly as long as Telegram asks; network errors back off exponentially; a chat that blocked the
bot or no longer exists marks the row failed with the reason. Each chat gets its messages in order,
urgent ones first (``tickets.queues``); a group chat buried under more ordinary new-ticket cards than
it may get in a minute gets them as one digest (``tickets.usecases.backlog``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Poll,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.deps import Deps
from bot.limits import SendLimits, make_limits
from tickets import queues
from tickets.errors import StoreUnavailable
from tickets.usecases import backlog, groupstatus, photos

log = logging.getLogger(__name__)

MAX_TEXT = 4096
#: BadRequest descriptions that mean the message can never be delivered.
PERMANENT = ("chat not found", "user not found", "bot was kicked", "chat_write_forbidden")
#: BadRequest descriptions that mean the edit already took effect.
ALREADY_DONE = ("message is not modified",)


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = error.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text at line breaks into pieces Telegram accepts."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return pieces


def markup(data: dict[str, Any] | None, bot: Bot) -> Any:
    """A stored reply_markup (Bot API JSON) as python-telegram-bot's object."""
    if not data:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, bot)
    if data.get("force_reply"):
        return ForceReply(selective=data.get("selective"))
    if data.get("remove_keyboard"):
        return ReplyKeyboardRemove()
    return None


def _reply_parameters(p: dict[str, Any]) -> ReplyParameters | None:
    params = p.get("reply_parameters")
    return ReplyParameters.de_json(params, None) if params else None


async def _send_message(bot: Bot, p: dict[str, Any]) -> Any:
    return await bot.send_message(
        chat_id=p["chat_id"],
        text=p["text"],
        reply_markup=markup(p.get("reply_markup"), bot),
        reply_parameters=_reply_parameters(p),
    )


async def _edit_text(bot: Bot, p: dict[str, Any]) -> Any:
    return await bot.edit_message_text(
        chat_id=p["chat_id"],
        message_id=p["message_id"],
        text=p["text"],
        reply_markup=markup(p.get("reply_markup"), bot),
    )


async def _edit_markup(bot: Bot, p: dict[str, Any]) -> Any:
    return await bot.edit_message_reply_markup(
        chat_id=p["chat_id"],
        message_id=p["message_id"],
        reply_markup=markup(p.get("reply_markup"), bot),
    )


async def _send_photo(bot: Bot, p: dict[str, Any]) -> Any:
    """A photo by Telegram file id, or the bytes of a stored photo (``photo_bytes``, filled in by the
    sender from ``photo_id``: the cleaned image without EXIF, never the file as the resident sent it)."""
    photo = p["photo_bytes"] if "photo_bytes" in p else p["photo"]
    return await bot.send_photo(
        chat_id=p["chat_id"],
        photo=InputFile(photo, filename="photo.jpg") if isinstance(photo, bytes) else photo,
        caption=p.get("text") or None,
        reply_markup=markup(p.get("reply_markup"), bot),
        reply_parameters=_reply_parameters(p),
    )


async def _send_poll(bot: Bot, p: dict[str, Any]) -> Any:
    """A non-anonymous poll (民微实事 votes): the bot then receives every answer."""
    return await bot.send_poll(
        chat_id=p["chat_id"],
        question=p["question"],
        options=list(p["options"]),
        is_anonymous=bool(p.get("is_anonymous", False)),
        allows_multiple_answers=False,
        allows_revoting=True,  # a resident may change or take back the answer
        allow_adding_options=False,  # the options are the project's for and against
    )


async def _stop_poll(bot: Bot, p: dict[str, Any]) -> Any:
    """Close a poll the bot sent (the vote is over); answers after it are refused by Telegram."""
    return await bot.stop_poll(chat_id=p["chat_id"], message_id=p["message_id"])


#: The outbox ``method`` column → the Bot API call that delivers the row.
METHODS: dict[str, Callable[[Bot, dict[str, Any]], Awaitable[Any]]] = {
    "sendMessage": _send_message,
    "editMessageText": _edit_text,
    "editMessageReplyMarkup": _edit_markup,
    "sendPhoto": _send_photo,
    "sendPoll": _send_poll,
    "stopPoll": _stop_poll,
}


class OutboxSender:
    def __init__(self, bot: Bot, deps: Deps, *, batch: int = 60) -> None:
        self.bot = bot
        self.deps = deps
        self.batch = batch
        self.limits: SendLimits = make_limits(deps)
        self._tasks: set[asyncio.Task[None]] = set()
        self._results: list[queues.SendResult] = []
        self._flusher: asyncio.Task[None] | None = None
        #: Rows claimed and not yet recorded: the heartbeat renews exactly these leases.
        self._held: set[int] = set()
        self._next_fold = 0.0
        self.sent = 0

    def held(self) -> list[int]:
        return list(self._held)

    async def run(self, stopping: asyncio.Event) -> None:
        backoff = 1.0
        while not stopping.is_set():
            self.deps.outbox_ready.clear()
            await self._fold_backlog()
            capacity = self.batch - len(self._tasks)
            rows: list[queues.OutboxRow] = []
            if capacity > 0:
                try:
                    rows = await self.deps.plumbing(
                        queues.claim_outbox,
                        limit=capacity,
                        owner=self.deps.owner,
                        lease=self.deps.lease,
                    )
                    backoff = 1.0
                except StoreUnavailable as e:
                    log.warning("outbox: database unavailable, retrying in %.0fs: %s", backoff, e)
                    await self._wait(stopping, backoff)
                    backoff = min(30.0, backoff * 2)
                    continue
            self._held.update(r.id for r in rows)
            delivered, polls = await self._delivered_by_the_dead(rows)
            for row in rows:
                if row.id in delivered:
                    poll_id, options = polls.get(row.id, (None, ()))
                    self._record(
                        queues.SendResult(
                            row.id,
                            "sent",
                            message_id=delivered[row.id],
                            poll_id=poll_id,
                            poll_options=options,
                        )
                    )
                    continue
                task = asyncio.create_task(self._send(row), name=f"outbox-{row.id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if capacity <= 0 or len(rows) < capacity:
                # Everything claimable now was taken (one row a chat): claiming again at once found
                # nothing, a third of the sender's transactions on grid-group intake (one staff chat,
                # a card at a time). A result recorded or a message queued wakes it sooner.
                await self._wait(stopping, self.deps.config.outbox_poll_seconds)

    async def _fold_backlog(self) -> None:
        """Every ``backlog_digest_seconds``: fold the ordinary cards of group chats buried under
        more than a minute's worth into digests (``tickets.usecases.backlog``)."""
        every = self.deps.config.backlog_digest_seconds
        if every <= 0 or time.monotonic() < self._next_fold:
            return
        self._next_fold = time.monotonic() + every
        budget = max(1, int(self.deps.config.group_messages_per_minute))
        try:
            digests = await self.deps.plumbing(backlog.fold, self.deps.domain, budget=budget)
        except StoreUnavailable as e:
            log.warning("outbox: could not fold the backlog: %s", e)
            return
        if digests:
            log.info("outbox: backlog folded into %d digest messages", len(digests))

    async def _wait(self, stopping: asyncio.Event, seconds: float) -> None:
        waiters = [
            asyncio.ensure_future(self.deps.outbox_ready.wait()),
            asyncio.ensure_future(stopping.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _delivered_by_the_dead(
        self, rows: list[queues.OutboxRow]
    ) -> tuple[dict[int, int | None], dict[int, tuple[str, tuple[str, ...]]]]:
        """Rows taken over from a worker whose lease ran out that its journal says it delivered (and
        the polls among them): the journal files of this host, and the copy in Redis (any host)."""
        taken = {r.id for r in rows if r.taken_over}
        found: dict[int, int | None] = {}
        polls: dict[int, tuple[str, tuple[str, ...]]] = {}
        if taken and self.deps.shared_journal is not None:
            found, polls = await self.deps.shared_journal.delivered(taken)
        if taken and self.deps.journal is not None:
            found.update(self.deps.journal.delivered(taken))
            polls.update(self.deps.journal.polls(taken))
        if found:
            log.info("outbox: %d rows taken over were already delivered (journal)", len(found))
        return found, polls

    async def _send(self, row: queues.OutboxRow) -> None:
        try:
            result = await self._deliver(row)
        except Exception as e:  # a bug, not Telegram: keep the row for later and say so loudly
            log.exception("outbox: row %s could not be sent", row.id)
            result = queues.SendResult(row.id, "retry", error=repr(e))
        if result.outcome == "sent":
            poll = (result.poll_id, result.poll_options) if result.poll_id is not None else None
            if self.deps.journal is not None:
                self.deps.journal.record(row.id, result.message_id, poll)  # before anything else
            if self.deps.shared_journal is not None:  # for a worker on another host
                await self.deps.shared_journal.record(row.id, result.message_id, poll)
        if result.outcome == "sent":
            self.sent += 1
        self._record(result)

    def _record(self, result: queues.SendResult) -> None:
        self._results.append(result)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_after(0.005))

    async def _flush_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        backoff = 0.5
        while self._results:
            if await self._flush():
                backoff = 0.5
            else:  # kept for the next try; the leases are renewed meanwhile
                await asyncio.sleep(backoff)
                backoff = min(10.0, backoff * 2)
        self.deps.outbox_ready.set()  # the chats' next messages may be claimable now

    async def _deliver(self, row: queues.OutboxRow) -> queues.SendResult:
        try:
            message_id, poll = await self._call(row)
        except RetryAfter as e:
            seconds = retry_after_seconds(e)
            log.warning("outbox: RetryAfter %.0fs for chat %s", seconds, row.chat_id)
            return queues.SendResult(row.id, "retry", error=str(e), retry_after=seconds)
        except Forbidden as e:
            log.warning("outbox: chat %s refused the message: %s", row.chat_id, e.message)
            return queues.SendResult(
                row.id, "failed", error=f"Forbidden: {e.message}", refused=row.chat_id > 0
            )
        except BadRequest as e:
            text = e.message.lower()
            if any(p in text for p in ALREADY_DONE):
                return queues.SendResult(row.id, "sent")
            level = logging.WARNING if any(p in text for p in PERMANENT) else logging.ERROR
            log.log(
                level, "outbox: Telegram rejected row %s (%s): %s", row.id, row.method, e.message
            )
            return queues.SendResult(row.id, "failed", error=f"BadRequest: {e.message}")
        except NetworkError as e:  # includes TimedOut
            log.warning("outbox: network error for row %s: %s", row.id, e)
            return queues.SendResult(row.id, "retry", error=f"{type(e).__name__}: {e}")
        except TelegramError as e:
            log.warning("outbox: Telegram error for row %s: %s", row.id, e)
            return queues.SendResult(row.id, "retry", error=f"{type(e).__name__}: {e}")
        return queues.SendResult(
            row.id,
            "sent",
            message_id=message_id,
            poll_id=poll.id if poll is not None else None,
            poll_options=tuple(o.persistent_id for o in poll.options) if poll is not None else (),
        )

    async def _call(self, row: queues.OutboxRow) -> tuple[int | None, Poll | None]:
        """Deliver ``row``; returns the (last) message id and, for a poll, Telegram's poll."""
        payload = dict(row.payload)
        pieces = [payload]
        if row.method == "sendMessage" and len(payload.get("text", "")) > MAX_TEXT:
            markup = payload.pop("reply_markup", None)
            pieces = [{**payload, "text": t} for t in split_text(payload["text"])]
            if markup is not None:
                pieces[-1]["reply_markup"] = markup
        call = METHODS.get(row.method)
        if call is None:
            raise BadRequest(f"unknown outbox method {row.method}")
        if row.method == "sendPhoto" and "photo_id" in payload:
            payload["photo_bytes"] = await self.deps.read(
                photos.outbox_image, int(payload["photo_id"])
            )
        message_id: int | None = None
        poll: Poll | None = None
        for piece in pieces:
            await self.limits.acquire(row.chat_id)
            result = await call(self.bot, piece)
            if isinstance(result, Message):
                message_id = result.message_id
                poll = result.poll
        return message_id, poll

    async def _flush(self) -> bool:
        """Record the results so far; False when the database could not (they are kept)."""
        if not self._results:
            return True
        results, self._results = self._results, []
        try:
            await self.deps.plumbing(queues.finish_outbox, results, owner=self.deps.owner)
        except StoreUnavailable as e:
            # Kept for the next try. Should this worker die first, the rows stay "sending" and are
            # taken over after their lease; the journal (replayed at start, read by whoever takes
            # them over) keeps the delivered ones from being sent again.
            log.warning("outbox: could not record %d results: %s", len(results), e)
            self._results[:0] = results
            return False
        self._held.difference_update(r.row_id for r in results)
        refused = [r.row_id for r in results if r.outcome == "failed" and r.refused]
        if refused:  # residents who never started the bot: their group is told instead
            try:
                await self.deps.write(groupstatus.refused, self.deps.domain, refused)
            except StoreUnavailable as e:
                log.warning(
                    "outbox: could not tell groups of %d refused notices: %s", len(refused), e
                )
        return True

    async def drain(self, timeout: float = 10.0) -> None:
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*self._tasks, return_exceptions=True), timeout
                )
        if self._flusher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(self._flusher, return_exceptions=True), timeout
                )
        await self._flush()
