"""The send journal: what Telegram accepted, written down the instant it answered.

Telegram has no idempotency key, so a message sent and not yet recorded as sent is sent again by whoever
claims its outbox row next: at least once. The outbox records results in the database a few milliseconds
after the send (in batches, behind other writers on SQLite); a bot killed inside that window re-sent
those messages on restart. The journal closes most of the window: the moment a send returns, one line
``<row id> <telegram message id>`` is written to a local append-only file with a single ``write(2)``
(the kernel keeps it even when the process is SIGKILLed the next instant). At start, before any row is
claimed, the journal is replayed into the database and emptied. What remains of the window is the time
between Telegram's answer and that write — measured by the fault test, stated in the README.

Each bot process has its own journal file (``BOT_SEND_JOURNAL``); the processes of one host keep
theirs in one directory. A worker that takes over rows whose owner's lease ran out reads every journal
in that directory first (``delivered``), so a row the dead worker delivered and did not record is
recorded, not sent again. A worker on another host cannot read them; on PostgreSQL the results reach
the database a few milliseconds after the send, so that remaining window is small.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

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

    def record(self, row_id: int, message_id: int | None) -> None:
        """Write down that row ``row_id`` was delivered (one ``write``, before anything else)."""
        if self._fd is None:
            return
        line = f"{row_id} {message_id if message_id is not None else '-'}\n".encode()
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
            found.update(_read(path))
        return found

    def delivered(self, row_ids: set[int]) -> dict[int, int | None]:
        """Which of ``row_ids`` any journal in this directory (this worker's and its peers') has."""
        found: dict[int, int | None] = {}
        paths = sorted(self.path.parent.glob("*.journal")) + sorted(
            self.path.parent.glob("*.journal.old")
        )
        for path in paths:
            for row_id, message_id in _read(path).items():
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


def _read(path: Path) -> dict[int, int | None]:
    found: dict[int, int | None] = {}
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return found
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            continue  # a line cut short by a crash
        found[int(parts[0])] = int(parts[1]) if parts[1].isdigit() else None
    return found
