"""Group messages per second the bot ingests and classifies end to end, and time from update to ticket row.

The real bot process (``python -m bot``) polls a Bot API server on loopback (tests/support/fake_telegram.py)
and writes to a fresh SQLite (or ``--database-url``) database with one bound grid group. Messages from 50
group members are a mix of chatter and demands (``--demand-share``). Two runs:

- ``flood``: ``--messages`` pushed at once; throughput = messages / time until every inbox row is done;
- ``paced``: ``--rate`` messages a second for ``--seconds``; does the bot keep up, and p50/p99 of update →
  ticket row (``tickets.created_at``) and update → inbox row done (``inbox.processed_at``).

    .venv/bin/python -m benchmarks.bench_bot_group --classifier pipeline
    .venv/bin/python -m benchmarks.bench_bot_group --classifier rasa   # Rasa /model/parse (starts Rasa)

The group classifier is the bot's ``BOT_GROUP_CLASSIFIER``; ``rasa`` needs models/rasa/minwei.tar.gz.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from sqlalchemy import func, select

from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer
from tickets import migrate, units
from tickets.db import Database
from tickets.models import ChatBinding, InboxItem, Ticket, Unit
from tickets.settings import DATA_DIR

GROUP = -100123456
GRID = "YX-SG-XF-01"

CHATTER = [
    "早晨！",
    "早晨早晨",
    "今日好热啊",
    "有冇人去饮茶？",
    "九点半楼下茶楼",
    "好啊，我都去",
    "😂😂😂",
    "团购荔枝接龙：1. 老郑 两箱",
    "2. 丽姐 一箱",
    "多谢大家支持",
    "荔枝几时到？",
    "收到，唔该晒",
    "今晚睇唔睇波？",
    "哈哈哈哈",
    "小朋友今日开学，好开心",
    "时间过得真快",
    "晚安各位",
    "记得收衫",
    "周末去边度玩好？",
    "去公园放风筝",
    "生日快乐！",
    "食咗饭未？",
    "今日菜市场啲菜好新鲜",
    "我去接仔放学先",
    "大家好，我系新搬嚟嘅",
    "欢迎欢迎",
    "听日会落雨，出门带遮",
    "👍",
    "好嘢",
]
DEMANDS = [
    "幸福花园3栋电梯又坏咗，我阿妈落唔到楼",
    "北门嗰度垃圾堆咗三日，好臭，有冇人管",
    "东门个井盖松咗，夜晚行过好危险",
    "楼下广场舞晚上十点仲跳，吵到小朋友瞓唔着",
    "地下车库成日有人乱停车，堵住消防通道",
    "5栋楼道灯坏咗成个礼拜，黑麻麻",
    "小区门口积水好深，落雨就浸",
    "楼上漏水漏到我屋企天花",
    "有人喺楼道飞线充电瓶车，好危险",
    "幸福路口嘅红绿灯坏咗，车都乱晒",
]


def messages(n: int, demand_share: float, seed: int = 7) -> list[tuple[int, str]]:
    """(sender id, text) for ``n`` messages; texts are made unique so nothing is cached."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pool = DEMANDS if rng.random() < demand_share else CHATTER
        out.append((90000 + rng.randrange(50), f"{rng.choice(pool)}（{i}）"))
    return out


def prepare(url: str) -> Database:
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        grid = uow.session.scalar(select(Unit).where(Unit.code == GRID))
        assert grid is not None
        if uow.session.scalar(select(ChatBinding).where(ChatBinding.chat_id == GROUP)) is None:
            uow.session.add(ChatBinding(chat_id=GROUP, title="基准测试群", grid_id=grid.id))
        uow.commit()
    return db


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wait_done(db: Database, total: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            done = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status == "done")) or 0
        if done >= total:
            return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"only {done} of {total} updates were processed within {timeout}s")


def latencies(
    db: Database, telegram: FakeTelegram, sent: dict[int, float]
) -> tuple[list[float], list[float]]:
    """(update → ticket row, update → inbox done) in seconds."""
    with db.session() as s:
        tickets = [
            (message_id, created.timestamp())
            for message_id, created in s.execute(
                select(Ticket.message_id, Ticket.created_at).where(Ticket.chat_id == GROUP)
            )
        ]
        done = [
            (payload["message"]["message_id"], processed.timestamp())
            for payload, processed in s.execute(
                select(InboxItem.payload, InboxItem.processed_at).where(InboxItem.status == "done")
            )
            if "message" in payload
        ]
    to_ticket = [at - sent[m] for m, at in tickets if m in sent]
    to_done = [at - sent[m] for m, at in done if m in sent]
    return to_ticket, to_done


def classifier_alone(kind: str, rasa_url: str, model_dir: str, texts: list[str]) -> float:
    """Messages per second of the group classifier by itself, called as the bot calls it."""
    import asyncio

    from bot.rasa import RasaClient, RasaParseClassifier
    from tickets.classification import PipelineClassifier

    async def measure() -> float:
        rasa = RasaClient(rasa_url)
        classifier = (
            PipelineClassifier(Path(model_dir) if model_dir else None)
            if kind == "pipeline"
            else RasaParseClassifier(rasa)
        )
        await classifier.start()
        started = time.perf_counter()
        for i in range(0, len(texts), 128):  # the bot's batch size
            await classifier.classify(texts[i : i + 128])
        rate = len(texts) / (time.perf_counter() - started)
        await classifier.close()
        await rasa.close()
        return rate

    return asyncio.run(measure())


def push(telegram: FakeTelegram, batch: list[tuple[int, str]], sent: dict[int, float]) -> None:
    chat = telegram.chats[GROUP]
    for uid, text in batch:
        user = {"id": uid, "is_bot": False, "first_name": f"街坊{uid % 100}"}
        message = telegram.message(user, text, chat=chat)
        sent[message["message_id"]] = time.time()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--classifier", choices=["pipeline", "rasa"], default="pipeline")
    parser.add_argument("--messages", type=int, default=5000, help="flood run size")
    parser.add_argument("--rate", type=float, default=200.0, help="paced run: messages per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="paced run: duration")
    parser.add_argument("--demand-share", type=float, default=0.2)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--postgres", action="store_true", help="a throw-away PostgreSQL cluster (tests/support)"
    )
    parser.add_argument("--nlu-model", default="", help="NLU model directory (default models/nlu)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="minwei-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    pg = None
    if args.postgres:
        from tests.support import postgres

        pg = postgres.start()
        url = pg.url
    db = prepare(url)
    telegram = FakeTelegram()
    telegram.group(GROUP, "基准测试群")
    server = FakeTelegramServer(telegram).start()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))
    }
    env.update(
        {
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": "123456:BENCH",
            "TELEGRAM_API_BASE_URL": server.base_url,
            "BOT_GROUP_CLASSIFIER": args.classifier,
            **({"BOT_NLU_MODEL_DIR": args.nlu_model} if args.nlu_model else {}),
            "BOT_POLL_TIMEOUT": "5",
            "BOT_STATE_FILE": str(workdir / "state.pickle"),
            "BOT_SEND_JOURNAL": str(workdir / "outbox.journal"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    started: list[processes.Process] = []
    try:
        if args.classifier == "rasa":
            rasa = processes.rasa_server(env, workdir, action_port=1)
            env["RASA_URL"] = rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
            started.append(rasa.start(timeout=400))
        alone = classifier_alone(
            args.classifier,
            env.get("RASA_URL", ""),
            args.nlu_model,
            [t for _, t in messages(2000, args.demand_share, seed=9)],
        )
        bot = processes.bot(env, workdir)
        started.append(bot.start())
        if not telegram.wait_until(lambda: bool(telegram.calls_to("getUpdates")), timeout=300):
            raise SystemExit(f"the bot did not start; see {bot.log}")
        print(f"bot ready ({args.classifier}); database {url}", file=sys.stderr)

        # warm-up: the first batch pays for lazy imports and caches
        sent: dict[int, float] = {}
        push(telegram, messages(200, args.demand_share, seed=1), sent)
        wait_done(db, 200, 300)
        base = 200

        sent = {}
        flood = messages(args.messages, args.demand_share, seed=2)
        t0 = time.monotonic()
        push(telegram, flood, sent)
        t1 = wait_done(db, base + len(flood), 900)
        flood_rate = len(flood) / (t1 - t0)
        flood_ticket, flood_done = latencies(db, telegram, sent)
        base += len(flood)

        sent = {}
        paced = messages(int(args.rate * args.seconds), args.demand_share, seed=3)
        t0 = time.monotonic()
        size = max(1, int(args.rate / 20))  # 20 pushes a second
        for i in range(0, len(paced), size):
            time.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
            push(telegram, paced[i : i + size], sent)
        pushed = time.monotonic()
        t1 = wait_done(db, base + len(paced), 900)
        paced_ticket, paced_done = latencies(db, telegram, sent)
        lag = t1 - pushed
        errors = bot.errors()
    finally:
        for p in reversed(started):
            p.stop()
        server.stop()
        with db.session() as s:
            tickets = s.scalar(select(func.count(Ticket.id))) or 0
        db.dispose()
        if pg is not None:
            cast(Callable[[], None], pg.stop)()

    print(f"\nclassifier: {args.classifier}   database: {db.dialect}   tickets filed: {tickets}")
    print(f"classifier alone (batches of 128, as the bot calls it): {alone:.0f} messages/s")
    print(
        "| run | messages | rate offered | messages/s handled | update→ticket p50 / p99 | update→done p50 / p99 |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| flood | {len(flood)} | all at once | {flood_rate:.0f} | "
        f"{pct(flood_ticket, 0.5):.2f} s / {pct(flood_ticket, 0.99):.2f} s | "
        f"{pct(flood_done, 0.5):.2f} s / {pct(flood_done, 0.99):.2f} s |"
    )
    print(
        f"| paced | {len(paced)} | {args.rate:.0f}/s for {args.seconds:.0f} s | "
        f"{len(paced) / (args.seconds + lag):.0f} (backlog cleared {lag:.1f} s after the last) | "
        f"{pct(paced_ticket, 0.5) * 1000:.0f} ms / {pct(paced_ticket, 0.99) * 1000:.0f} ms | "
        f"{pct(paced_done, 0.5) * 1000:.0f} ms / {pct(paced_done, 0.99) * 1000:.0f} ms |"
    )
    print(f"(mean update→ticket in the paced run: {statistics.fmean(paced_ticket) * 1000:.0f} ms)")
    if errors:
        print(f"\nERROR lines in the bot log ({len(errors)}):", *errors[:5], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
