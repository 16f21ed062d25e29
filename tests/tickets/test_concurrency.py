"""Eight workers filing 1,000 tickets at once lose nothing, duplicate nothing, and number without gaps."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from tests.tickets.factories import classified
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Case, Ticket, TicketEvent
from tickets.statuses import Source

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
