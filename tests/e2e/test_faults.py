"""Nothing is lost and nothing is done twice beyond what the README states, with the real bot SIGKILLed at
random moments (once right after a restart) and Rasa stopped for a while.

The same messages — group chatter and demands in a bound grid group that wants replies, and residents'
private reports told over four turns — are pushed twice through the loopback Bot API: once with no
faults, once with the faults. Each run has its own group and residents. Then, message by message:

- every update has an inbox row, and every row ends ``done``;
- each group message ends as it did without faults (a ticket, a review item, or nothing);
- each resident ends with the tickets they had without faults;
- a message the outbox holds once was delivered once: deliveries beyond the outbox's rows (a message
  sent, the bot killed before recording it) are counted and must stay within ``MAX_DUPLICATE_SENDS``,
  the bound the README states. The run prints its figures for the README.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.e2e.conftest import STAFF_CHAT, Stack
from tickets.models import ChatBinding, InboxItem, OutboxItem, Person, ReviewItem, Ticket

ROOT = Path(__file__).resolve().parents[2]
#: The README's bound on messages delivered twice in this test (three kills, one Rasa outage).
MAX_DUPLICATE_SENDS = 3
#: Kills of the bot (more for measuring: MINWEI_FAULT_KILLS=20).
KILLS = int(os.environ.get("MINWEI_FAULT_KILLS", "3"))
GRID = "YX-SG-XF-02"
DEMANDS = [
    "康乐楼{n}楼楼道灯坏咗成个礼拜，黑麻麻",
    "石岗市场门口垃圾堆咗三日，好臭（{n}）",
    "康乐苑{n}栋电梯又停咗，阿婆落唔到楼",
    "幸福路有个井盖松咗，{n}号门口，夜晚好危险",
    "康乐苑地下车库成日有人乱停车，堵住消防通道（{n}）",
]
CHATTER = [
    "早晨！今日好天（{n}）",
    "收到，唔该晒",
    "哈哈哈哈😂",
    "听日饮茶？{n}点",
    "荔枝团购接龙：{n}. 阿珍 两箱",
    "晚安各位",
]
RESIDENT_TURNS = [
    "康乐苑{n}栋门口盏路灯唔着成个礼拜",
    "对",
    "冇相",
    "可以",
]


@dataclass
class Run:
    """One push of the same messages with its own group and residents."""

    name: str
    group: int
    first_user: int
    residents: int
    group_messages: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)


def seed(e2e: Stack, run: Run) -> None:
    e2e.telegram.group(run.group, f"康乐苑业主群（{run.name}）")
    with e2e.db.unit_of_work() as uow:
        grid = e2e.domain().units(uow.session).get(GRID)
        uow.session.add(
            ChatBinding(
                chat_id=run.group, title="康乐苑业主群", grid_id=grid.id, reply_in_group=True
            )
        )
        uow.commit()


def push(e2e: Stack, run: Run, texts: list[str], faults: bool) -> None:
    """Push group messages and residents' turns interleaved, about 50 a second."""
    telegram = e2e.telegram
    neighbours = [telegram.user(run.first_user + 500 + k, f"邻居{k}") for k in range(8)]
    residents = [telegram.user(run.first_user + k, f"居民{k}") for k in range(run.residents)]
    chat = telegram.chats[run.group]
    turns = [(r, t.format(n=k + 1)) for t in RESIDENT_TURNS for k, r in enumerate(residents)]
    rng = random.Random(7)
    for i, text in enumerate(texts):
        message = telegram.message(neighbours[i % len(neighbours)], text, chat=chat)
        run.group_messages.append((message, text))
        if i % 6 == 5 and turns:
            user, said = turns.pop(0)
            telegram.message(user, said)
        time.sleep(0.02 if rng.random() < 0.9 else 0.1)
    for user, said in turns:
        telegram.message(user, said)
        time.sleep(0.02)


def wait_done(e2e: Stack, run: Run, timeout: float = 240.0) -> None:
    """Until every update of the run is handled and every message sent."""
    chats = [run.group, *range(run.first_user, run.first_user + run.residents)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with e2e.db.session() as s:
            unfinished = s.scalar(
                select(func.count(InboxItem.id)).where(InboxItem.status != "done")
            )
            unsent = s.scalar(
                select(func.count(OutboxItem.id)).where(
                    OutboxItem.status.in_(("pending", "sending")),
                    OutboxItem.chat_id.in_([*chats, STAFF_CHAT]),
                )
            )
            stored = s.scalar(select(func.max(InboxItem.update_id))) or 0
        if unfinished == 0 and unsent == 0 and stored >= max(e2e.telegram.pushed_at):
            return
        time.sleep(0.5)
    raise AssertionError(
        f"{run.name}: not done within {timeout}s ({unfinished} updates, {unsent} sends)"
    )


def outcomes(e2e: Stack, run: Run) -> list[str]:
    """What became of each group message: ticket, review or nothing."""
    with e2e.db.session() as s:
        tickets = set(s.scalars(select(Ticket.message_id).where(Ticket.chat_id == run.group)))
        reviews = set(
            s.scalars(select(ReviewItem.message_id).where(ReviewItem.chat_id == run.group))
        )
    return [
        "ticket" if m["message_id"] in tickets else "review" if m["message_id"] in reviews else "-"
        for m, _ in run.group_messages
    ]


def resident_tickets(e2e: Stack, run: Run) -> list[int]:
    with e2e.db.session() as s:
        return [
            s.scalar(
                select(func.count(Ticket.id))
                .join(Person, Person.id == Ticket.reporter_id)
                .where(
                    Person.telegram_user_id == run.first_user + k,
                    Ticket.chat_id == run.first_user + k,
                )
            )
            or 0
            for k in range(run.residents)
        ]


def duplicates(e2e: Stack, run: Run) -> int:
    """Deliveries beyond the outbox rows, per (chat, text): a message sent twice."""
    chats = [run.group, STAFF_CHAT, *range(run.first_user, run.first_user + run.residents)]
    extra = 0
    with e2e.db.session() as s:
        rows = Counter(
            (c, p["text"])
            for c, p, method in s.execute(
                select(OutboxItem.chat_id, OutboxItem.payload, OutboxItem.method).where(
                    OutboxItem.chat_id.in_(chats), OutboxItem.status == "sent"
                )
            )
            if method == "sendMessage"
        )
    for chat in chats:
        delivered = Counter((chat, m["text"]) for m in e2e.telegram.sent(chat))
        for key, n in delivered.items():
            if rows.get(key, 0) and n > rows[key]:
                extra += n - rows[key]
    return extra


def test_no_message_is_lost_or_done_twice_beyond_the_stated_bound_through_crashes(
    e2e: Stack,
) -> None:
    rng = random.Random(20261207)
    texts = [rng.choice(DEMANDS if rng.random() < 0.4 else CHATTER).format(n=n) for n in range(240)]
    calm = Run("无故障", -100777001, 30_000, 15)
    rough = Run("有故障", -100777002, 31_000, 15)
    for run in (calm, rough):
        seed(e2e, run)
    e2e.bot.stop()
    e2e.start_bot()  # picks up the bindings just written

    t0 = time.monotonic()
    push(e2e, calm, texts, faults=False)
    wait_done(e2e, calm)
    calm_dups = duplicates(e2e, calm)
    print(f"calm run {time.monotonic() - t0:.1f}s")

    # Killing the bot drops its open HTTP calls to Rasa, which logs each as an ERROR.
    e2e.expect_errors("rest.message.received.timeout")
    if os.environ.get("MINWEI_FAULTS_NO_JOURNAL"):  # for measuring what the journal saves
        e2e.bot.env["BOT_SEND_JOURNAL"] = ""
    kills = 0
    started = time.monotonic()
    pusher = threading.Thread(target=push, args=(e2e, rough, texts, True))
    pusher.start()
    time.sleep(rng.uniform(1.0, 2.5))
    for n in range(KILLS):
        e2e.bot.kill()
        kills += 1
        e2e.start_bot()
        if n == 1:  # Rasa down for a while: residents' turns wait in the inbox and are retried
            e2e.rasa.stop()
            time.sleep(8)
            e2e.rasa.start(timeout=400)
        # right after a restart (the backlog and a burst of sends), or a little later
        time.sleep(rng.uniform(0.3, 1.0) if n % 2 == 0 else rng.uniform(0.5, 2.0))
    pusher.join()
    # Turns that failed while Rasa was down wait for their retry time; make them due now.
    with e2e.db.unit_of_work() as uow:
        uow.session.execute(
            InboxItem.__table__.update()
            .where(InboxItem.status == "pending")
            .values(not_before=None)
        )
        uow.commit()
    wait_done(e2e, rough, timeout=300)
    seconds = time.monotonic() - started

    assert outcomes(e2e, rough) == outcomes(e2e, calm)
    assert resident_tickets(e2e, rough) == resident_tickets(e2e, calm) == [1] * calm.residents
    with e2e.db.session() as s:
        assert s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status != "done")) == 0
    rough_dups = duplicates(e2e, rough)
    report = {
        "updates_per_run": len(texts) + calm.residents * len(RESIDENT_TURNS),
        "group_messages": len(texts),
        "tickets_from_group": outcomes(e2e, rough).count("ticket"),
        "review_items": outcomes(e2e, rough).count("review"),
        "resident_tickets": sum(resident_tickets(e2e, rough)),
        "kills": kills,
        "rasa_outage_seconds": 8,
        "journal": not os.environ.get("MINWEI_FAULTS_NO_JOURNAL"),
        "lost": 0,
        "duplicate_sends_without_faults": calm_dups,
        "duplicate_sends_with_faults": rough_dups,
        "seconds_with_faults": round(seconds, 1),
    }
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "faults.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(json.dumps(report, ensure_ascii=False))
    assert calm_dups == 0
    assert rough_dups <= MAX_DUPLICATE_SENDS * max(1, KILLS // 3)
