"""How long an urgent ticket's card waits when it is filed just behind a burst of ordinary cards to the
same duty chat, and how long until every ticket of the burst is in that chat: before (one card after
the other, in the order they were filed: the outbox as it was) and after (urgent first, the backlog
folded into digest messages), with the same Telegram limits.

The real bot process (``python -m bot``) sends to a Bot API server on loopback. The burst is filed in
one transaction, the urgent ticket in the next; the clock starts when the urgent one is committed.
"Before" runs the same code with backlog digests off (``BOT_BACKLOG_DIGEST_SECONDS=0``) and the urgent
card queued at ordinary priority: every row of one priority is claimed in the order it was queued,
which is the outbox's order before priorities. A run that has not finished after ``--timeout``
seconds is reported as such (with how far it got)::

    .venv/bin/python -m benchmarks.bench_outbox_priority --cards 500 --group-per-minute 300
    .venv/bin/python -m benchmarks.bench_outbox_priority --cards 500 --modes after

Prints one line per run and, as its last line, a JSON list of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import update

from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer
from tests.tickets.factories import classified
from tickets import migrate, outbox, services, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import OutboxItem
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Source

DUTY = -100880001
CODE = re.compile(r"MW-\d{8}-\d{4}")
ORDINARY = "幸福花园{n}栋楼道灯坏咗成个礼拜，黑麻麻"
URGENT = "幸福花园3栋电线短路冒烟，好大阵烧焦味"


def prepare(url: str) -> tuple[Database, Domain]:
    db = Database(url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=url, staff_chat_id=DUTY, data_dir=DATA_DIR))
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    return db, domain


def file(
    db: Database, domain: Domain, texts: list[str], *, urgent: bool, as_before: bool = False
) -> list[str]:
    """File tickets in one transaction; ``as_before``: their cards queued at ordinary priority."""
    with db.unit_of_work() as uow:
        tickets = [
            services.file_ticket(
                session=uow.session,
                domain=domain,
                text=text,
                source=Source.GROUP,
                classification=classified(
                    "utilities" if urgent else "road_facility",
                    urgent=urgent,
                    text=text,
                    locations=["幸福花园"],
                ),
            )
            for text in texts
        ]
        if as_before:
            uow.session.flush()
            uow.session.execute(
                update(OutboxItem)
                .where(OutboxItem.ticket_id.in_([t.id for t in tickets]))
                .values(priority=outbox.ORDINARY)
            )
        codes = [t.code for t in tickets]
        uow.commit()
    return codes


def listed(telegram: FakeTelegram) -> set[str]:
    return {c for t in telegram.texts(DUTY) for c in CODE.findall(t)}


def run(mode: str, cards: int, per_minute: float, timeout: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="minwei-outprio-"))
    db, domain = prepare(f"sqlite:///{workdir / 'outprio.sqlite3'}")
    telegram = FakeTelegram()
    telegram.group(DUTY, "值班工作群")
    server = FakeTelegramServer(telegram).start()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_", "STAFF_"))
    }
    env.update(
        {
            "DATABASE_URL": db.url,
            "STAFF_CHAT_ID": str(DUTY),
            "TELEGRAM_BOT_TOKEN": "123456:OUTPRIO",
            "TELEGRAM_API_BASE_URL": server.base_url,
            "BOT_POLL_TIMEOUT": "2",
            "BOT_OUTBOX_POLL_SECONDS": "0.2",
            "BOT_SEND_JOURNAL": str(workdir / "outbox.journal"),
            "BOT_GROUP_MESSAGES_PER_MINUTE": str(per_minute),
            "BOT_BACKLOG_DIGEST_SECONDS": "0" if mode == "before" else "2",
            "BOT_SUPERVISION_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    bot = processes.bot(env, workdir).start()
    try:
        deadline = time.monotonic() + 120
        while not telegram.calls_to("getUpdates"):  # the bot is up
            assert time.monotonic() < deadline, f"the bot did not start; see {bot.log}"
            time.sleep(0.1)
        burst = file(db, domain, [ORDINARY.format(n=n) for n in range(cards)], urgent=False)
        (urgent,) = file(db, domain, [URGENT], urgent=True, as_before=mode == "before")
        started = time.monotonic()
        urgent_after = all_after = None
        deadline = started + timeout
        while time.monotonic() < deadline and all_after is None:
            seen = listed(telegram)
            now = time.monotonic() - started
            if urgent_after is None and urgent in seen:
                urgent_after = now
            if urgent in seen and set(burst) <= seen:
                all_after = now
            time.sleep(0.05)
        texts = telegram.texts(DUTY)
        return {
            "mode": mode,
            "cards": cards,
            "group_per_minute": per_minute,
            "urgent_delivered_s": round(urgent_after, 2) if urgent_after is not None else None,
            "all_listed_s": round(all_after, 2) if all_after is not None else None,
            "tickets_listed": len(listed(telegram) & {*burst, urgent}),
            "messages": len(texts),
            "digests": sum(t.startswith("📋 新工单") for t in texts),
            "timeout_s": timeout,
            "errors": bot.errors(),
        }
    finally:
        bot.stop()
        server.stop()
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=500, help="ordinary cards in the burst")
    parser.add_argument(
        "--group-per-minute", type=float, default=20.0, help="Telegram's group limit"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="give a run up after this")
    parser.add_argument("--modes", nargs="+", default=["before", "after"])
    args = parser.parse_args(argv)
    results = []
    for mode in args.modes:
        r = run(mode, args.cards, args.group_per_minute, args.timeout)
        results.append(r)
        urgent = f"{r['urgent_delivered_s']} s" if r["urgent_delivered_s"] is not None else "—"
        every = f"{r['all_listed_s']} s" if r["all_listed_s"] is not None else "—"
        print(
            f"{mode:6}: {args.cards} cards at {args.group_per_minute:g}/min in the group: urgent card "
            f"after {urgent}, every ticket in the chat after {every} "
            f"({r['tickets_listed']} listed, {r['messages']} messages, {r['digests']} digests, "
            f"gave up after {args.timeout:g} s)"
        )
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
