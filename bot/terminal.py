"""Telegram replaced by the terminal, at the Bot API boundary: the bot runs unchanged behind it.

``TerminalTelegram`` is python-telegram-bot's request layer answering the Bot API locally: what the person
types becomes ``getUpdates`` results, and ``sendMessage`` / ``editMessageText`` are printed. Buttons are
printed as ``[1] 对  [2] 不对``; typing the number presses the button.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT = {"id": 1, "is_bot": True, "first_name": "民微", "username": "minwei_terminal_bot"}


class TerminalTelegram(BaseRequest):
    def __init__(
        self,
        *,
        user_id: int,
        name: str,
        staff_chat_id: int | None = None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.user = {"id": user_id, "is_bot": False, "first_name": name}
        self.chat = {"id": user_id, "type": "private", "first_name": name}
        self.staff_chat_id = staff_chat_id
        self.out = out
        self._updates: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._last_with_buttons: dict[str, Any] | None = None
        self.replies = 0

    # -------------------------------------------------------------- the person at the terminal

    def say(self, text: str) -> None:
        """The resident types ``text`` (a number presses a button of the latest message)."""
        buttons = self._buttons(self._last_with_buttons)
        if text.isdigit() and buttons and 1 <= int(text) <= len(buttons):
            assert self._last_with_buttons is not None
            self._push(
                "callback_query",
                {
                    "id": str(next(self._update_ids)),
                    "from": self.user,
                    "chat_instance": str(self.chat["id"]),
                    "data": buttons[int(text) - 1]["callback_data"],
                    "message": self._last_with_buttons,
                },
            )
            return
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        self._push("message", message)

    def _push(self, kind: str, body: dict[str, Any]) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: body})
        self._arrived.set()

    @staticmethod
    def _buttons(message: dict[str, Any] | None) -> list[dict[str, Any]]:
        if not message:
            return []
        rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row if "callback_data" in b]

    def _show(self, message: dict[str, Any], *, edited: bool = False) -> None:
        chat_id = message["chat"]["id"]
        who = "民微" if chat_id == self.chat["id"] else f"民微 → 工作群 {chat_id}"
        if edited:
            who += "（更新）"
        self.out(f"\n{who}：{message['text']}")
        buttons = self._buttons(message)
        if buttons and chat_id == self.chat["id"]:
            self.out("　" + "　".join(f"[{n}] {b['text']}" for n, b in enumerate(buttons, 1)))
            self._last_with_buttons = message

    # -------------------------------------------------------------- the Bot API

    @property
    def read_timeout(self) -> float | None:
        return 30.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        for key, value in list(params.items()):
            if isinstance(value, str) and value[:1] in "{[":
                params[key] = json.loads(value)
        result = await self._answer(endpoint, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _answer(self, endpoint: str, p: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return BOT
        if endpoint == "getUpdates":
            offset = p.get("offset")
            if offset is not None:
                self._updates = [u for u in self._updates if u["update_id"] >= int(offset)]
            if not self._updates and p.get("timeout"):
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), float(p["timeout"]))
            return self._updates[: int(p.get("limit") or 100)]
        if endpoint == "sendMessage":
            chat_id = int(p["chat_id"])
            chat = (
                self.chat if chat_id == self.chat["id"] else {"id": chat_id, "type": "supergroup"}
            )
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": chat,
                "from": BOT,
                "text": p["text"],
            }
            if isinstance(p.get("reply_markup"), dict) and "inline_keyboard" in p["reply_markup"]:
                message["reply_markup"] = p["reply_markup"]
            self._messages[(chat_id, message["message_id"])] = message
            self.replies += 1
            self._show(message)
            return message
        if endpoint in ("editMessageText", "editMessageReplyMarkup"):
            key = (int(p["chat_id"]), int(p["message_id"]))
            message = dict(
                self._messages.get(key) or {"chat": {"id": key[0]}, "message_id": key[1]}
            )
            before = str(message.get("text") or "")
            if "text" in p:
                message["text"] = p["text"]
            message.pop("reply_markup", None)
            if isinstance(p.get("reply_markup"), dict) and "inline_keyboard" in p["reply_markup"]:
                message["reply_markup"] = p["reply_markup"]
            self._messages[key] = message
            if endpoint == "editMessageText" and key[0] == self.chat["id"]:
                after = str(message.get("text") or "")
                if before and after.startswith(before):  # a choice noted under the question
                    self.out("　" + after[len(before) :].strip())
                else:
                    self._show(message, edited=True)
            return message
        if endpoint == "answerCallbackQuery":
            if p.get("text"):
                self.out(f"　ⓘ {p['text']}")
            return True
        return True
