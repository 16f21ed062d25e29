"""Inbox and outbox: idempotent storage, claiming, retries with backoff, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tickets import inbox, outbox
from tickets.db import Database
from tickets.models import InboxItem, OutboxItem

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_an_update_stored_twice_is_kept_once(db: Database) -> None:
    with db.unit_of_work() as uow:
        assert inbox.store(
            uow.session, update_id=10, payload={"message": {"text": "井盖冇咗"}}, now=NOW
        )
        assert not inbox.store(
            uow.session, update_id=10, payload={"message": {"text": "井盖冇咗"}}, now=NOW
        )
        uow.commit()
        assert uow.session.scalar(select(func.count(InboxItem.id))) == 1


def test_pending_updates_are_claimed_in_order_and_retried_later(db: Database) -> None:
    with db.unit_of_work() as uow:
        for update_id in (3, 1, 2):
            inbox.store(uow.session, update_id=update_id, payload={}, now=NOW)
        uow.commit()
    with db.unit_of_work() as uow:
        items = inbox.claim_pending(uow.session, now=NOW)
        assert [i.update_id for i in items] == [1, 2, 3]
        inbox.mark_done(items[0], now=NOW)
        inbox.mark_retry(items[1], error="Rasa 不可用", delay=timedelta(seconds=30), now=NOW)
        uow.commit()
    with db.unit_of_work() as uow:
        assert (
            inbox.claim_pending(uow.session, now=NOW + timedelta(seconds=10)) == []
        )  # 3 is still claimed
        later = inbox.claim_pending(uow.session, now=NOW + timedelta(minutes=6))
        assert [i.update_id for i in later] == [2, 3]  # 2 retried, 3 abandoned by a dead worker
        assert later[0].attempts == 2


def test_outbox_retries_with_backoff_and_honours_retry_after(db: Database) -> None:
    with db.unit_of_work() as uow:
        outbox.enqueue(uow.session, chat_id=1, text="您的工单已受理", kind="accepted", now=NOW)
        outbox.enqueue(uow.session, chat_id=2, text="您的工单已办结", kind="resolved", now=NOW)
        uow.commit()
    with db.unit_of_work() as uow:
        first, second = outbox.claim_due(uow.session, now=NOW)
        outbox.mark_retry(uow.session, first, error="网络超时", now=NOW)
        outbox.mark_retry(uow.session, second, error="RetryAfter", retry_after=17, now=NOW)
        uow.commit()
        assert first.next_attempt_at == NOW + timedelta(seconds=2)
        assert second.next_attempt_at == NOW + timedelta(seconds=17)
    with db.unit_of_work() as uow:
        assert [
            i.chat_id for i in outbox.claim_due(uow.session, now=NOW + timedelta(seconds=5))
        ] == [1]


def test_a_duplicate_message_is_queued_once_and_failures_are_kept(db: Database) -> None:
    with db.unit_of_work() as uow:
        assert outbox.enqueue(
            uow.session, chat_id=1, text="a", kind="note", dedupe_key="k1", now=NOW
        )
        uow.session.flush()
        assert (
            outbox.enqueue(uow.session, chat_id=1, text="a", kind="note", dedupe_key="k1", now=NOW)
            is None
        )
        [item] = outbox.claim_due(uow.session, now=NOW)
        outbox.mark_failed(uow.session, item, error="Forbidden: bot was blocked by the user")
        uow.commit()
        assert uow.session.scalars(select(OutboxItem)).one().status == "failed"
