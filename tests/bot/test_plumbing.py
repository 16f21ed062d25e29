"""What must hold underneath: the inbox before processing, none twice, nothing lost across restarts and
outages, the outbox retried with backoff and RetryAfter, in order per chat, within Telegram's limits.
Residents' messages go to the real Rasa server (what it got is read from its tracker)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot import texts
from bot.journal import SendJournal, SharedJournal
from bot.redislink import RedisLink
from bot.sender import split_text
from tests.bot.conftest import Harness
from tests.support.fake_telegram import FakeTelegram
from tests.support.processes import Redis
from tests.support.rasa import RasaStack
from tickets import messages, outbox, queues
from tickets.db import Database
from tickets.models import InboxItem, OutboxItem, utcnow

RESIDENT = 501
SENDER = f"tg:{RESIDENT}"
REPORT = "幸福花园3栋电梯又坏咗，我阿妈落唔到楼"
GREET = (
    "您好！我是民微社区诉求助手。小区、街道里遇到什么问题，直接告诉我就行，例如：3栋电梯又坏了。"
)


async def test_every_update_is_in_the_inbox_and_a_redelivered_one_is_handled_once(
    bot: Harness, rasa: RasaStack
) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    bot.telegram.message(chen, "路灯坏咗")
    await bot.settle()
    with bot.db.session() as s:
        item = s.scalars(select(InboxItem)).one()
        assert (item.kind, item.chat_id, item.status) == ("private", RESIDENT, "done")
        assert item.payload["message"]["text"] == "路灯坏咗"
        first = dict(item.payload)
    bot.telegram.push("message", first["message"])  # a new update id: a new message
    with bot.telegram._cond:  # Telegram redelivers the very same update (same id)
        bot.telegram._updates.append(first)
    await bot.settle(timeout=60)
    assert rasa.said(SENDER) == ["路灯坏咗", "路灯坏咗"]
    with bot.db.session() as s:
        assert s.scalar(select(func.count(InboxItem.id))) == 2


async def test_updates_and_messages_left_by_a_crash_are_handled_after_a_restart_none_twice(
    bot: Harness, rasa: RasaStack
) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    await bot.stop()
    bot.telegram.message(chen, "我上周报的路灯修好没有")  # arrives while the bot is down
    with bot.db.unit_of_work() as uow:  # this worker had claimed an update and a message, then died
        queues.store_updates(
            uow.session,
            [
                queues.StoredUpdate(
                    0,
                    {"update_id": 0, "message": {**_message(bot.telegram), "text": "你好"}},
                    "private",
                    RESIDENT,
                )
            ],
        )
        claim = {"claimed_by": bot.config.worker_id, "lease_until": utcnow() + timedelta(hours=1)}
        uow.session.execute(
            update(InboxItem).values(status="processing", claimed_at=utcnow(), **claim)
        )
        outbox.enqueue(uow.session, chat_id=RESIDENT, text="崩溃前未发出的通知", kind="note")
        uow.session.execute(update(OutboxItem).values(status="sending", **claim))
        uow.commit()
    await bot.start()
    await bot.settle(timeout=60)
    assert rasa.said(SENDER) == ["你好", "我上周报的路灯修好没有"]
    assert bot.telegram.texts(RESIDENT) == ["崩溃前未发出的通知", GREET, messages.MY_NONE]


async def test_a_peers_live_claims_are_left_alone_at_start_and_taken_over_when_its_lease_runs_out(
    bot: Harness, rasa: RasaStack
) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    await bot.stop()
    with bot.db.unit_of_work() as uow:  # another worker holds an update and a message, alive
        queues.store_updates(
            uow.session,
            [
                queues.StoredUpdate(
                    0,
                    {"update_id": 0, "message": {**_message(bot.telegram), "text": "你好"}},
                    "private",
                    RESIDENT,
                )
            ],
        )
        queues.claim_inbox(uow.session, limit=10, owner="peer", lease=timedelta(hours=1))
        outbox.enqueue(uow.session, chat_id=RESIDENT, text="对方正在发的通知", kind="note")
        queues.claim_outbox(uow.session, limit=10, owner="peer", lease=timedelta(hours=1))
        uow.commit()
    await bot.start()
    bot.telegram.message(chen, "在吗")  # waits behind the peer's update of the same chat
    await asyncio.sleep(0.5)
    assert rasa.said(SENDER) == []
    assert bot.telegram.texts(RESIDENT) == []
    with bot.db.unit_of_work() as uow:  # the peer died: its heartbeats stopped, its lease ran out
        uow.session.execute(update(InboxItem).values(lease_until=utcnow() - timedelta(seconds=1)))
        uow.session.execute(update(OutboxItem).values(lease_until=utcnow() - timedelta(seconds=1)))
        uow.commit()
    await bot.settle(timeout=60)
    assert rasa.said(SENDER) == ["你好", "在吗"]
    assert bot.telegram.texts(RESIDENT) == ["对方正在发的通知", GREET, GREET]
    with bot.db.session() as s:
        owners = set(s.scalars(select(InboxItem.claimed_by)))
    assert owners == {bot.config.worker_id}


@pytest.mark.parametrize("where", ["this host's journal directory", "Redis (another host)"])
async def test_a_message_the_dead_peer_delivered_is_recorded_from_its_journal_not_sent_again(
    bot: Harness, tmp_path: Path, request: pytest.FixtureRequest, where: str
) -> None:
    bot.telegram.user(RESIDENT, "陈姨")
    with bot.db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=RESIDENT, text="已经发出的通知", kind="note")
        outbox.enqueue(uow.session, chat_id=RESIDENT, text="还没发出的通知", kind="note")
        await bot.stop()
        rows = queues.claim_outbox(uow.session, limit=10, owner="peer", lease=timedelta(hours=1))
        uow.commit()
    assert len(rows) == 1  # one at a time per chat
    # Telegram took it; the peer was killed before recording it in the database.
    if where == "Redis (another host)":  # its journal file is on its own host: only the copy
        redis_server: Redis = request.getfixturevalue("redis_server")
        link = RedisLink(redis_server.url)
        await SharedJournal(link).record(rows[0].id, 777)
        await link.close()
        bot.config = replace(bot.config, redis_url=redis_server.url)
    else:
        peer = SendJournal(tmp_path / "bot-outbox.peer.journal")  # next to this worker's journal
        peer.open()
        peer.record(rows[0].id, 777)
        peer.close()
    with bot.db.unit_of_work() as uow:
        uow.session.execute(update(OutboxItem).values(lease_until=utcnow() - timedelta(seconds=1)))
        uow.commit()
    await bot.start()
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == ["还没发出的通知"]
    with bot.db.session() as s:
        first = s.get(OutboxItem, rows[0].id)
        assert first is not None
        assert (first.status, first.telegram_message_id) == ("sent", 777)


def _message(telegram: FakeTelegram) -> dict[str, object]:
    return {
        "message_id": 1,
        "date": int(time.time()),
        "chat": telegram.chats[RESIDENT],
        "from": {"id": RESIDENT, "is_bot": False, "first_name": "陈姨"},
    }


async def test_retry_after_is_honoured_and_the_chats_order_is_kept(bot: Harness) -> None:
    bot.telegram.user(RESIDENT, "陈姨")
    bot.telegram.fail("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    with bot.db.unit_of_work() as uow:
        for n in (1, 2, 3):
            outbox.enqueue(uow.session, chat_id=RESIDENT, text=f"第{n}条", kind="note")
        uow.commit()
    started = time.monotonic()
    await bot.settle()
    while len(bot.telegram.texts(RESIDENT)) < 3:
        await asyncio.sleep(0.05)
        assert time.monotonic() - started < 10
    assert time.monotonic() - started >= 1.9
    assert bot.telegram.texts(RESIDENT) == ["第1条", "第2条", "第3条"]
    with bot.db.session() as s:
        first = s.scalars(select(OutboxItem).order_by(OutboxItem.id)).first()
        assert first is not None and (first.status, first.attempts) == ("sent", 2)


async def test_network_errors_back_off_and_a_blocked_chat_fails_with_the_reason(
    bot: Harness,
) -> None:
    bot.telegram.user(RESIDENT, "陈姨")
    bot.telegram.user(502, "阿强")
    bot.telegram.blocked.add(502)
    bot.telegram.fail("sendMessage", 0, "connection reset", chat_id=RESIDENT)
    with bot.db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=RESIDENT, text="已受理", kind="accepted")
        outbox.enqueue(uow.session, chat_id=502, text="已受理", kind="accepted")
        outbox.enqueue(uow.session, chat_id=-999, text="工作群卡片", kind="staff_card")
        uow.commit()
    await bot.settle()
    with bot.db.session() as s:
        rows = {r.chat_id: r for r in s.scalars(select(OutboxItem))}
        retry = rows[RESIDENT]
        assert retry.status == "pending" and "NetworkError" in (retry.last_error or "")
        assert retry.next_attempt_at - utcnow() > timedelta(seconds=1)
        assert (rows[502].status, rows[502].last_error) == (
            "failed",
            "Forbidden: Forbidden: bot was blocked by the user",
        )
        assert (
            rows[-999].status == "failed"
            and "chat not found" in (rows[-999].last_error or "").lower()
        )


async def test_a_long_message_is_sent_in_pieces(bot: Harness) -> None:
    bot.telegram.user(RESIDENT, "陈姨")
    long = "\n".join(f"{n:04d} " + "工单进展" * 30 for n in range(60))
    assert len(long) > 4096
    with bot.db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=RESIDENT, text=long, kind="note")
        uow.commit()
    await bot.settle()
    pieces = bot.telegram.texts(RESIDENT)
    assert len(pieces) == len(split_text(long)) == 2
    assert "".join(pieces) == long


async def test_the_sender_is_woken_by_a_write_that_queued_a_message_and_by_no_other(
    bot: Harness,
) -> None:
    bot.telegram.user(RESIDENT, "陈姨")
    deps = bot.stack.deps
    deps.outbox_ready.clear()
    await deps.write(lambda s: s.scalar(select(func.count(OutboxItem.id))))
    assert not deps.outbox_ready.is_set()
    await deps.write(
        lambda s: outbox.enqueue(s, chat_id=RESIDENT, text="您的工单已受理", kind="note")
    )
    assert deps.outbox_ready.is_set()
    await bot.settle()
    assert bot.telegram.texts(RESIDENT) == ["您的工单已受理"]


async def test_a_group_gets_at_most_twenty_messages_a_minute(bot: Harness) -> None:
    bot.telegram.group(-100777, "另一个群")
    with bot.db.unit_of_work() as uow:
        for n in range(22):
            outbox.enqueue(uow.session, chat_id=-100777, text=f"卡片{n}", kind="staff_card")
        uow.commit()
    started = time.monotonic()
    await bot.message(-100777, "卡片19")  # twenty at once, then one every three seconds
    await asyncio.sleep(1.0)
    refilled = int((time.monotonic() - started) / 3.0)
    assert 20 <= len(bot.telegram.texts(-100777)) <= 20 + refilled


async def test_when_the_database_is_down_the_resident_is_told_and_nothing_is_lost(
    bot: Harness, db: Database, rasa: RasaStack
) -> None:
    chen = bot.telegram.user(RESIDENT, "陈姨")
    down = Database(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    bot.stack.deps.db = down
    bot.telegram.message(chen, REPORT)
    deadline = time.monotonic() + 10
    while texts.TRY_LATER not in bot.telegram.texts(RESIDENT):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # the ingest keeps retrying; the resident is told only once
    assert bot.telegram.texts(RESIDENT) == [texts.TRY_LATER]
    assert bot.telegram.pending_updates(None), "the update stays with Telegram"
    bot.stack.deps.db = db
    down.dispose()
    deadline = time.monotonic() + 60
    while len(bot.telegram.texts(RESIDENT)) < 2:
        assert time.monotonic() < deadline, bot.telegram.texts(RESIDENT)
        await asyncio.sleep(0.1)
    told, question = bot.telegram.texts(RESIDENT)
    assert told == texts.TRY_LATER
    assert question.startswith("您反映的是：") and "幸福花园3栋" in question
    assert rasa.said(SENDER) == [REPORT]


async def test_a_second_worker_counts_what_the_first_one_sent(bot: Harness, db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("several bot processes need PostgreSQL (SQLite: one process, its own limits)")
    await bot.stop()  # five a minute (one every twelve seconds): no refill while the test looks
    bot.config = replace(bot.config, group_messages_per_minute=5)
    await bot.start()
    bot.telegram.group(-100778, "又一个群")
    with bot.db.unit_of_work() as uow:
        for n in range(8):
            outbox.enqueue(uow.session, chat_id=-100778, text=f"卡片{n}", kind="staff_card")
        uow.commit()
    await bot.message(-100778, "卡片4")
    await bot.stop()
    other = bot.peer()
    await other.start()  # another process, with the rest of the group's cards to send
    try:
        await asyncio.sleep(1.0)
        assert bot.telegram.texts(-100778) == [f"卡片{n}" for n in range(5)]
    finally:
        await other.stop()
        await bot.start()  # the fixture stops it
