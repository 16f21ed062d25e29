"""The send journal: what Telegram accepted, written down the instant it answered.

Telegram has no idempotency key, so a message sent and not yet recorded as sent is sent again by whoever
claims its outbox row next: at least once. The outbox records results in the database a few milliseconds
after the send (in batches, behind other writers on SQLite); a bot killed inside that window re-sent
those messages on restart. The journal closes most of the window: the moment a send returns, one line
``<row id> <telegram message id>`` is written to a local append-only file with a single ``write(2)``
(the kernel keeps it even when the process is SIGKILLed the next instant). At start, before any row is
claimed, the journal is replayed into the database and emptied. What remains of the window is the time
between Telegram's answer and that write — measured by the fault test, stated in the README.

A delivered ``sendPoll`` (a 民微实事 vote) also writes down the poll's id and its options' persistent ids
on the same line (``<row id> <message id> <poll>``, the poll as base64url JSON): answers to a poll
carry only those, so a poll whose worker died before recording it is still counted once the journal
is replayed or read by the worker that takes the row over.

Each bot process has its own journal file (``BOT_SEND_JOURNAL``); the processes of one host keep
theirs in one directory. A worker that takes over rows whose owner's lease ran out reads every journal
in that directory first (``delivered``), so a row the dead worker delivered and did not record is
recorded, not sent again. A worker on another host cannot read those files: with ``REDIS_URL`` set
each line is also written to Redis right after the file (``SharedJournal``, one key a delivery, kept
a day), and a worker taking rows over reads them there too.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import redis.asyncio as aioredis

from bot.redislink import RedisLink

#: A delivered poll: Telegram's poll id and its options' persistent ids, in order.
SentPoll = tuple[str, tuple[str, ...]]

#: Rotate (start a new file) after this many lines; the replay reads both files.
ROTATE_LINES = 50_000


class SendJournal:
    """Append-only ``row id → message id`` lines; thread-safe; opened in ``post_init``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._old = path.with_suffix(path.suffix + ".old")
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._lines = 0

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, row_id: int, message_id: int | None, poll: SentPoll | None = None) -> None:
        """Write down that row ``row_id`` was delivered (one ``write``, before anything else)."""
        if self._fd is None:
            return
        line = (_line(row_id, message_id, poll) + "\n").encode("ascii")
        with self._lock:
            os.write(self._fd, line)
            self._lines += 1
            if self._lines >= ROTATE_LINES:
                self._rotate()

    def _rotate(self) -> None:
        """Keep the newest lines in ``.old`` and start afresh (the replay reads both)."""
        assert self._fd is not None
        os.close(self._fd)
        os.replace(self.path, self._old)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lines = 0

    def entries(self) -> dict[int, int | None]:
        """Every delivery written down (row id → Telegram message id), old file first."""
        found: dict[int, int | None] = {}
        for path in (self._old, self.path):
            found.update(_read(path)[0])
        return found

    def polls(self, row_ids: set[int] | None = None) -> dict[int, SentPoll]:
        """The polls among the deliveries: this worker's (``row_ids`` None), or those of ``row_ids``
        in any journal of this directory (rows taken over from a dead peer)."""
        found: dict[int, SentPoll] = {}
        paths = (self._old, self.path) if row_ids is None else self._peer_paths()
        for path in paths:
            for row_id, poll in _read(path)[1].items():
                if row_ids is None or row_id in row_ids:
                    found[row_id] = poll
        return found

    def _peer_paths(self) -> list[Path]:
        return sorted(self.path.parent.glob("*.journal")) + sorted(
            self.path.parent.glob("*.journal.old")
        )

    def delivered(self, row_ids: set[int]) -> dict[int, int | None]:
        """Which of ``row_ids`` any journal in this directory (this worker's and its peers') has."""
        found: dict[int, int | None] = {}
        for path in self._peer_paths():
            for row_id, message_id in _read(path)[0].items():
                if row_id in row_ids:
                    found[row_id] = message_id
        return found

    def clear(self) -> None:
        """Empty the journal once its entries are in the database."""
        with self._lock:
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
            self._old.unlink(missing_ok=True)
            self._lines = 0

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class SharedJournal:
    """The journal's copy in Redis, for a worker on another host that takes a dead worker's rows over:
    key ``minwei:sent:<row id>``, value the journal line, expiring after ``TTL_SECONDS`` (a lease is
    seconds, so rows are taken over within minutes; a day of sends is a few megabytes). Written
    after the local file, so it only ever adds to it; while Redis is down the file is all there is
    (``RedisLink``)."""

    PREFIX = "minwei:sent:"
    TTL_SECONDS = 24 * 3600

    def __init__(self, link: RedisLink) -> None:
        self.link = link

    async def record(
        self, row_id: int, message_id: int | None, poll: SentPoll | None = None
    ) -> None:
        line = _line(row_id, message_id, poll)
        await self.link.run(lambda r: r.set(self.PREFIX + str(row_id), line, ex=self.TTL_SECONDS))

    async def delivered(
        self, row_ids: set[int]
    ) -> tuple[dict[int, int | None], dict[int, SentPoll]]:
        """Which of ``row_ids`` any worker wrote down (row id → message id), and the polls among them;
        nothing when Redis cannot be reached."""
        ordered = sorted(row_ids)

        async def read(r: aioredis.Redis) -> list[bytes | str | None]:
            return list(await r.mget([self.PREFIX + str(i) for i in ordered]))

        values = await self.link.run(read) if ordered else None
        return _parse(
            v.decode("ascii", errors="replace") if isinstance(v, bytes) else v
            for v in values or []
            if v is not None
        )


def _line(row_id: int, message_id: int | None, poll: SentPoll | None) -> str:
    text = f"{row_id} {message_id if message_id is not None else '-'}"
    if poll is not None:
        packed = json.dumps([poll[0], list(poll[1])], separators=(",", ":")).encode()
        text += " " + base64.urlsafe_b64encode(packed).decode("ascii")
    return text


def _read(path: Path) -> tuple[dict[int, int | None], dict[int, SentPoll]]:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return {}, {}
    return _parse(text.splitlines())


def _parse(lines: Iterable[str]) -> tuple[dict[int, int | None], dict[int, SentPoll]]:
    found: dict[int, int | None] = {}
    polls: dict[int, SentPoll] = {}
    for line in lines:
        parts = line.split()
        if len(parts) not in (2, 3) or not parts[0].isdigit():
            continue  # a line cut short by a crash
        row_id = int(parts[0])
        if len(parts) == 3:
            poll = _poll(parts[2])
            if poll is None:
                continue  # cut short inside the poll
            polls[row_id] = poll
        found[row_id] = int(parts[1]) if parts[1].isdigit() else None
    return found, polls


def _poll(packed: str) -> SentPoll | None:
    try:
        poll_id, options = json.loads(base64.urlsafe_b64decode(packed.encode("ascii")))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(poll_id, str) or not isinstance(options, list):
        return None
    return poll_id, tuple(str(o) for o in options)
