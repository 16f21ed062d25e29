"""Eight workers filing 1,000 tickets at once lose nothing, duplicate nothing, and number without gaps;
two supervision clocks over 1,000 due tickets do each item exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import String, func, select

from tests.conftest import Clock
from tests.tickets.factories import classified
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Case, DueItem, OutboxItem, Ticket, TicketEvent
from tickets.statuses import Source
from tickets.usecases import supervision

WORKERS = 8
PER_WORKER = 125
TEXTS = [
    "幸福花园{n}栋电梯又坏咗",
    "东风路第{n}盏路灯唔着",
    "大岭村市场门口垃圾堆咗{n}日",
    "康乐楼{n}楼装修好嘈",
]
CATEGORIES = ["elevator", "road_facility", "sanitation", "noise"]


def worker(url: str, domain: Domain, index: int) -> list[str]:
    db = (
        Database(url, pool_size=1, max_overflow=0)
        if url.startswith("postgresql")
        else Database(url)
    )
    filed = []
    try:
        for i in range(PER_WORKER):
            n = index * PER_WORKER + i
            text = TEXTS[n % 4].format(n=n % 30 + 1)
            with db.unit_of_work() as uow:
                ticket = services.file_ticket(
                    session=uow.session,
                    domain=domain,
                    text=text,
                    source=Source.GROUP,
                    classification=classified(CATEGORIES[n % 4], text=text),
                    chat_id=-500 - index,
                    message_id=i,
                )
                uow.commit()
                filed.append(ticket.code)
    finally:
        db.dispose()
    return filed


@pytest.mark.postgres
def test_concurrent_filing_is_lossless_and_gap_free(
    postgres_url: str, db: Database, domain: Domain
) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip("the concurrency test runs against PostgreSQL (SQLite serialises writers)")
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda i: worker(postgres_url, domain, i), range(WORKERS)))
    codes = [code for result in results for code in result]
    assert len(codes) == len(set(codes)) == WORKERS * PER_WORKER
    with db.session() as session:
        assert session.scalar(select(func.count(Ticket.id))) == WORKERS * PER_WORKER
        assert (
            session.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.kind == "filed"))
            == 1000
        )
        numbers = sorted(
            int(code.rsplit("-", 1)[1]) for code in session.scalars(select(Ticket.code))
        )
        assert numbers == list(range(1, WORKERS * PER_WORKER + 1))
        assert session.scalar(select(func.sum(Case.report_count))) == WORKERS * PER_WORKER


SUPERVISED = 1000


def supervisor(url: str, domain: Domain) -> int:
    """Run passes until nothing is due; returns how many items this supervisor did."""
    db = Database(url, pool_size=1, max_overflow=0)
    did = 0
    try:
        while True:
            with db.unit_of_work() as uow:
                steps = supervision.run_pass(uow.session, domain, limit=50)
                uow.commit()
            did += sum(1 for s in steps if s.outcome == "done")
            if not steps:
                return did
    finally:
        db.dispose()


@pytest.mark.postgres
def test_two_supervisors_do_each_due_item_exactly_once(
    postgres_url: str, db: Database, domain: Domain, clock: Clock
) -> None:
    if not db.url.startswith("postgresql"):
        pytest.skip("the concurrency test runs against PostgreSQL (SQLite serialises writers)")
    with db.unit_of_work() as uow:
        for n in range(SUPERVISED):
            text = TEXTS[n % 4].format(n=n % 30 + 1)
            services.file_ticket(
                session=uow.session,
                domain=domain,
                text=text,
                source=Source.GROUP,
                classification=classified(CATEGORIES[n % 4], text=text),
                chat_id=-900,
                message_id=n,
            )
        uow.commit()
    # Filed Monday 09:00, due within 3–5 working days: by the next Tuesday noon every warning is
    # done or stale and both escalations are due.
    clock.advance(days=8, hours=3)
    with ThreadPoolExecutor(2) as pool:
        did = list(pool.map(lambda _: supervisor(postgres_url, domain), range(2)))
    assert all(n > 0 for n in did)  # both took part
    with db.session() as session:
        escalations = session.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.kind == "escalated")
            .group_by(TicketEvent.ticket_id)
        ).all()
        assert len(escalations) == SUPERVISED and {n for _, n in escalations} == {2}
        done = session.scalar(select(func.count(DueItem.id)).where(DueItem.status == "done"))
        assert sum(did) == done
        # Every escalation posted exactly one card to the unit above, and every clock message
        # belongs to a due item that was done once.
        cards = session.scalar(
            select(func.count(OutboxItem.id))
            .join(TicketEvent, TicketEvent.ticket_id == OutboxItem.ticket_id)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(
                TicketEvent.kind == "escalated",
                OutboxItem.dedupe_key == Ticket.code + ":e" + func.cast(TicketEvent.id, String),
            )
        )
        assert cards == 2 * SUPERVISED
        sent = (
            session.execute(select(OutboxItem.dedupe_key).where(OutboxItem.kind.like("clock_%")))
            .scalars()
            .all()
        )
        done_keys = {
            f"due:{i}"
            for i in session.scalars(select(DueItem.id).where(DueItem.status == "done")).all()
        }
        assert len(sent) == len(set(sent)) and set(sent) <= done_keys
        pending = select(func.count(DueItem.id)).where(
            DueItem.status == "pending", DueItem.ticket_id.is_not(None)
        )
        assert session.scalar(pending) == 0  # (the month's and quarter's 成绩单 are ticketless)
