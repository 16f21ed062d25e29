"""How often a message is sent twice when the bot is killed just after Telegram accepted it: the
at-least-once window of the outbox, with and without the send journal (``bot/journal.py``).

The real bot process polls a Bot API server on loopback and replies in a bound grid group to every demand
filed there. Each round pushes a burst of demands, and the instant the fake Telegram has accepted the
``--after``-th reply it schedules a SIGKILL of the bot ``--delay`` milliseconds later; the bot is then
started again and everything is left to finish. A duplicate is a reply delivered more often than the
outbox holds it. Both configurations run in the same session, alternating, so the machine's load is
the same for both:

    .venv/bin/python -m benchmarks.bench_send_window --rounds 10 --delays 0 2 10 50

Prints one line per configuration and, as its last line, a JSON object with the duplicate counts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer
from tickets import migrate, units
from tickets.db import Database
from tickets.models import ChatBinding, InboxItem, OutboxItem, Unit
from tickets.settings import DATA_DIR

GROUP = -100990001
GRID = "YX-SG-XF-01"
DEMAND = "幸福花园{n}栋楼道灯坏咗成个礼拜，黑麻麻好危险"


def prepare(url: str) -> Database:
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        grid = uow.session.scalar(select(Unit).where(Unit.code == GRID))
        assert grid is not None
        uow.session.add(
            ChatBinding(chat_id=GROUP, title="基准测试群", grid_id=grid.id, reply_in_group=True)
        )
        uow.commit()
    return db


def settled(db: Database, telegram: FakeTelegram) -> bool:
    with db.session() as s:
        open_in = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status != "done"))
        open_out = s.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(("pending", "sending")))
        )
        stored = s.scalar(select(func.max(InboxItem.update_id))) or 0
    return open_in == 0 and open_out == 0 and stored >= max(telegram.pushed_at, default=0)


def duplicates(db: Database, telegram: FakeTelegram) -> int:
    with db.session() as s:
        rows = Counter(
            p["text"]
            for (p,) in s.execute(
                select(OutboxItem.payload).where(
                    OutboxItem.chat_id == GROUP, OutboxItem.status == "sent"
                )
            )
        )
    delivered = Counter(m["text"] for m in telegram.sent(GROUP))
    return sum(max(0, n - rows.get(text, 0)) for text, n in delivered.items())


def run(journal: bool, delays: list[float], rounds: int, after: int, burst: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="minwei-window-"))
    db = prepare(f"sqlite:///{workdir / 'window.sqlite3'}")
    telegram = FakeTelegram()
    chat = telegram.group(GROUP, "基准测试群")
    server = FakeTelegramServer(telegram).start()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))
    }
    env.update(
        {
            "DATABASE_URL": db.url,
            "TELEGRAM_BOT_TOKEN": "123456:WINDOW",
            "TELEGRAM_API_BASE_URL": server.base_url,
            "BOT_POLL_TIMEOUT": "2",
            "BOT_INBOX_POLL_SECONDS": "0.2",
            "BOT_OUTBOX_POLL_SECONDS": "0.2",
            "BOT_STATE_FILE": str(workdir / "state.pickle"),
            "BOT_SEND_JOURNAL": str(workdir / "outbox.journal") if journal else "",
            "BOT_GROUP_MESSAGES_PER_MINUTE": "6000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    bot = processes.bot(env, workdir)
    per_delay: dict[str, int] = {}
    n = 0
    try:
        for delay in delays:
            before = duplicates(db, telegram)
            for _ in range(rounds):
                bot.start()
                armed = {"count": 0}

                def kill_soon(
                    message: dict[str, Any], armed: dict[str, int] = armed, delay: float = delay
                ) -> None:
                    armed["count"] += 1
                    if armed["count"] == after and bot.process is not None:
                        pid = bot.process.pid
                        threading.Timer(
                            delay / 1000, lambda: os.killpg(pid, signal.SIGKILL)
                        ).start()

                telegram.on_sent[:] = [kill_soon]
                user = {"id": 4242, "is_bot": False, "first_name": "街坊"}
                for _ in range(burst):
                    n += 1
                    telegram.message(user, DEMAND.format(n=n), chat=chat)
                assert bot.process is not None
                bot.process.wait(timeout=120)
                telegram.on_sent[:] = []
                bot.start()
                deadline = time.monotonic() + 120
                while not settled(db, telegram) and time.monotonic() < deadline:
                    time.sleep(0.2)
                bot.stop()
            per_delay[f"{delay:g}ms"] = duplicates(db, telegram) - before
    finally:
        bot.stop()
        server.stop()
        db.dispose()
    return {"journal": journal, "kills": rounds * len(delays), "duplicates": per_delay}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="kills per delay and configuration")
    parser.add_argument("--delays", type=float, nargs="+", default=[0, 2, 10, 50])
    parser.add_argument("--after", type=int, default=3, help="kill after this many replies")
    parser.add_argument("--burst", type=int, default=12, help="demands pushed per round")
    args = parser.parse_args(argv)
    results = []
    for journal in (False, True):
        result = run(journal, args.delays, args.rounds, args.after, args.burst)
        results.append(result)
        total = sum(result["duplicates"].values())
        print(
            f"journal {'on ' if journal else 'off'}: {total} duplicates in {result['kills']} kills "
            f"just after a send {result['duplicates']}"
        )
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
