"""Urgent messages overtake a chat's backlog without breaking what must stay in order, and a chat buried
under ordinary new-ticket cards gets them as a digest: each card listed once, none also sent alone."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.conftest import STAFF_CHAT_ID
from tests.tickets.factories import file, file_burst, person
from tickets import outbox, queues, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import OutboxItem, utcnow
from tickets.usecases import backlog

DUTY = -100555
RESIDENT = 501


def _drain(db: Database) -> list[dict[str, Any]]:
    """Send everything claimable the way the sender does (claim, deliver, record), claim by claim,
    one row at a time: the order the rows would go out in."""
    sent: list[dict[str, Any]] = []
    while True:
        with db.unit_of_work() as uow:
            rows = queues.claim_outbox(uow.session, limit=1, now=utcnow() + timedelta(seconds=1))
            results = [queues.SendResult(r.id, "sent", message_id=10_000 + r.id) for r in rows]
            queues.finish_outbox(uow.session, results)
            uow.commit()
        if not rows:
            with db.session() as s:
                if queues.claimable(s, now=utcnow() + timedelta(seconds=1))[1] == 0:
                    return sent
        sent.extend({"id": r.id, "method": r.method, **r.payload} for r in rows)


def test_an_urgent_card_queued_behind_a_hundred_ordinary_ones_is_sent_first(db: Database) -> None:
    with db.unit_of_work() as uow:
        for n in range(100):
            outbox.enqueue(uow.session, chat_id=DUTY, text=f"卡片{n}", kind="staff_card")
        outbox.enqueue(uow.session, chat_id=-100556, text="别的群", kind="staff_card")
        outbox.enqueue(uow.session, chat_id=DUTY, text="🔴 紧急卡片", kind="staff_card_urgent")
        uow.commit()
    with db.unit_of_work() as uow:
        first = queues.claim_outbox(uow.session, limit=1)
        queues.finish_outbox(uow.session, [queues.SendResult(first[0].id, "sent", message_id=1)])
        uow.commit()
    assert [r.payload["text"] for r in first] == ["🔴 紧急卡片"]
    sent = [m["text"] for m in _drain(db) if m["chat_id"] == DUTY]
    assert sent == [f"卡片{n}" for n in range(100)]


def test_edits_and_replies_never_go_before_their_message_and_dialogue_keeps_its_order(
    db: Database,
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        card = outbox.enqueue(s, chat_id=DUTY, text="普通卡片", kind="staff_card")
        for n in range(5):
            outbox.enqueue(s, chat_id=DUTY, text=f"卡片{n}", kind="staff_card")
        urgent = outbox.enqueue(s, chat_id=DUTY, text="🔴 紧急卡片", kind="staff_card_urgent")
        s.flush()
        assert card is not None and urgent is not None
        # Asked to be urgent, the edit of an ordinary card still waits for that card.
        edit = outbox.enqueue(
            s,
            chat_id=DUTY,
            text="普通卡片（已受理）",
            kind="staff_card_edit",
            method="editMessageText",
            extra={"edit_of": card.id},
            priority=outbox.URGENT,
        )
        # A reply to the urgent card goes with it, ahead of the ordinary backlog.
        reply = outbox.enqueue(
            s,
            chat_id=DUTY,
            text="📍 补充地址",
            kind="staff_notice",
            extra={"reply_to_of": urgent.id},
        )
        for n in range(3):
            outbox.enqueue(s, chat_id=RESIDENT, text=f"对话{n}", kind="reply")
        uow.commit()
        assert edit is not None and reply is not None
        assert (edit.priority, reply.priority) == (outbox.ORDINARY, outbox.URGENT)
    sent = _drain(db)
    duty = [m["text"] for m in sent if m["chat_id"] == DUTY]
    assert duty == [
        "🔴 紧急卡片",
        "📍 补充地址",
        "普通卡片",
        *(f"卡片{n}" for n in range(5)),
        "普通卡片（已受理）",
    ]
    by_text = {m["text"]: m for m in sent}
    assert by_text["普通卡片（已受理）"]["message_id"] == 10_000 + card.id
    assert by_text["📍 补充地址"]["reply_parameters"]["message_id"] == 10_000 + urgent.id
    assert [m["text"] for m in sent if m["chat_id"] == RESIDENT] == ["对话0", "对话1", "对话2"]


@pytest.mark.parametrize(
    ("kind", "chat_id", "urgent_ticket", "priority"),
    [
        ("clock_overdue", DUTY, True, outbox.URGENT),  # 督办 / alerts about an urgent ticket
        ("staff_card_edit", DUTY, True, outbox.URGENT),
        ("clock_overdue", DUTY, False, outbox.ORDINARY),
        ("accepted", RESIDENT, True, outbox.ORDINARY),  # the resident's own chat keeps its order
        ("staff_card_urgent", DUTY, None, outbox.URGENT),
    ],
)
def test_messages_to_work_chats_about_urgent_tickets_are_urgent(
    db: Database, domain: Domain, kind: str, chat_id: int, urgent_ticket: bool | None, priority: int
) -> None:
    with db.unit_of_work() as uow:
        ticket = (
            None
            if urgent_ticket is None
            else file(uow.session, domain, "东风路电线跌咗落地", "utilities", urgent=urgent_ticket)
        )
        item = outbox.enqueue(uow.session, chat_id=chat_id, text="提醒", kind=kind, ticket=ticket)
        assert item is not None and item.priority == priority
        uow.commit()


def _digest_codes(db: Database) -> list[str]:
    with db.session() as s:
        texts = s.scalars(select(OutboxItem.payload).where(OutboxItem.kind == "staff_digest")).all()
    return [c for t in texts for c in re.findall(r"^(\S+?)｜", t["text"], re.M)]


def test_a_burst_beyond_the_chats_budget_becomes_a_digest_with_each_ticket_once(
    db: Database, domain: Domain
) -> None:
    codes = file_burst(db, domain, 25, urgent_at=7)
    with db.unit_of_work() as uow:
        assert backlog.fold(uow.session, domain, budget=30) == []  # within a minute's budget
        (digest,) = backlog.fold(uow.session, domain, budget=20)
        uow.commit()
    with db.session() as s:
        rows = s.scalars(select(OutboxItem).where(OutboxItem.chat_id == STAFF_CHAT_ID)).all()
        folded = [r.digest_id for r in rows if r.status == outbox.FOLDED]
        urgent = [(r.status, r.priority) for r in rows if r.kind == "staff_card_urgent"]
        text = s.get(OutboxItem, digest).payload["text"]  # type: ignore[union-attr]
    assert folded == [digest] * 24
    assert urgent == [("pending", outbox.URGENT)]
    ordinary = [c for k, c in enumerate(codes) if k != 7]
    assert _digest_codes(db) == ordinary
    assert text.startswith("📋 新工单 24 件（积压合并）：\n")
    assert f"{ordinary[0]}｜道路设施｜幸福花园0栋｜" in text
    assert "13812345678" not in text and "/tickets/工单号" in text
    sent = _drain(db)
    assert [m["text"].split("\n")[0][:8] for m in sent] == ["🔴 紧急 【道路", "📋 新工单 24"]
    with db.unit_of_work() as uow:  # nothing left to fold, nothing sent twice
        assert backlog.fold(uow.session, domain, budget=20) == []
        uow.commit()
    assert _drain(db) == []


def test_a_digest_is_split_at_telegrams_limit_and_lists_every_ticket_once(
    db: Database, domain: Domain
) -> None:
    codes = file_burst(db, domain, 3)
    lines = [f"{codes[k % 3]}｜类别｜地点｜" + "长" * 40 for k in range(200)]
    from tickets import messages

    parts = messages.backlog_digests(lines, "http://console.test")
    assert len(parts) > 1 and all(len(t) <= 4096 for t, _ in parts)
    assert sum(n for _, n in parts) == 200
    listed = [line for t, _ in parts for line in t.split("\n") if "｜" in line]
    assert listed == lines
    assert parts[1][0].startswith(f"📋 新工单 200 件（积压合并，2/{len(parts)}）：")


def test_an_edit_of_a_folded_card_is_skipped_with_the_reason_and_a_reply_goes_out_plain(
    db: Database, domain: Domain
) -> None:
    file_burst(db, domain, 22)
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=RESIDENT)
        ticket = file(s, domain, "东风路12号水管爆咗", "utilities", reporter=resident)
        s.flush()
        (digest,) = backlog.fold(s, domain, budget=20)
        card = s.scalar(
            select(OutboxItem).where(
                OutboxItem.ticket_id == ticket.id, OutboxItem.kind == "staff_card"
            )
        )
        assert card is not None and card.digest_id == digest
        services.add_resident_info(
            session=s,
            domain=domain,
            ticket=ticket,
            text="水已经流到楼下了",
            resident=resident,
            show_on_card=True,
        )
        outbox.enqueue(
            s,
            chat_id=STAFF_CHAT_ID,
            text=f"📍 {ticket.code} 居民补充地址：东风路12号",
            kind="staff_notice",
            ticket=ticket,
            extra={"reply_to_of": card.id},
        )
        uow.commit()
    sent = _drain(db)
    assert [m["text"][:10] for m in sent] == ["📋 新工单 23 件", f"📍 {ticket.code}"[:10]]
    assert "reply_parameters" not in sent[1]
    with db.session() as s:
        edit = s.scalars(select(OutboxItem).where(OutboxItem.kind == "staff_card_edit")).one()
        assert (edit.status, edit.last_error) == (
            outbox.SKIPPED,
            f"the card (row {card.id}) was folded into digest row {digest}",
        )


@pytest.mark.postgres
def test_two_processes_folding_at_once_on_postgresql_list_each_card_once(
    db: Database, domain: Domain
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only (SQLite has one writer)")
    codes = file_burst(db, domain, 40)
    start = threading.Barrier(2)
    made: list[list[int]] = []

    def fold() -> None:
        with db.unit_of_work() as uow:
            start.wait()
            made.append(backlog.fold(uow.session, domain, budget=5))
            uow.commit()

    threads = [threading.Thread(target=fold) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(m) for m in made)[-1] >= 1
    assert sorted(_digest_codes(db)) == sorted(codes)


@pytest.mark.postgres
def test_claiming_reads_only_the_rows_still_to_send_on_postgresql(db: Database) -> None:
    """With a long history of sent rows and a backlog in a few chats (one of them thousands deep),
    the claim finds the due rows and each chat's queue through the index on (status, next attempt),
    never the sent rows, and never compares a chat's waiting rows pair by pair (a join filter: 2.9 s
    a claim with 4,400 cards waiting in one chat in the cluster benchmark)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("query plans: PostgreSQL")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (chat_id, method, payload, kind, status, attempts,"
                " next_attempt_at, created_at, sent_at, priority)"
                " SELECT -100 - n % 50, 'sendMessage', '{}', 'staff_card', 'sent', 1,"
                " now(), now(), now(), 0 FROM generate_series(1, 100000) AS n"
            )
        )
    with db.unit_of_work() as uow:
        for n in range(600):
            outbox.enqueue(uow.session, chat_id=-100 - n % 3, text=f"卡片{n}", kind="staff_card")
        for n in range(3000):
            outbox.enqueue(uow.session, chat_id=-200, text=f"积压{n}", kind="staff_card")
        outbox.enqueue(uow.session, chat_id=-100, text="🔴 紧急卡片", kind="staff_card_urgent")
        uow.commit()
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE outbox"))
        stmt = (
            queues._claimable_outbox(utcnow())
            .order_by(OutboxItem.priority.desc(), OutboxItem.next_attempt_at, OutboxItem.id)
            .limit(50)
        )
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.scalars(text(f"EXPLAIN {compiled}")))
    assert "Seq Scan" not in plan, plan
    assert "ix_outbox_status_next" in plan, plan
    assert "Join Filter" not in plan, plan


def test_a_ticket_staff_mark_urgent_moves_its_waiting_card_ahead_and_alerts_under_a_sent_one(
    db: Database, domain: Domain
) -> None:
    """Marked urgent after filing: a card still waiting behind the chat's backlog is rewritten with
    🔴 and goes first; a card already sent is edited and gets an alert line under it, both urgent."""
    with db.unit_of_work() as uow:
        sent = file(uow.session, domain, "东风路3号电箱冒烟", "utilities")
        uow.commit()
    _drain(db)  # the first card is out
    with db.unit_of_work() as uow:
        for n in range(30):
            outbox.enqueue(uow.session, chat_id=STAFF_CHAT_ID, text=f"卡片{n}", kind="staff_card")
        waiting = file(uow.session, domain, "幸福花园2栋有人跌倒起唔到身", "elder_care")
        uow.commit()
    with db.unit_of_work() as uow:
        for code in (waiting.code, sent.code):
            ticket = services.get_ticket(uow.session, code)
            services.set_urgent(
                session=uow.session, domain=domain, ticket=ticket, urgent=True, actor="值班员"
            )
        uow.commit()
    order = [m for m in _drain(db) if m["chat_id"] == STAFF_CHAT_ID]
    texts = [m["text"] for m in order]
    first_ordinary = texts.index("卡片0")
    card = next(i for i, t in enumerate(texts) if waiting.code in t and t.startswith("🔴"))
    edit = next(i for i, m in enumerate(order) if m["method"] == "editMessageText")
    alert = texts.index(f"🔴 {sent.code} 已标为紧急，请立即处理")
    assert max(card, edit, alert) < first_ordinary
    assert sent.code in texts[edit] and texts[edit].startswith("🔴")
    assert f"🔴 {waiting.code} 已标为紧急，请立即处理" in texts  # its card was still waiting
