"""Claims with an owner and a lease: several workers share the inbox and the outbox, none releases
another's claims, a claim whose lease ran out is taken over, and a late result of the worker that lost
it does not undo the new owner's work."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from tickets import outbox, queues
from tickets.db import Database
from tickets.models import ForwardBurst, InboxItem, OutboxItem, RateLimit

NOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
CHEN, LI = 501, 502


def _store(db: Database, *updates: tuple[int, str, int]) -> None:
    with db.unit_of_work() as uow:
        queues.store_updates(
            uow.session,
            [queues.StoredUpdate(u, {"update_id": u}, kind, chat) for u, kind, chat in updates],
            now=NOW,
        )
        uow.commit()


def _claim(db: Database, owner: str, *, at: datetime = NOW, limit: int = 10) -> list[int]:
    with db.unit_of_work() as uow:
        rows = queues.claim_inbox(uow.session, limit=limit, owner=owner, lease=LEASE, now=at)
        uow.commit()
    return [r.update_id for r in rows]


def test_two_workers_share_the_inbox_one_step_per_conversation(db: Database) -> None:
    _store(db, (1, "private", CHEN), (2, "private", CHEN), (3, "private", LI), (4, "group", -100))
    assert _claim(db, "bot1", limit=1) == [1]
    assert _claim(db, "bot2") == [3, 4]  # 陈姨's second message waits for her first
    assert _claim(db, "bot2") == []
    with db.unit_of_work() as uow:
        queues.finish_inbox(uow.session, done=[_row(db, 1)], owner="bot1", now=NOW)
        uow.commit()
    assert _claim(db, "bot2") == [2]


def test_a_claim_is_kept_while_its_owner_beats_and_taken_over_when_it_stops(db: Database) -> None:
    _store(db, (1, "private", CHEN))
    assert _claim(db, "bot1") == [1]
    later = NOW + LEASE - timedelta(seconds=1)
    with db.unit_of_work() as uow:
        row = _row(db, 1)
        assert queues.renew_leases(uow.session, owner="bot2", inbox_rows=[row], now=later) == 0
        assert (
            queues.renew_leases(uow.session, owner="bot1", inbox_rows=[row], lease=LEASE, now=later)
            == 1
        )
        uow.commit()
    assert _claim(db, "bot2", at=NOW + LEASE + timedelta(seconds=5)) == []  # renewed: still bot1's
    with db.unit_of_work() as uow:
        rows = queues.claim_inbox(
            uow.session, limit=10, owner="bot2", lease=LEASE, now=later + LEASE
        )
        uow.commit()
    assert [(r.update_id, r.taken_over, r.attempts) for r in rows] == [(1, True, 2)]
    with db.session() as s:
        item = s.scalars(select(InboxItem)).one()
        assert (item.status, item.claimed_by) == ("processing", "bot2")


def test_nobody_releases_a_peers_claims_at_start_only_its_own(db: Database) -> None:
    _store(db, (1, "private", CHEN), (2, "private", LI))
    assert _claim(db, "bot1", limit=1) == [1]
    assert _claim(db, "bot2", limit=1) == [2]
    with db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=CHEN, text="您好", kind="reply", now=NOW)
        queues.claim_outbox(uow.session, limit=10, owner="bot1", lease=LEASE, now=NOW)
        assert queues.release_own_claims(uow.session, "bot2") == (1, 0)  # bot2 restarted
        uow.commit()
    with db.session() as s:
        statuses = {i.update_id: (i.status, i.claimed_by) for i in s.scalars(select(InboxItem))}
        sending = s.scalars(select(OutboxItem.status)).one()
    assert statuses == {1: ("processing", "bot1"), 2: ("pending", "bot2")}
    assert sending == "sending"


def test_the_late_result_of_a_worker_that_lost_its_lease_does_not_undo_the_new_owners(
    db: Database,
) -> None:
    _store(db, (1, "private", CHEN))
    assert _claim(db, "bot1") == [1]
    assert _claim(db, "bot2", at=NOW + LEASE) == [1]  # bot1 stalled past its lease
    row = _row(db, 1)
    with db.unit_of_work() as uow:  # bot1 wakes up and wants to retry later: not its row any more
        queues.finish_inbox(uow.session, retry=[(row, "Rasa 超时", 5.0)], owner="bot1", now=NOW)
        queues.fail_inbox(uow.session, [(row, "bug")], owner="bot1")
        uow.commit()
    with db.session() as s:
        assert s.scalars(select(InboxItem.status)).one() == "processing"
    with db.unit_of_work() as uow:  # the work of either is done once (idempotent): done counts
        queues.finish_inbox(uow.session, done=[row], owner="bot1", now=NOW)
        uow.commit()
    with db.session() as s:
        assert s.scalars(select(InboxItem.status)).one() == "done"


def test_a_message_sent_by_a_taken_over_sender_stays_sent(db: Database) -> None:
    with db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=CHEN, text="您好", kind="reply", now=NOW)
        (first,) = queues.claim_outbox(uow.session, limit=10, owner="bot1", lease=LEASE, now=NOW)
        uow.commit()
    with db.unit_of_work() as uow:
        (again,) = queues.claim_outbox(
            uow.session, limit=10, owner="bot2", lease=LEASE, now=NOW + LEASE
        )
        uow.commit()
    assert (again.id, again.taken_over) == (first.id, True)
    with db.unit_of_work() as uow:  # bot2 delivered it; bot1's late network error changes nothing
        queues.finish_outbox(uow.session, [queues.SendResult(first.id, "sent", 9)], owner="bot2")
        queues.finish_outbox(
            uow.session, [queues.SendResult(first.id, "retry", error="timeout")], owner="bot1"
        )
        uow.commit()
    with db.session() as s:
        item = s.scalars(select(OutboxItem)).one()
        assert (item.status, item.telegram_message_id) == ("sent", 9)


@pytest.mark.postgres
def test_concurrent_claims_on_postgresql_never_share_a_row_nor_a_conversation(
    db: Database,
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only (SQLite has one writer)")
    _store(db, *((n, "private", 600 + n % 5) for n in range(1, 41)))
    with db.unit_of_work() as one, db.unit_of_work() as two:  # both open at once
        a = queues.claim_inbox(one.session, limit=40, owner="bot1", lease=LEASE, now=NOW)
        b = queues.claim_inbox(two.session, limit=40, owner="bot2", lease=LEASE, now=NOW)
        one.commit()
        two.commit()
    claimed = [r.update_id for r in a + b]
    assert len(claimed) == len(set(claimed))
    chats = [r.chat_id for r in a + b]
    assert sorted(chats) == sorted(set(chats)) == [600, 601, 602, 603, 604]
    assert sorted(claimed) == [1, 2, 3, 4, 5]  # each chat's earliest only


def _row(db: Database, update_id: int) -> int:
    with db.session() as s:
        row = s.scalar(select(InboxItem.id).where(InboxItem.update_id == update_id))
    assert row is not None
    return row


def _forward(db: Database, update_id: int, *, at: datetime = NOW) -> None:
    _store(db, (update_id, "forward", MEMBER))
    row = _row(db, update_id)
    with db.unit_of_work() as uow:
        queues.add_to_burst(
            uow.session,
            user_id=MEMBER,
            chat_id=MEMBER,
            item={"update_id": update_id, "text": f"转发{update_id}"},
            row_id=row,
            quiet=QUIET,
            now=at,
        )
        uow.commit()


MEMBER = 701
QUIET = timedelta(seconds=3)


def test_forwards_received_by_different_workers_form_one_burst_filed_once(db: Database) -> None:
    _forward(db, 1)  # received by bot1
    _forward(db, 2, at=NOW + timedelta(seconds=2))  # by bot2: same open burst, quiet time restarts
    with db.unit_of_work() as uow:
        assert queues.claim_bursts(uow.session, owner="bot1", now=NOW + QUIET) == []
        (burst,) = queues.claim_bursts(uow.session, owner="bot1", now=NOW + 2 * QUIET)
        uow.commit()
    assert [i["update_id"] for i in burst.items] == [1, 2]
    _forward(db, 3, at=NOW + 2 * QUIET)  # arrives while bot1 files: starts the next burst
    with db.unit_of_work() as uow:  # bot1 stalled; bot2 takes the burst over after the lease
        (again,) = queues.claim_bursts(
            uow.session, owner="bot2", lease=LEASE, limit=1, now=NOW + 2 * QUIET + LEASE
        )
        assert again.id == burst.id
        assert queues.close_burst(uow.session, again, owner="bot2")
        uow.commit()
    with db.unit_of_work() as uow:
        assert not queues.close_burst(uow.session, burst, owner="bot1")  # bot1's late filing
        uow.commit()
    with db.session() as s:
        statuses = {i.update_id: i.status for i in s.scalars(select(InboxItem))}
        open_bursts = [(b.user_id, len(b.items)) for b in s.scalars(select(ForwardBurst))]
    assert statuses == {1: "done", 2: "done", 3: "waiting"}
    assert open_bursts == [(MEMBER, 1)]


@pytest.mark.postgres
def test_a_transaction_postgresql_aborts_for_a_deadlock_is_run_again(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("deadlocks between transactions: PostgreSQL only")
    with db.unit_of_work() as uow:
        uow.session.add_all([RateLimit(key="a", tat=0.0), RateLimit(key="b", tat=0.0)])
        uow.commit()
    both = threading.Barrier(2)
    runs: list[str] = []

    def take(session: Session, first: str, second: str) -> None:
        runs.append(first)
        session.get(RateLimit, first, with_for_update=True)
        with contextlib.suppress(threading.BrokenBarrierError):
            both.wait(timeout=5)  # the first attempts hold one row each, then want the other's
        row = session.get(RateLimit, second, with_for_update=True)
        assert row is not None
        row.tat += 1

    def in_thread(first: str, second: str) -> None:
        asyncio.run(db.run(take, first, second))

    threads = [
        threading.Thread(target=in_thread, args=("a", "b")),
        threading.Thread(target=in_thread, args=("b", "a")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with db.session() as s:
        assert sorted(r.tat for r in s.scalars(select(RateLimit))) == [1.0, 1.0]
    assert len(runs) == 3  # one of the two was chosen as the deadlock's victim and ran again


@pytest.mark.postgres
def test_the_heartbeat_does_not_wait_for_a_batch_that_holds_its_rows(db: Database) -> None:
    """A group batch locks its rows until it commits (``still_held``); the heartbeat renews the
    others at once instead of queueing behind it, and no peer can claim the locked row meanwhile."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks between transactions: PostgreSQL only (SQLite has one writer)")
    _store(db, (1, "group", -100), (2, "group", -100))
    assert _claim(db, "bot1") == [1, 2]
    one, two = _row(db, 1), _row(db, 2)
    later = NOW + LEASE - timedelta(seconds=1)
    with db.unit_of_work() as batch:
        assert queues.still_held(batch.session, [one], "bot1") == {one}
        with db.unit_of_work() as beat:
            beat.session.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait would fail here
            renewed = queues.renew_leases(
                beat.session, owner="bot1", inbox_rows=[one, two], lease=LEASE, now=later
            )
            beat.commit()
        assert renewed == 1
        with db.unit_of_work() as peer:  # the locked row is not claimable, even at its lease's end
            taken = queues.claim_inbox(
                peer.session, limit=10, owner="bot2", lease=LEASE, now=NOW + LEASE
            )
            peer.commit()
        assert taken == []
        batch.commit()
    with db.session() as s:
        leases = dict(s.execute(select(InboxItem.id, InboxItem.lease_until)).tuples().all())
    assert leases == {one: NOW + LEASE, two: later + LEASE}


def test_finished_rows_are_marked_done_in_one_statement(db: Database) -> None:
    _store(db, *((n, "group", -100) for n in range(1, 6)))
    assert _claim(db, "bot1") == [1, 2, 3, 4, 5]
    rows = [_row(db, n) for n in range(1, 6)]
    updates: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE INBOX"):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.unit_of_work() as uow:
            queues.finish_inbox(uow.session, done=rows, owner="bot1", now=NOW)
            uow.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(updates) == 1
    with db.session() as s:
        assert set(s.execute(select(InboxItem.status, InboxItem.lease_until))) == {("done", None)}
