"""Conversation state of the bot's short dialogues, shared by every bot process through the database.

The staff steps ("写说明") and the rating reason are ``ConversationHandler`` tables: the state of one
person in one chat (``ConversationHandler``'s own key, chat and user) and what the steps keep in
``user_data``. python-telegram-bot keeps both in the process's memory and reads its persistence only at
start, so with two bot workers the second step of a dialogue could land on a worker that never saw the
first. Here the state lives in ``bot_state``: it is loaded into the Application just before an update
is handled, written back right after, and dropped from memory, by whichever worker handles it.
Updates of one chat are claimed one at a time (``tickets.queues``), so the state a step reads is the
one the previous step wrote; within a process, updates of one person are handled one at a time (a lock
per user). Plain group chatter and forwards (claimed freely, out of order) never take part in a step:
a staff member answers a step's question by replying to it, which Telegram's ForceReply does anyway.
"""

from __future__ import annotations

import asyncio
import copy
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ConversationHandler

from bot.deps import Deps
from tickets import botstate

#: Inbox kinds that never take part in a dialogue step (see ``tickets.queues.FREE_KINDS``).
STATELESS_KINDS = ("group", "forward")


def _conversations(app: Application) -> list[ConversationHandler]:
    return [
        h
        for group in app.handlers.values()
        for h in group
        if isinstance(h, ConversationHandler) and h.name
    ]


class SharedState:
    """Load a person's dialogue state before an update and store it after (``around``)."""

    def __init__(self, app: Application, deps: Deps) -> None:
        self.app = app
        self.deps = deps
        self.handlers = _conversations(app)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def around(self, update: Update, kind: str) -> AsyncIterator[None]:
        """Handle ``update`` (of inbox ``kind``) with its person's stored dialogue state."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or not self.handlers or kind in STATELESS_KINDS:
            yield
            return
        lock = self._locks.get(user.id)
        if lock is None:
            lock = self._locks[user.id] = asyncio.Lock()
        async with lock:
            keys = self._keys(user.id, chat.id)
            before = await self.deps.read(botstate.load, list(keys.values()))
            self._apply(user.id, chat.id, keys, before)
            try:
                yield
                after = self._collect(user.id, chat.id, keys)
                changed = {k: v for k, v in after.items() if before.get(k) != v}
                if changed:  # before the inbox row is marked done (the worker does that next)
                    await self.deps.plumbing(botstate.store, changed)
            finally:
                self._apply(user.id, chat.id, keys, {})  # nothing stays in this process's memory

    def _keys(self, user_id: int, chat_id: int) -> dict[str, str]:
        keys = {"user": f"user:{user_id}"}
        for h in self.handlers:
            keys[h.name or ""] = f"conv:{h.name}:{chat_id}:{user_id}"
        return keys

    def _apply(
        self, user_id: int, chat_id: int, keys: dict[str, str], stored: dict[str, Any]
    ) -> None:
        data = self.app.user_data[user_id]
        data.clear()
        data.update(copy.deepcopy(stored.get(keys["user"]) or {}))
        for h in self.handlers:
            state = (stored.get(keys[h.name or ""]) or {}).get("state")
            conversations = h._conversations  # PTB has no public accessor
            if state is None:
                conversations.pop((chat_id, user_id), None)
            else:
                conversations[(chat_id, user_id)] = state

    def _collect(self, user_id: int, chat_id: int, keys: dict[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        data = dict(self.app.user_data.get(user_id) or {})
        found[keys["user"]] = data or None
        for h in self.handlers:
            state = h._conversations.get((chat_id, user_id))
            found[keys[h.name or ""]] = {"state": state} if isinstance(state, int) else None
        return found
