"""Benchmark: tickets filed per second on SQLite and PostgreSQL (not a test; prints a table).

    .venv/bin/python -m benchmarks.bench_filing [--tickets 2000] [--workers 8]

Each ticket goes through the whole filing service: PII redaction, gazetteer lookup, routing, due time,
gap-free code, case clustering, the audit event and the staff-group outbox message, one transaction each.
PostgreSQL comes from MINWEI_TEST_DATABASE_URL or a throw-away server started from the installed binaries.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import postgres
from tests.tickets.factories import classified
from tickets import migrate, services, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Source

MESSAGES = [
    ("幸福花园{n}栋电梯又坏咗，我阿妈落唔到楼", "elevator", "幸福花园{n}栋"),
    ("东风路第{n}盏路灯成个礼拜唔着", "road_facility", "东风路"),
    ("大岭村市场门口垃圾堆咗{n}日冇人收", "sanitation", "大岭村市场"),
    ("康乐楼{n}楼装修朝早七点就开工，好嘈", "noise", "康乐楼"),
    ("锦绣华庭B区{n}号车位俾人霸咗，打电话13812345678", "parking", "锦绣华庭"),
]


def prepare(url: str) -> tuple[Database, Domain]:
    db = Database(url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=url, staff_chat_id=-100, data_dir=DATA_DIR))
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    return db, domain


def file_many(db: Database, domain: Domain, start: int, count: int) -> None:
    for n in range(start, start + count):
        template, category, place = MESSAGES[n % len(MESSAGES)]
        body = template.format(n=n % 40 + 1)
        with db.unit_of_work() as uow:
            services.file_ticket(
                session=uow.session,
                domain=domain,
                text=body,
                source=Source.GROUP,
                classification=classified(
                    category, text=body, locations=[place.format(n=n % 40 + 1)]
                ),
                chat_id=-100,
                message_id=n,
            )
            uow.commit()


def measure(url: str, tickets: int, workers: int) -> float:
    db, domain = prepare(url)
    per_worker = tickets // workers
    started = time.perf_counter()
    if workers == 1:
        file_many(db, domain, 0, tickets)
    else:
        dbs = [Database(url) for _ in range(workers)]
        with ThreadPoolExecutor(workers) as pool:
            list(
                pool.map(
                    lambda i: file_many(dbs[i], domain, i * per_worker, per_worker), range(workers)
                )
            )
        for d in dbs:
            d.dispose()
    elapsed = time.perf_counter() - started
    db.dispose()
    return (per_worker * workers if workers > 1 else tickets) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, args.workers):
            url = f"sqlite:///{Path(tmp) / f'bench-{workers}.sqlite3'}"
            rows.append(("SQLite (WAL)", workers, measure(url, args.tickets, workers)))
    try:
        server = postgres.start()
    except postgres.PostgresUnavailable as e:
        print(f"PostgreSQL skipped: {e}")
    else:
        try:
            admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
            for workers in (1, args.workers):
                name = f"bench_{workers}"
                with admin.connect() as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                    conn.execute(text(f"CREATE DATABASE {name}"))
                url = server.url.rsplit("/", 1)[0] + f"/{name}"
                rows.append(("PostgreSQL 15", workers, measure(url, args.tickets, workers)))
            admin.dispose()
        finally:
            server.stop()
    print(
        f"\nTickets filed per second ({args.tickets} tickets, one transaction each, whole filing service)"
    )
    print("| database | workers | tickets/s |")
    print("|---|---|---|")
    for name, workers, rate in rows:
        print(f"| {name} | {workers} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
