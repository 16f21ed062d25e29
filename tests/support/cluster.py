"""Several real bot workers on one PostgreSQL database, fed through their webhooks, and the figures that
say whether anything was lost, done twice or done out of order (tests/bot/test_cluster_faults.py and
benchmarks/bench_cluster.py).

Telegram is the loopback Bot API server (``FakeTelegram``): users' updates are generated there and
posted to the workers' webhooks by ``Balancer`` — round robin, and on a refused connection the next
worker, which is what a load balancer in front of the webhooks does — and the workers' replies are
sent to it. The traffic mixes what needs no Rasa: a bound grid group that wants replies (demands and
chatter), a grid member's bursts of forwards, and residents' commands in private chats (``/id`` and
``/help``, whose replies differ, so their order can be checked).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from bot import texts
from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer, free_port
from tickets import migrate, units
from tickets.db import Database
from tickets.models import ChatBinding, InboxItem, OutboxItem, Person, Ticket, Unit
from tickets.settings import DATA_DIR
from tickets.statuses import Role

GROUP = -100880001
STAFF_CHAT = -100880002
GRID = "YX-SG-XF-01"
MEMBER = 880001
RESIDENTS = range(880100, 880120)
NEIGHBOURS = range(880200, 880230)
DEMANDS = [
    "幸福花园{n}栋楼道灯坏咗成个礼拜，黑麻麻好危险",
    "幸福路{n}号门口井盖松咗，夜晚好危险",
    "幸福花园{n}栋电梯又停咗，阿婆落唔到楼",
    "市场门口垃圾堆咗三日，好臭（{n}）",
]
CHATTER = ["早晨！今日好天（{n}）", "收到，唔该晒（{n}）", "哈哈哈哈😂 {n}", "听日饮茶？{n}点"]


def prepare(url: str) -> Database:
    """A migrated database with the units, a grid member and the bound grid group."""
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        grid = uow.session.scalar(select(Unit).where(Unit.code == GRID))
        assert grid is not None
        uow.session.add(
            Person(
                role=Role.GRID_MEMBER, telegram_user_id=MEMBER, unit_id=grid.id, display_name="小李"
            )
        )
        uow.session.add(
            ChatBinding(chat_id=GROUP, title="幸福花园业主群", grid_id=grid.id, reply_in_group=True)
        )
        uow.commit()
    return db


@dataclass
class Worker:
    process: processes.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"


def workers(
    count: int,
    *,
    url: str,
    telegram: FakeTelegramServer,
    workdir: Path,
    lease: float = 2.0,
    redis_url: str | None = None,
) -> list[Worker]:
    """``count`` bot workers in webhook mode on one database, each with its own id and journal;
    Telegram's send limits are shared through Redis at ``redis_url``, else through the database."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("BOT_", "TELEGRAM_", "RASA_", "DATABASE_", "REDIS_", "STAFF_", "PYTEST")
        )
    }
    (workdir / "journals").mkdir(parents=True, exist_ok=True)
    found = []
    for n in range(1, count + 1):
        port = free_port()
        env = {
            **base,
            "DATABASE_URL": url,
            "MINWEI_DATA_DIR": str(DATA_DIR),
            "STAFF_CHAT_ID": str(STAFF_CHAT),
            "TELEGRAM_BOT_TOKEN": "123456:CLUSTER",
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "RASA_URL": "http://127.0.0.1:9",  # not used: no free text in private chats
            "BOT_MODE": "webhook",
            "BOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
            "BOT_WEBHOOK_PORT": str(port),
            "BOT_WORKER_ID": f"bot{n}",
            "BOT_LEASE_SECONDS": str(lease),
            "BOT_SEND_JOURNAL": str(workdir / "journals" / f"bot{n}.journal"),
            "BOT_INBOX_POLL_SECONDS": "0.2",
            "BOT_OUTBOX_POLL_SECONDS": "0.1",
            "BOT_FORWARD_BURST_SECONDS": "1.0",
            "BOT_SUPERVISION_SECONDS": "0",
            # Hundreds of replies in one group: Telegram's 20 a minute would make the run wait for
            # minutes (the shared limiter itself is tested in tests/bot/test_plumbing.py).
            "BOT_GROUP_MESSAGES_PER_MINUTE": "60000",
            "BOT_MESSAGES_PER_SECOND": "1000",
            "PYTHONUNBUFFERED": "1",
            **({"REDIS_URL": redis_url} if redis_url else {}),
        }
        process = processes.Process(
            f"bot{n}", [processes.APP_PY, "-m", "bot"], env, workdir / f"bot{n}.log"
        )
        found.append(Worker(process, port))
    return found


def wait_listening(worker: Worker, timeout: float = 180.0) -> None:
    """Until the worker's webhook answers (an empty body: 400)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc = worker.process.process
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{worker.process.name} exited; see {worker.process.log}")
        try:
            httpx.post(worker.url, content=b"{}", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{worker.process.name} did not listen; see {worker.process.log}")


@dataclass
class Balancer:
    """Round robin over the workers' webhooks; a worker that refuses is skipped (as a load balancer's
    health check would), and Telegram's redelivery is a retry until some worker stored the update."""

    workers: list[Worker]
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))
    _next: int = 0
    retries: int = 0

    def post(self, update: dict[str, Any]) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for _ in range(len(self.workers)):
                worker = self.workers[self._next % len(self.workers)]
                self._next += 1
                try:
                    if self.client.post(worker.url, json=update).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                self.retries += 1
            time.sleep(0.2)
        raise RuntimeError(f"no worker took update {update['update_id']}")

    def close(self) -> None:
        self.client.close()


def blast(url: str, updates: list[dict[str, Any]], connections: int = 8) -> None:
    """POST ``updates`` to ``url`` over ``connections`` keep-alive HTTP/1.1 connections, as Telegram's
    servers would, each update retried until it is answered 200. Bodies are encoded before the first
    request, and the requests are written by hand on asyncio streams: httpx spent 1.4–1.6 ms of CPU a
    request, a tenth of the whole cluster's CPU a message, on the two cores it shares with the cluster."""
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    bodies = [json.dumps(u, ensure_ascii=False).encode() for u in updates]
    head = f"POST {parsed.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"

    async def connection(todo: list[bytes]) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        refused = 0  # in a row: two minutes of refusals and the run is broken
        while todo:
            if refused > 600:
                raise RuntimeError(f"no worker took an update in 2 minutes: {todo[-1][:200]!r}")
            body, status, close = todo[-1], 0, True
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                status, close = int((await reader.readline()).split()[1]), False
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                    elif name.strip().lower() == "connection" and "close" in value.lower():
                        close = True
                await reader.readexactly(length)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                status, close = 0, True
            if status == 200:
                todo.pop()
                refused = 0
            if close or status != 200:  # a refusal or a broken connection: a new one, later
                if writer is not None:
                    writer.close()
                reader = writer = None
            if status != 200:
                refused += 1
                await asyncio.sleep(0.2)
        if writer is not None:
            writer.close()

    async def run() -> None:
        shares = [bodies[k::connections][::-1] for k in range(connections)]
        await asyncio.gather(*(connection(share) for share in shares if share))

    asyncio.run(run())


@dataclass
class Traffic:
    """The users and what they said, and what each resident should get back, in order."""

    telegram: FakeTelegram
    rng: random.Random = field(default_factory=lambda: random.Random(16))
    expected_private: dict[int, list[str]] = field(default_factory=dict)
    pushed: int = 0
    n: int = 0

    def __post_init__(self) -> None:
        self.chat = self.telegram.group(GROUP, "幸福花园业主群")
        self.telegram.group(STAFF_CHAT, "云溪区工作群")
        self.member = self.telegram.user(MEMBER, "网格员小李")
        self.residents = [self.telegram.user(u, f"街坊{u % 100}") for u in RESIDENTS]
        self.neighbours = [self.telegram.user(u, f"邻居{u % 100}") for u in NEIGHBOURS]

    def next_updates(self) -> list[dict[str, Any]]:
        """One step of the mix: a group message, a resident's command, or a burst of forwards."""
        self.n += 1
        roll = self.rng.random()
        if roll < 0.6:
            who = self.rng.choice(self.neighbours)
            pool = DEMANDS if self.rng.random() < 0.3 else CHATTER
            self.telegram.message(who, self.rng.choice(pool).format(n=self.n), chat=self.chat)
        elif roll < 0.9:
            resident = self.rng.choice(self.residents)
            command = self.rng.choice(["/id", "/help"])
            self.telegram.message(resident, command)
            expected = texts.whoami(resident["id"], None, None) if command == "/id" else texts.HELP
            self.expected_private.setdefault(resident["id"], []).append(expected)
        else:
            for k in range(self.rng.randint(2, 4)):
                origin = self.rng.choice(self.neighbours)
                text = self.rng.choice(DEMANDS).format(n=self.n * 10 + k)
                self.telegram.forward(self.member, text, origin)
        updates = self.telegram.take_updates()
        self.pushed += len(updates)
        return updates


def settled(db: Database, traffic: Traffic) -> bool:
    with db.session() as s:
        stored = s.scalar(select(func.count(InboxItem.id))) or 0
        open_in = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status != "done"))
        open_out = s.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(("pending", "sending")))
        )
    return stored >= traffic.pushed and open_in == 0 and open_out == 0


def wait_settled(db: Database, traffic: Traffic, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if settled(db, traffic):
            return True
        time.sleep(0.3)
    return False


def excess_replies(db: Database, traffic: Traffic) -> dict[tuple[int, str], int]:
    """Each (chat, text) Telegram delivered more often than the outbox queued it, and how often more."""
    with db.session() as s:
        queued = Counter(
            (chat_id, payload.get("text"))
            for chat_id, payload in s.execute(
                select(OutboxItem.chat_id, OutboxItem.payload).where(
                    OutboxItem.method == "sendMessage"
                )
            )
        )
    delivered: Counter[tuple[int, str]] = Counter()
    for (chat_id, _), message in list(traffic.telegram.bot_messages.items()):
        delivered[(chat_id, message.get("text") or "")] += 1
    return {key: n - queued[key] for key, n in delivered.items() if n > queued[key]}


def figures(db: Database, traffic: Traffic) -> dict[str, int]:
    """``pushed``, ``handled``, ``lost``, ``duplicated_tickets``, ``duplicated_replies``,
    ``out_of_order`` and ``failed_sends`` of the run so far."""
    telegram = traffic.telegram
    with db.session() as s:
        handled = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status == "done")) or 0
        per_message = s.execute(
            select(Ticket.chat_id, Ticket.message_id, func.count(Ticket.id))
            .where(Ticket.message_id.is_not(None))
            .group_by(Ticket.chat_id, Ticket.message_id)
        ).all()
        failed = s.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.status == "failed"))
    out_of_order = 0
    for resident, expected in traffic.expected_private.items():
        got = telegram.texts(resident)
        out_of_order += sum(1 for a, b in zip(got, expected, strict=False) if a != b)
        out_of_order += abs(len(got) - len(expected))
    return {
        "pushed": traffic.pushed,
        "handled": int(handled),
        "lost": max(0, traffic.pushed - int(handled)),
        "duplicated_tickets": sum(n - 1 for _, _, n in per_message if n > 1),
        "duplicated_replies": sum(excess_replies(db, traffic).values()),
        "out_of_order": out_of_order,
        "failed_sends": int(failed or 0),
    }


def unfinished(db: Database) -> list[tuple[Any, ...]]:
    """Inbox rows not done and outbox rows not sent (for a failing run's message)."""
    with db.session() as s:
        rows: list[tuple[Any, ...]] = [
            ("inbox", i.update_id, i.kind, i.status, i.claimed_by, i.attempts, i.error)
            for i in s.scalars(select(InboxItem).where(InboxItem.status != "done"))
        ]
        rows += [
            ("outbox", o.id, o.kind, o.status, o.claimed_by, o.attempts, o.last_error)
            for o in s.scalars(select(OutboxItem).where(OutboxItem.status != "sent"))
        ]
    return rows
