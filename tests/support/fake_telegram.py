"""A small Telegram Bot API for tests: users and chats produce updates, the bot's calls are recorded.

One core (``FakeTelegram``) behind two faces:

- ``FakeRequest``: python-telegram-bot's request layer replaced in-process (handler tests);
- ``FakeTelegramServer``: the same API over HTTP on 127.0.0.1 (end-to-end tests and the benchmark run the
  real bot process with ``TELEGRAM_API_BASE_URL=http://127.0.0.1:<port>/bot``).

Methods: getMe, getUpdates (offset semantics and long polling), deleteWebhook, setWebhook, sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, sendPoll and stopPoll (and ``poll_answer``
updates as Telegram sends them for non-anonymous polls), sendPhoto (by file id or uploaded bytes) and
getFile with the file download (``/file/bot<token>/<file_path>``) of the photos users send
(``send_photo``, ``send_document``). Faults (429 with retry_after, 403, 400, network errors) can be
injected per method (``getFile`` included; ``download`` for the file download).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "民微",
    "username": "minwei_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": True,
    "supports_inline_queries": False,
}


class FakeNetworkError(Exception):
    """Raised inside the in-process request layer to simulate a dropped connection."""


@dataclass
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def _user(uid: int, first_name: str, username: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    return user


class FakeTelegram:
    """The shared state: chats, pending updates, messages the bot sent, and every API call."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.bot_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.pushed_at: dict[int, float] = {}
        self.confirmed = 0
        #: Called with each message the bot sent, once Telegram has accepted it (fault injection).
        self.on_sent: list[Callable[[dict[str, Any]], None]] = []
        #: Files users sent and photos the bot uploaded, by file id: (file_path, bytes).
        self.files: dict[str, tuple[str, bytes]] = {}
        self._file_ids = itertools.count(1)

    # ------------------------------------------------------------------ people and chats

    def user(self, uid: int, first_name: str, username: str | None = None) -> dict[str, Any]:
        user = _user(uid, first_name, username)
        self.chats[uid] = {"id": uid, "type": "private", "first_name": first_name}
        return user

    def group(self, chat_id: int, title: str) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        if chat_id not in self._message_ids:
            self._message_ids[chat_id] = itertools.count(1)
        return next(self._message_ids[chat_id])

    # ------------------------------------------------------------------ what users do

    def push(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            update = {"update_id": next(self._update_ids), kind: body}
            self._updates.append(update)
            self.pushed_at[update["update_id"]] = time.time()
            self._cond.notify_all()
        return update

    def message(
        self,
        user: dict[str, Any],
        text: str | None = None,
        *,
        chat: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """``user`` writes ``text`` (in private unless ``chat`` is given); returns the message."""
        chat = chat or self.chats[user["id"]]
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.push("message", message)
        return message

    def add_file(self, data: bytes, suffix: str = "jpg") -> tuple[str, str]:
        """Keep ``data`` as a Telegram file; returns its (file_id, file_unique_id)."""
        n = next(self._file_ids)
        file_id = f"AgACAgUAAx{n:06d}fake"
        with self._cond:
            self.files[file_id] = (f"photos/file_{n}.{suffix}", data)
        return file_id, f"uq{n:06d}"

    def send_photo(
        self,
        user: dict[str, Any],
        data: bytes,
        *,
        caption: str | None = None,
        size: tuple[int, int] = (1280, 960),
        file_size: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """``user`` sends a photo (Telegram gives sizes of it; the largest is ``data``)."""
        file_id, unique = self.add_file(data)
        thumb_id, thumb_unique = self.add_file(data[:64])
        width, height = size
        sizes = [
            {"file_id": thumb_id, "file_unique_id": thumb_unique, "width": 90, "height": 67},
            {
                "file_id": file_id,
                "file_unique_id": unique,
                "width": width,
                "height": height,
                "file_size": len(data) if file_size is None else file_size,
            },
        ]
        if caption is not None:
            extra["caption"] = caption
        return self.message(user, None, photo=sizes, **extra)

    def send_document(
        self,
        user: dict[str, Any],
        data: bytes,
        *,
        mime_type: str = "image/jpeg",
        file_name: str = "IMG_0001.jpg",
        caption: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """``user`` sends a file (an image sent "as a file" keeps its EXIF)."""
        file_id, unique = self.add_file(data, file_name.rsplit(".", 1)[-1])
        document = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        if caption is not None:
            extra["caption"] = caption
        return self.message(user, None, document=document, **extra)

    def download(self, file_path: str) -> tuple[int, bytes]:
        """The file download (``/file/bot<token>/<file_path>``)."""
        with self._cond:
            self.calls.append(Call("download", {"file_path": file_path}))
            found = [data for path, data in self.files.values() if path == file_path]
        fault = self._fault_for("download", {})
        if fault is not None:
            if fault.status == 0:
                raise FakeNetworkError(fault.description)
            return fault.status, fault.description.encode()
        if not found:
            return 404, b"Not Found"
        return 200, found[0]

    def reply_to(
        self, user: dict[str, Any], bot_message: dict[str, Any], text: str
    ) -> dict[str, Any]:
        return self.message(user, text, chat=bot_message["chat"], reply_to_message=bot_message)

    def forward(
        self, user: dict[str, Any], text: str, origin: dict[str, Any], *, date: int | None = None
    ) -> dict[str, Any]:
        """``user`` forwards a message written by ``origin`` (a user dict, or a forward_origin dict)."""
        when = date or int(time.time()) - 60
        if "type" not in origin:
            origin = {"type": "user", "date": when, "sender_user": origin}
        return self.message(user, text, forward_origin={"date": when, **origin})

    def edit(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.push("edited_message", edited)
        return edited

    def press(
        self, user: dict[str, Any], bot_message: dict[str, Any], label: str
    ) -> dict[str, Any]:
        """``user`` presses the button labelled ``label`` under ``bot_message`` (its current state)."""
        current = self.bot_messages[(bot_message["chat"]["id"], bot_message["message_id"])]
        buttons = [
            b for row in current.get("reply_markup", {}).get("inline_keyboard", []) for b in row
        ]
        matching = [b for b in buttons if b["text"] == label]
        if not matching:
            raise AssertionError(f"no button {label!r} under: {current.get('text')!r} ({buttons})")
        query = {
            "id": str(next(self._update_ids) * 1000),
            "from": user,
            "chat_instance": str(current["chat"]["id"]),
            "data": matching[0]["callback_data"],
            "message": current,
        }
        return self.push("callback_query", query)

    def answer_poll(
        self, user: dict[str, Any], poll_message: dict[str, Any], option_ids: list[int]
    ) -> dict[str, Any]:
        """``user`` answers the poll of ``poll_message`` (``[]``: retracts the vote). Telegram sends a
        ``poll_answer`` only for non-anonymous polls, with the poll's id and no chat."""
        poll = self.bot_messages[(poll_message["chat"]["id"], poll_message["message_id"])]["poll"]
        if poll["is_anonymous"]:
            raise AssertionError("Telegram sends no poll_answer for anonymous polls")
        if poll["is_closed"]:
            raise AssertionError("a closed poll takes no answers")
        ids = [poll["options"][i]["persistent_id"] for i in option_ids]
        return self.push(
            "poll_answer",
            {
                "poll_id": poll["id"],
                "user": user,
                "option_ids": option_ids,
                "option_persistent_ids": ids,
            },
        )

    def add_bot_to(self, user: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
        member = {"user": BOT}
        return self.push(
            "my_chat_member",
            {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": {**member, "status": "left"},
                "new_chat_member": {**member, "status": "member"},
            },
        )

    # ------------------------------------------------------------------ faults

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (to ``chat_id``) fail; status 0 = network error."""
        self.faults.append(Fault(method, status, description, retry_after, times, chat_id))

    def _fault_for(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0:
                if fault.chat_id is not None and int(params.get("chat_id", 0)) != fault.chat_id:
                    continue
                fault.times -= 1
                return fault
        return None

    # ------------------------------------------------------------------ the Bot API

    def pending_updates(self, offset: int | None) -> list[dict[str, Any]]:
        with self._cond:
            if offset is not None:
                before = len(self._updates)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self.confirmed += before - len(self._updates)
            return list(self._updates)

    def take_updates(self) -> list[dict[str, Any]]:
        """Pending updates, removed: a webhook delivers them instead of getUpdates."""
        with self._cond:
            taken, self._updates = self._updates, []
            return taken

    def wait_updates(self, offset: int | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(offset is None or u["update_id"] >= offset for u in self._updates):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one API call (getUpdates without waiting: see ``wait_updates``)."""
        with self._cond:
            self.calls.append(Call(method, params))
        fault = self._fault_for(method, params)
        if fault is not None:
            if fault.status == 0:
                raise FakeNetworkError(fault.description)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.status, body
        handler = getattr(self, "_api_" + method, None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return handler(params)

    @staticmethod
    def _ok(result: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _bad(description: str, status: int = 400) -> tuple[int, dict[str, Any]]:
        return status, {"ok": False, "error_code": status, "description": description}

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(BOT)

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(True)

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(True)

    def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params["offset"]) if params.get("offset") is not None else None
        limit = int(params.get("limit") or 100)
        return self._ok(self.pending_updates(offset)[:limit])

    def _chat(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return self.chats.get(int(params["chat_id"]))

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = self._chat(params)
        if chat is None:
            return self._bad("Bad Request: chat not found")
        if chat["id"] in self.blocked:
            return self._bad("Forbidden: bot was blocked by the user", 403)
        text = params.get("text") or ""
        if not text.strip():
            return self._bad("Bad Request: message text is empty")
        if len(text) > 4096:
            return self._bad("Bad Request: message is too long")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT,
            "text": text,
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        with self._cond:
            self.bot_messages[(chat["id"], message["message_id"])] = message
            self._cond.notify_all()
        for hook in list(self.on_sent):
            hook(message)
        return self._ok(message)

    def _api_getFile(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = str(params.get("file_id") or "")
        with self._cond:
            found = self.files.get(file_id)
        if found is None:
            return self._bad("Bad Request: invalid file_id")
        path, data = found
        return self._ok(
            {
                "file_id": file_id,
                "file_unique_id": "uq" + file_id[-10:],
                "file_size": len(data),
                "file_path": path,
            }
        )

    def _api_sendPhoto(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A photo by file id, or uploaded (``params["photo"]`` is then the bytes)."""
        chat = self._chat(params)
        if chat is None:
            return self._bad("Bad Request: chat not found")
        photo = params.get("photo")
        if isinstance(photo, bytes):
            file_id, unique = self.add_file(photo)
            data = photo
        elif isinstance(photo, str) and photo in self.files:
            file_id, unique, data = photo, "uq" + photo[-10:], self.files[photo][1]
        else:
            return self._bad("Bad Request: wrong file identifier/HTTP URL specified")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT,
            "photo": [
                {"file_id": file_id, "file_unique_id": unique, "width": 1, "height": 1},
            ],
            "photo_bytes": data,  # what was sent, for the tests (not a Bot API field)
        }
        if params.get("caption"):
            message["caption"] = params["caption"]
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and reply.get("message_id"):
            replied = self.bot_messages.get((chat["id"], int(reply["message_id"])))
            if replied is not None:
                message["reply_to_message"] = replied
        with self._cond:
            self.bot_messages[(chat["id"], message["message_id"])] = message
            self._cond.notify_all()
        return self._ok({k: v for k, v in message.items() if k != "photo_bytes"})

    def photos_sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The photo messages the bot sent to ``chat_id`` (``photo_bytes``: what it uploaded)."""
        return [m for m in self.sent(chat_id) if "photo" in m]

    def _api_sendPoll(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = self._chat(params)
        if chat is None:
            return self._bad("Bad Request: chat not found")
        question = params.get("question") or ""
        if not 1 <= len(question) <= 300:
            return self._bad("Bad Request: poll question length must not exceed 300")
        raw = params.get("options") or []
        options = [o["text"] if isinstance(o, dict) else str(o) for o in raw]
        if not 2 <= len(options) <= 10:
            return self._bad("Bad Request: poll must have at least 2 option")
        anonymous = params.get("is_anonymous")
        anonymous = anonymous not in (False, "false", "False", 0)
        if not anonymous and chat.get("type") == "channel":
            return self._bad("Bad Request: non-anonymous polls can't be sent to channel chats")
        poll_id = str(5_000_000_000_000_000_000 + next(self._update_ids))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT,
            "poll": {
                "id": poll_id,
                "question": question,
                # Opaque, as Telegram's are: nothing may read a position out of them.
                "options": [
                    {"text": o, "voter_count": 0, "persistent_id": _persistent_id(poll_id, n)}
                    for n, o in enumerate(options)
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": anonymous,
                "type": "regular",
                "allows_multiple_answers": bool(params.get("allows_multiple_answers")),
                # Bot API 9.6/10.0: regular polls allow changing the answer unless told otherwise;
                # members_only is for channels.
                "allows_revoting": params.get("allows_revoting") not in (False, "false", 0),
                "members_only": False,
            },
        }
        with self._cond:
            self.bot_messages[(chat["id"], message["message_id"])] = message
            self._cond.notify_all()
        return self._ok(message)

    def _api_stopPoll(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.bot_messages.get(key)
        if message is None or "poll" not in message:
            return self._bad("Bad Request: message with poll to stop not found")
        if message["poll"]["is_closed"]:
            return self._bad("Bad Request: poll has already been closed")
        closed = {**message, "poll": {**message["poll"], "is_closed": True}}
        with self._cond:
            self.bot_messages[key] = closed
            self._cond.notify_all()
        return self._ok(closed["poll"])

    def polls(self, chat_id: int) -> list[dict[str, Any]]:
        """The poll messages the bot sent to ``chat_id``."""
        return [m for m in self.sent(chat_id) if "poll" in m]

    def _edit(self, params: dict[str, Any], text: str | None) -> tuple[int, dict[str, Any]]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.bot_messages.get(key)
        if message is None:
            return self._bad("Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        new = dict(message)
        if text is not None:
            new["text"] = text
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            new["reply_markup"] = markup
        else:
            new.pop("reply_markup", None)
        if new == message:
            return self._bad(
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message"
            )
        new["edit_date"] = int(time.time())
        with self._cond:
            self.bot_messages[key] = new
            self._cond.notify_all()
        return self._ok(new)

    def _api_editMessageText(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._edit(params, params.get("text") or "")

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._edit(params, None)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(True)

    # ------------------------------------------------------------------ what tests look at

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to ``chat_id`` (as they are now, after edits), oldest first."""
        with self._cond:
            return [m for (c, _), m in sorted(self.bot_messages.items()) if c == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        """What the bot's text messages to ``chat_id`` say (polls have no text)."""
        return [m["text"] for m in self.sent(chat_id) if "text" in m]

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def wait_for_message(
        self, chat_id: int, contains: str, *, after: int = 0, timeout: float = 30.0
    ) -> dict[str, Any]:
        """The first message to ``chat_id`` (from index ``after``) containing ``contains``."""
        found: list[dict[str, Any]] = []

        def check() -> bool:
            found[:] = [m for m in self.sent(chat_id)[after:] if contains in m.get("text", "")]
            return bool(found)

        if not self.wait_until(check, timeout):
            raise AssertionError(
                f"no message containing {contains!r} in chat {chat_id} within {timeout}s; "
                f"the bot sent: {self.texts(chat_id)[after:]}"
            )
        return found[0]


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeRequest(BaseRequest):
    """python-telegram-bot's HTTP layer replaced by ``FakeTelegram`` in the same process."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return 5.0

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
        from telegram.error import NetworkError

        if "/file/bot" in url:
            try:
                return self.telegram.download(url.split("/file/bot", 1)[1].split("/", 1)[1])
            except FakeNetworkError as e:
                raise NetworkError(str(e)) from e
        endpoint = url.rsplit("/", 1)[-1]
        params = {
            k: _decode(v) for k, v in (request_data.parameters if request_data else {}).items()
        }
        if request_data is not None:
            for name, part in request_data.multipart_data.items():
                content = part[1] if isinstance(part, tuple) else part
                params[name] = content if isinstance(content, bytes) else content.read()
        if endpoint == "getUpdates" and params.get("timeout"):
            deadline = time.monotonic() + float(params["timeout"])
            offset = int(params["offset"]) if params.get("offset") is not None else None
            while not self.telegram.pending_updates(offset) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        try:
            status, body = self.telegram.handle(endpoint, params)
        except FakeNetworkError as e:
            raise NetworkError(str(e)) from e
        return status, json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeTelegramServer:
    """``FakeTelegram`` over HTTP on loopback, served from a background thread."""

    def __init__(self, telegram: FakeTelegram, port: int | None = None) -> None:
        self.telegram = telegram
        self.port = port or free_port()
        self._thread: threading.Thread | None = None
        self._server: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        telegram = self.telegram

        async def api(request: Request) -> JSONResponse:
            method = request.path_params["method"]
            params: dict[str, Any] = dict(request.query_params)
            if request.method == "POST":
                content_type = request.headers.get("content-type", "")
                if content_type.startswith("application/json"):
                    params.update(await request.json())
                else:
                    async with request.form() as form:  # closes the uploads' temporary files
                        for k, v in form.items():
                            params[k] = v if isinstance(v, str) else await v.read()
                    # An upload is named by attach://<part>; the part holds the bytes.
                    for k, v in list(params.items()):
                        if isinstance(v, str) and v.startswith("attach://"):
                            params[k] = params.get(v.removeprefix("attach://"), v)
            params = {k: _decode(v) for k, v in params.items()}
            if method == "getUpdates" and params.get("timeout"):
                offset = int(params["offset"]) if params.get("offset") is not None else None
                await asyncio.to_thread(telegram.wait_updates, offset, float(params["timeout"]))
            try:
                status, body = telegram.handle(method, params)
            except FakeNetworkError:
                return JSONResponse(
                    {"ok": False, "error_code": 502, "description": "Bad Gateway"}, 502
                )
            return JSONResponse(body, status)

        async def download(request: Request) -> Response:
            try:
                status, body = telegram.download(request.path_params["path"])
            except FakeNetworkError:
                return Response(b"Bad Gateway", 502)
            return Response(body, status)

        return Starlette(
            routes=[
                Route("/bot{token}/{method}", api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", download, methods=["GET"]),
            ]
        )

    def start(self) -> FakeTelegramServer:
        import uvicorn

        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-telegram", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Telegram server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def _persistent_id(poll_id: str, n: int) -> str:
    """An option's persistent id: unique, stable, and saying nothing of its position."""
    return hashlib.sha256(f"{poll_id}:{n}".encode()).hexdigest()[:12]
