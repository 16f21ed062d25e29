"""Updates in: long polling (default) or a webhook. Every update is written to the inbox before anything
else happens to it, and Telegram is told it was received only after that write committed.

Polling advances the getUpdates offset only past stored updates; the webhook answers 200 only after the
commit. When the database is down the updates stay with Telegram (redelivered later) and residents who
wrote in private are told once, directly, to bear with us.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from typing import Any

from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.deps import Deps
from bot.worker import InboxWorker
from tickets import queues
from tickets.errors import StoreUnavailable

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "poll_answer",
]
#: Remember this many update ids we already told "稍后再试" while the database was down.
TOLD_MEMORY = 10_000
#: At most this many webhook updates in one inbox transaction (the rest wait for the next).
GROUP_COMMIT = 100


def describe(payload: dict[str, Any], bot_id: int) -> tuple[str, int | None]:
    """The inbox ``kind`` and chat id of a raw update (see ``tickets.queues.ORDERED_KINDS``)."""
    if "callback_query" in payload:
        message = payload["callback_query"].get("message") or {}
        return "callback", (message.get("chat") or {}).get("id")
    if "edited_message" in payload:
        return "edited", payload["edited_message"]["chat"]["id"]
    if "my_chat_member" in payload:
        return "member", payload["my_chat_member"]["chat"]["id"]
    if "poll_answer" in payload:  # one voter's answers in order: keyed like their private chat
        answer = payload["poll_answer"]
        voter = answer.get("user") or answer.get("voter_chat") or {}
        return "poll_answer", voter.get("id")
    message = payload.get("message")
    if not message:
        return "other", None
    chat = message["chat"]
    private = chat.get("type") == "private"
    if private and "forward_origin" in message:
        return "forward", chat["id"]
    text = message.get("text") or ""
    if text.startswith("/"):
        return "command", chat["id"]
    if private:
        return "private", chat["id"]
    replied = (message.get("reply_to_message") or {}).get("from") or {}
    if replied.get("id") == bot_id:
        return "reply", chat["id"]
    return "group", chat["id"]


def stored(payload: dict[str, Any], bot_id: int) -> queues.StoredUpdate:
    kind, chat_id = describe(payload, bot_id)
    return queues.StoredUpdate(int(payload["update_id"]), payload, kind, chat_id)


class Ingest:
    """What both ways in share: store, wake the worker, and the database-down reply."""

    def __init__(self, bot: Bot, deps: Deps, worker: InboxWorker) -> None:
        self.bot = bot
        self.deps = deps
        self.worker = worker
        self._told: dict[int, None] = {}
        self.received = 0

    async def store(self, updates: list[queues.StoredUpdate]) -> None:
        """Store ``updates`` (raises StoreUnavailable after telling private senders to wait)."""
        try:
            await self.deps.plumbing(queues.store_updates, updates)
        except StoreUnavailable:
            await self._tell_later(updates)
            raise
        self.received += len(updates)
        self.worker.wake()

    async def _tell_later(self, updates: list[queues.StoredUpdate]) -> None:
        for u in updates:
            message = u.payload.get("message") or {}
            chat = message.get("chat") or {}
            if chat.get("type") != "private" or u.update_id in self._told:
                continue
            self._told[u.update_id] = None
            if len(self._told) > TOLD_MEMORY:
                self._told.pop(next(iter(self._told)))
            try:
                await self.bot.send_message(chat_id=chat["id"], text=texts.TRY_LATER)
            except TelegramError as e:
                log.warning("could not tell chat %s to wait: %s", chat.get("id"), e)


class PollingIngest(Ingest):
    async def run(self, stopping: asyncio.Event) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        backoff = 1.0
        while not stopping.is_set():
            try:
                updates = await self._poll(offset, stopping)
            except (InvalidToken, Conflict) as e:
                log.error("getUpdates refused (%s); retrying in 30s", e)
                await _sleep(stopping, 30)
                continue
            except NetworkError as e:
                log.warning("getUpdates failed (%s); retrying in %.0fs", e, backoff)
                await _sleep(stopping, backoff)
                backoff = min(30.0, backoff * 2)
                continue
            backoff = 1.0
            if not updates:
                continue
            batch = [stored(u, self.bot.id) for u in updates]
            while not stopping.is_set():
                try:
                    await self.store(batch)
                    break
                except StoreUnavailable as e:
                    log.warning("inbox unavailable, keeping updates with Telegram: %s", e)
                    await _sleep(stopping, backoff)
                    backoff = min(30.0, backoff * 2)
            else:
                return  # stopping: the updates were not stored, Telegram redelivers them
            offset = int(updates[-1]["update_id"]) + 1

    async def _raw_updates(self, offset: int | None) -> list[dict[str, Any]]:
        """getUpdates as Telegram's JSON: stored as it came, parsed once when processed."""
        timeout = self.deps.config.poll_timeout
        with warnings.catch_warnings():
            # PTB suggests Bot.get_updates, which would parse every update only to be serialised again.
            warnings.filterwarnings("ignore", message=".*getUpdates.*", category=PTBUserWarning)
            result = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    **({"offset": offset} if offset is not None else {}),
                    "timeout": timeout,
                    "limit": 100,
                    "allowed_updates": ALLOWED_UPDATES,
                },
                read_timeout=timeout + 10,
            )
        return list(result) if isinstance(result, list) else []

    async def _poll(self, offset: int | None, stopping: asyncio.Event) -> list[dict[str, Any]]:
        poll = asyncio.ensure_future(self._raw_updates(offset))
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([poll, stop], return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await poll
            return []
        return poll.result()


class WebhookIngest(Ingest):
    """A small HTTP endpoint for Telegram's webhook; 200 only after the update is in the inbox.

    Requests that arrive while an insert is committing are stored together by the next one (group
    commit): one transaction per burst instead of one per update, and no waiting when it is quiet."""

    def __init__(self, bot: Bot, deps: Deps, worker: InboxWorker) -> None:
        super().__init__(bot, deps, worker)
        self._waiting: list[tuple[queues.StoredUpdate, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def receive(self, update: queues.StoredUpdate) -> None:
        """Return once ``update`` is stored (raises StoreUnavailable when it could not be)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((update, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit())
        await future  # a caller that hangs up cancels its own future only; its update is stored

    async def _commit(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:GROUP_COMMIT], self._waiting[GROUP_COMMIT:]
            error: BaseException | None = None
            try:
                await self.store([u for u, _ in batch])
            except StoreUnavailable as e:
                error = e
            except Exception as e:  # nothing stored: every caller answers 5xx, Telegram redelivers
                log.exception("webhook: storing %d updates failed", len(batch))
                error = e
            for _, future in batch:
                if future.done():  # its caller hung up
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

    async def run(self, stopping: asyncio.Event) -> None:
        import uvicorn
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        config = self.deps.config
        secret = config.webhook_secret

        async def receive(request: Request) -> Response:
            if secret and request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return Response(status_code=403)
            try:
                payload = await request.json()
                update = stored(payload, self.bot.id)
            except (ValueError, KeyError, TypeError):
                return Response(status_code=400)
            try:
                await self.receive(update)
            except StoreUnavailable as e:
                log.warning("inbox unavailable, asking Telegram to redeliver: %s", e)
                return Response(status_code=503)
            return Response(status_code=200)

        path = "/" + (
            config.webhook_url.split("/", 3)[3] if config.webhook_url.count("/") >= 3 else ""
        )

        async def healthz(request: Request) -> Response:  # the load balancer's health check
            return Response("ok", status_code=200)

        app = Starlette(
            routes=[
                Route("/healthz", healthz, methods=["GET"]),
                Route(path or "/", receive, methods=["POST"]),
            ]
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=config.webhook_listen,
                port=config.webhook_port,
                log_level="warning",
                lifespan="off",
            )
        )
        await self.bot.set_webhook(
            url=config.webhook_url,
            secret_token=secret or None,
            allowed_updates=ALLOWED_UPDATES,
        )
        serving = asyncio.create_task(server.serve())
        await stopping.wait()
        server.should_exit = True
        await serving


async def _sleep(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
