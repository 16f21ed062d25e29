"""Benchmark: the supervision clock (督办) over 100,000 open tickets on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_supervision [--tickets 100000] [--down-hours 24] [--intake 150]

Not a test; prints a table and a final JSON line. For each database it seeds ``--tickets`` open (and
resolved, unrated) tickets with bulk inserts, their due rows planned by the core itself
(``tickets.clock.plan`` and ``next_steps``): every step whose moment came before the supervisor
stopped is a done row, the next step of each chain is pending, as a supervisor that ran until then
leaves them. Then it measures:

- an idle pass (nothing due: the cost of looking over 100,000 open tickets);
- the steady state: the next ~300 rows falling due, done in passes of at most ``PASS_LIMIT`` items and
  ``--pass-seconds`` (one transaction each, as the bot does them);
- planning: ``clock.reschedule`` after a ticket change (its due time moved), per ticket;
- catch-up: the supervisor was down ``--down-hours``; passes until nothing is due (rows/s), while
  tickets are filed through ``services.file_ticket`` in the same process the way the bot does both
  (``Database.run``: worker threads, one writer at a time on SQLite); intake latency is compared with
  the same intake measured just before without the supervisor (ratios: the machine may be shared).

PostgreSQL comes from MINWEI_TEST_DATABASE_URL or a throw-away server started from the installed binaries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text

from benchmarks.bench_console_seed import demand_texts
from benchmarks.bench_filing import MESSAGES
from tests.support import postgres
from tests.tickets.factories import classified
from tickets import clock, migrate, search, services, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import DueItem, OutboxItem, Ticket, UnitChat
from tickets.routing import route
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import HandlingMode, Source, Status
from tickets.timelimits import due_at
from tickets.usecases import supervision

#: The moment the benchmark's clock reads at the end of the catch-up: a Wednesday, 10:00 in Guangzhou
#: (outside quiet hours, so nothing is held).
NOW = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
AGE_DAYS = 30
BATCH = 5_000
STEADY_ROWS = 300
STAFF_CHAT = -100
#: Statuses of the seeded tickets and their shares: open ones, and resolved ones waiting for a rating.
STATUSES = {
    Status.NEW: 10,
    Status.ACCEPTED: 15,
    Status.ASSIGNED: 15,
    Status.IN_PROGRESS: 35,
    Status.REOPENED: 5,
    Status.RESOLVED: 20,
}
#: What doing a step changed on the ticket, so that the next plan is the one a real run would make.
EFFECTS: dict[clock.DueKind, str] = {
    clock.DueKind.PROGRESS: "progress_at",
    clock.DueKind.PUBLISH: "published_at",
    clock.DueKind.CALLBACK: "callback_at",
}


def prepare(url: str) -> tuple[Database, Domain]:
    db = Database(url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=url, staff_chat_id=STAFF_CHAT, data_dir=DATA_DIR))
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    return db, domain


def seed(db: Database, domain: Domain, count: int, *, stopped: datetime) -> dict[str, int]:
    """Insert ``count`` tickets filed over the last ``AGE_DAYS`` before ``NOW`` and the due rows the
    core plans for them, as a supervisor that ran until ``stopped`` leaves them."""
    rng = random.Random(11)
    with db.session() as session:
        tree = domain.units(session)
    grids = [u for u in tree.by_id.values() if u.level == "grid"]
    places = [(g, p) for g in grids for p in g.places]
    texts = demand_texts()
    taxonomy, calendar, rules = domain.taxonomy, domain.calendar, domain.rules
    tz = domain.settings.timezone
    routes = {(c.code, g.id): route(tree, c, g) for c in taxonomy.categories for g in grids}
    statuses, weights = list(STATUSES), list(STATUSES.values())
    with db.engine.begin() as conn:  # every unit above the grids has its work chat
        conn.execute(
            insert(UnitChat.__table__),
            [
                {"unit_id": u.id, "chat_id": -5_000 - u.id, "title": u.name, "bound_at": NOW}
                for u in tree.by_id.values()
                if u.level in ("street", "community")
            ],
        )
    moments = sorted(NOW - timedelta(days=AGE_DAYS * rng.random() ** 1.2) for _ in range(count))
    daily: dict[str, int] = {}
    counts = {"pending": 0, "done": 0}
    tickets: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    with db.engine.begin() as conn:
        for n, created in enumerate(moments, start=1):
            category, body = rng.choice(texts)
            grid, place = rng.choice(places)
            original = f"{place}{rng.randint(1, 40)}栋：{body}"
            cat = taxonomy.get(category)
            urgent = rng.random() < 0.03
            mode = HandlingMode.IMMEDIATE if urgent else cat.handling_mode
            if mode is HandlingMode.IMMEDIATE:  # 4 hours: only recent ones are still open
                created = NOW - timedelta(hours=8 * rng.random())
            status = rng.choices(statuses, weights)[0]
            accepted = (
                None if status is Status.NEW else created + timedelta(hours=rng.uniform(0.2, 8))
            )
            resolved = None
            if status is Status.RESOLVED:  # waiting for a rating: resolved within the last week
                resolved = NOW - timedelta(days=rng.uniform(0, 6.5))
                created = min(created, resolved - timedelta(hours=12))
                accepted = created + timedelta(hours=1)
            visit = None
            if mode is HandlingMode.ONSITE and status is not Status.RESOLVED:
                visit = NOW + timedelta(hours=rng.uniform(-24, 72))
            day = f"{created.astimezone(tz):%Y%m%d}"
            daily[day] = daily.get(day, 0) + 1
            unit = routes[(category, grid.id)]
            ticket = Ticket(
                id=n,
                code=f"MW-{day}-{daily[day]:05d}",
                source=Source.GROUP,
                status=status,
                original_text=original,
                redacted_text=original,
                search_text=search.search_text(original),
                category=category,
                category_confidence=0.9,
                demand_confidence=0.9,
                ranking=[[category, 0.9]],
                urgent=urgent,
                handling_mode=mode,
                locations=[],
                location_text=place,
                area_id=grid.id,
                unit_id=unit.id if unit else None,
                classifier_version="bench",
                needs_review=False,
                attachments=[],
                created_at=created,
                updated_at=resolved or accepted or created,
                first_response_at=accepted,
                due_at=due_at(created, mode, cat, taxonomy, calendar, tz),
                resolved_at=resolved,
                visit_at=visit,
                sent_back_count=0,
                escalation_level=0,
                clock_rules=rules.digest,
            )
            finished: set[str] = set()
            while True:  # what a supervisor running until ``stopped`` did, step after step
                wanted = clock.next_steps(clock.plan_for(domain, ticket), finished)
                past = [d for d in wanted.values() if d.at <= stopped]
                if not past:
                    break
                for d in past:
                    finished.add(d.key)
                    items.append(_item(n, d, "done", stopped))
                    if d.kind in EFFECTS:
                        setattr(ticket, EFFECTS[d.kind], d.at)
            counts["done"] += len(finished)
            counts["pending"] += len(wanted)
            items += [_item(n, d, "pending", stopped) for d in wanted.values()]
            tickets.append({c.key: getattr(ticket, c.key) for c in Ticket.__table__.columns})
            if len(tickets) == BATCH:
                _flush(conn, tickets, items)
        _flush(conn, tickets, items)
        conn.execute(
            text(
                "INSERT INTO counters (scope, day, value) SELECT 'ticket', substr(code, 4, 8), "
                "count(*) FROM tickets GROUP BY substr(code, 4, 8)"
            )
        )
        if db.dialect == "postgresql":
            conn.execute(text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))"))
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return counts


def _item(ticket_id: int, due: clock.Due, status: str, stopped: datetime) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "kind": due.kind.value,
        "key": due.key,
        "due_at": due.at,
        "status": status,
        "data": due.data,
        "created_at": stopped,
        "done_at": due.at if status == "done" else None,
        "result": {},
    }


def _flush(conn: Any, tickets: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
    if tickets:
        conn.execute(insert(Ticket.__table__), [_columns(t) for t in tickets])
    if items:
        conn.execute(insert(DueItem.__table__), items)
    tickets.clear()
    items.clear()


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None or k in _NULLABLE}


_NULLABLE = {c.key for c in Ticket.__table__.columns if c.nullable}


# ----------------------------------------------------------------------------------- measurements


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this thread, result): on a shared machine the CPU time is what
    the work costs, the wall time also what the neighbours took."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = fn()
    return time.perf_counter() - wall, time.thread_time() - cpu, result


#: ``run_pass``'s time limit in this run (``--pass-seconds``; None: none).
PASS_SECONDS: float | None = supervision.PASS_SECONDS


def one_pass(db: Database, domain: Domain, now: datetime) -> list[supervision.Step]:
    with db.unit_of_work() as uow:
        steps = supervision.run_pass(uow.session, domain, now=now, seconds=PASS_SECONDS)
        uow.commit()
    return steps


def drain(db: Database, domain: Domain, now: datetime) -> tuple[list[float], list[float], int]:
    """Passes until one handles nothing; (wall and CPU seconds of each pass, items)."""
    walls, cpus, handled = [], [], 0
    while True:
        wall, cpu, steps = cpu_timed(lambda: one_pass(db, domain, now))
        walls.append(wall)
        cpus.append(cpu)
        handled += len(steps)
        if not steps:
            return walls, cpus, handled


def pending_due(db: Database, now: datetime) -> int:
    with db.session() as session:
        return supervision.due_count(session, now=now)


def steady_moment(db: Database, after: datetime, rows: int) -> datetime:
    """The moment by which ``rows`` more pending items fall due."""
    with db.session() as session:
        at = session.scalar(
            select(DueItem.due_at)
            .where(DueItem.status == clock.PENDING, DueItem.due_at > after)
            .order_by(DueItem.due_at)
            .offset(rows - 1)
            .limit(1)
        )
    assert at is not None, "not enough due rows seeded"
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def planning_cost(db: Database, domain: Domain, samples: int) -> list[float]:
    """CPU seconds of ``clock.reschedule`` after moving a ticket's due time by a day (rolled back at
    the end; SQLite's work is in this thread too, PostgreSQL's is not)."""
    rng = random.Random(3)
    with db.unit_of_work() as uow:
        ids = uow.session.scalars(
            select(Ticket.id).where(Ticket.status.in_([Status.IN_PROGRESS.value]))
        ).all()
        chosen = rng.sample(list(ids), min(samples, len(ids)))
        seconds = []
        for ticket_id in chosen:
            ticket = uow.session.get_one(Ticket, ticket_id)
            assert ticket.due_at is not None
            ticket.due_at = ticket.due_at + timedelta(days=1)
            _, took, _ = cpu_timed(lambda t=ticket: clock.reschedule(uow.session, domain, t))
            seconds.append(took)
    return seconds


def intake(
    db: Database, domain: Domain, count: int, start: int, *, supervise: Domain | None = None
) -> tuple[list[float], list[tuple[float, float]], int]:
    """File ``count`` tickets, one every 50 ms, through ``Database.run`` as the bot does; with
    ``supervise`` (a domain whose clock reads the moment to act at) run supervision passes through it
    too until nothing is due, as the bot's job does (``bot.supervision.run_passes``), and keep filing
    until they are done. Returns (latency of each filing, (wall, CPU) seconds of each pass, items
    handled)."""

    def file_one(session: Any, n: int) -> None:
        template, category, place = MESSAGES[n % len(MESSAGES)]
        body = template.format(n=n % 40 + 1)
        services.file_ticket(
            session=session,
            domain=domain,
            text=body,
            source=Source.GROUP,
            classification=classified(category, text=body, locations=[place.format(n=n % 40 + 1)]),
            chat_id=-100,
            message_id=start + n,
        )

    async def files(stop: asyncio.Event) -> list[float]:
        latencies: list[float] = []
        n = 0
        while n < count or not stop.is_set():
            started = time.perf_counter()
            await db.run(file_one, n)
            latencies.append(time.perf_counter() - started)
            n += 1
            await asyncio.sleep(0.05)
        return latencies

    def supervision_pass(session: Any, domain: Domain) -> tuple[list[supervision.Step], float]:
        started = time.thread_time()
        steps = supervision.run_pass(session, domain, seconds=PASS_SECONDS)
        return steps, time.thread_time() - started

    async def passes(stop: asyncio.Event) -> tuple[list[tuple[float, float]], int]:
        seconds: list[tuple[float, float]] = []
        handled = 0
        try:
            while supervise is not None:
                started = time.perf_counter()
                steps, cpu = await db.run(supervision_pass, supervise)
                seconds.append((time.perf_counter() - started, cpu))
                handled += len(steps)
                if not steps:
                    break
                await asyncio.sleep(0)
        finally:
            stop.set()
        return seconds, handled

    async def main() -> tuple[list[float], list[tuple[float, float]], int]:
        stop = asyncio.Event()
        latencies, (seconds, handled) = await asyncio.gather(files(stop), passes(stop))
        return latencies, seconds, handled

    return asyncio.run(main())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(
    url: str, name: str, args: argparse.Namespace, *, seeded: bool = False
) -> dict[str, Any]:
    """All measurements on one database (``seeded``: a copy of an earlier seed, same arguments)."""
    stopped = NOW - timedelta(hours=args.down_hours)
    if seeded:
        db = Database(url)
        migrate.upgrade(db.engine)
        domain = Domain.load(
            Settings(database_url=url, staff_chat_id=STAFF_CHAT, data_dir=DATA_DIR)
        )
        with db.session() as session:
            rows = dict(
                session.execute(select(DueItem.status, func.count()).group_by(DueItem.status))
                .tuples()
                .all()
            )
        counts = {"pending": rows.get("pending", 0), "done": rows.get("done", 0)}
    else:
        db, domain = prepare(url)
        took, counts = timed(lambda: seed(db, domain, args.tickets, stopped=stopped))
        print(
            f"{name}: seeded {args.tickets:,} tickets, {counts['pending']:,} pending and "
            f"{counts['done']:,} done due rows in {took:.0f} s",
            flush=True,
        )
        if args.keep_sqlite and db.dialect == "sqlite":
            copy = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            copy.execute("VACUUM INTO ?", (args.keep_sqlite,))
            copy.close()
    result: dict[str, Any] = {"database": name, "tickets": args.tickets, **counts}
    idle = [cpu_timed(lambda: one_pass(db, replace(domain, clock=lambda: stopped), stopped))]
    idle += [cpu_timed(lambda: one_pass(db, replace(domain, clock=lambda: stopped), stopped))]
    result["idle_pass_s"] = min(w for w, _, _ in idle)
    result["idle_pass_cpu_s"] = min(c for _, c, _ in idle)

    steady_at = steady_moment(db, stopped, STEADY_ROWS)
    at_steady = replace(domain, clock=lambda: steady_at)
    due = pending_due(db, steady_at)
    seconds, cpus, handled = drain(db, at_steady, steady_at)
    result |= {
        "steady_due": due,
        "steady_handled": handled,
        "steady_passes": len(seconds),
        "steady_first_pass_s": seconds[0],
        "steady_first_pass_cpu_s": cpus[0],
        "steady_s": sum(seconds),
        "steady_cpu_s": sum(cpus),
    }
    print(
        f"{name}: steady state {due} due, {len(seconds)} passes, {sum(seconds):.2f} s", flush=True
    )

    plans = planning_cost(db, at_steady, args.plans)
    result |= {
        "reschedule_ms_p50": pct(plans, 50) * 1000,
        "reschedule_ms_p95": pct(plans, 95) * 1000,
    }

    base, _, _ = intake(db, domain, args.intake, 1_000_000)
    catch_up = stopped + timedelta(hours=args.catchup_hours)
    backlog = pending_due(db, catch_up)
    started = time.perf_counter()
    loaded, timings, handled = intake(
        db, domain, args.intake, 2_000_000, supervise=replace(domain, clock=lambda: catch_up)
    )
    drained = time.perf_counter() - started
    passes = [w for w, _ in timings]
    cpus = [c for _, c in timings]
    left = pending_due(db, catch_up)
    with db.session() as session:
        messages = session.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.kind.like("clock_%"))
        )
    result |= {
        "catchup_due": backlog,
        "catchup_handled": handled,
        "catchup_left": left,
        "catchup_messages": messages,
        "catchup_passes": len(passes),
        "catchup_s": sum(passes),
        "catchup_rows_per_s": handled / max(sum(passes), 1e-9),
        "catchup_pass_p50_s": pct(passes, 50),
        "catchup_pass_max_s": max(passes),
        "catchup_cpu_s": sum(cpus),
        "catchup_rows_per_cpu_s": handled / max(sum(cpus), 1e-9),
        "catchup_pass_cpu_p50_s": pct(cpus, 50),
        "intake_base_ms_p50": pct(base, 50) * 1000,
        "intake_base_ms_p95": pct(base, 95) * 1000,
        "intake_load_ms_p50": pct(loaded, 50) * 1000,
        "intake_load_ms_p95": pct(loaded, 95) * 1000,
        "intake_load_ms_max": max(loaded) * 1000,
        "intake_filed_during": len(loaded),
        "catchup_wall_s": drained,
    }
    print(
        f"{name}: catch-up {backlog:,} due, {handled:,} handled in {len(passes)} passes, "
        f"{sum(passes):.1f} s",
        flush=True,
    )
    db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--down-hours", type=float, default=24, help="how long before NOW the supervisor stopped"
    )
    parser.add_argument(
        "--catchup-hours", type=float, default=24, help="catch up this much of the time it was down"
    )
    parser.add_argument("--intake", type=int, default=150, help="tickets filed for the baseline")
    parser.add_argument("--plans", type=int, default=500, help="tickets re-planned")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--keep-sqlite", metavar="FILE", help="keep a copy of the SQLite seed here (or reuse it)"
    )
    parser.add_argument(
        "--pass-seconds",
        type=float,
        default=supervision.PASS_SECONDS,
        help="a pass takes no further batch after this many seconds (0: no time limit)",
    )
    args = parser.parse_args()
    global PASS_SECONDS
    PASS_SECONDS = args.pass_seconds or None
    results = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "supervision.sqlite3"
            reuse = bool(args.keep_sqlite) and Path(args.keep_sqlite).exists()
            if reuse:
                shutil.copy(args.keep_sqlite, path)
            results.append(measure(f"sqlite:///{path}", "SQLite (WAL)", args, seeded=reuse))
    if not args.skip_postgres:
        try:
            server = postgres.start()
        except postgres.PostgresUnavailable as e:
            print(f"PostgreSQL skipped: {e}")
        else:
            try:
                admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text("DROP DATABASE IF EXISTS bench_supervision"))
                    conn.execute(text("CREATE DATABASE bench_supervision"))
                admin.dispose()
                url = server.url.rsplit("/", 1)[0] + "/bench_supervision"
                results.append(measure(url, "PostgreSQL", args))
            finally:
                server.stop()
    report(results, args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\nSupervision clock over {args.tickets:,} open tickets "
        f"(passes of at most {supervision.PASS_LIMIT} items and {args.pass_seconds or '∞'} s, "
        "one transaction each)"
    )
    rows = [
        ("pending due rows (seeded)", "pending", "{:,}"),
        ("idle pass (nothing due), s wall", "idle_pass_s", "{:.3f}"),
        ("idle pass (nothing due), s CPU", "idle_pass_cpu_s", "{:.3f}"),
        ("steady state: rows due", "steady_due", "{:,}"),
        ("steady state: passes", "steady_passes", "{}"),
        ("steady state: first pass, s wall", "steady_first_pass_s", "{:.2f}"),
        ("steady state: first pass, s CPU", "steady_first_pass_cpu_s", "{:.2f}"),
        ("steady state: all passes, s wall", "steady_s", "{:.2f}"),
        ("steady state: all passes, s CPU", "steady_cpu_s", "{:.2f}"),
        ("reschedule per change, ms CPU p50", "reschedule_ms_p50", "{:.2f}"),
        ("reschedule per change, ms CPU p95", "reschedule_ms_p95", "{:.2f}"),
        (f"catch-up of {args.catchup_hours:g} h: rows due", "catchup_due", "{:,}"),
        ("catch-up: passes", "catchup_passes", "{}"),
        ("catch-up: time to drain, s wall", "catchup_s", "{:.1f}"),
        ("catch-up: time to drain, s CPU", "catchup_cpu_s", "{:.1f}"),
        ("catch-up: rows/s wall", "catchup_rows_per_s", "{:,.0f}"),
        ("catch-up: rows per CPU second", "catchup_rows_per_cpu_s", "{:,.0f}"),
        ("catch-up: pass p50 / max, s wall", None, None),
        ("catch-up: pass p50, s CPU", "catchup_pass_cpu_p50_s", "{:.2f}"),
        ("intake p50 ms: alone → during catch-up", None, None),
        ("intake p95 ms: alone → during catch-up", None, None),
    ]
    print("| measure | " + " | ".join(r["database"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key, fmt in rows:
        cells = []
        for r in results:
            if key is not None and fmt is not None:
                cells.append(fmt.format(r[key]))
            elif label.startswith("catch-up: pass"):
                cells.append(f"{r['catchup_pass_p50_s']:.2f} / {r['catchup_pass_max_s']:.2f}")
            else:
                p = "p50" if "p50" in label else "p95"
                a, b = r[f"intake_base_ms_{p}"], r[f"intake_load_ms_{p}"]
                cells.append(f"{a:.0f} → {b:.0f} (×{b / a:.1f})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(json.dumps({"bench": "supervision", "results": results}, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
