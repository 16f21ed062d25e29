"""Benchmark (not a test): the console's follow-through queries at a million tickets, in process.

    nice .venv/bin/python -m benchmarks.bench_follow [--tickets 1000000] [--repeat 20]
                                                     [--workdir var/bench] [--backends sqlite]

Seeds (or reuses) the console benchmark's database (``benchmarks.bench_console.prepare``; a reused
SQLite file is migrated), gives it follow-through data once (:func:`follow_through`: the console seed
has none), then times:
超期率/退单率/回访率 (``tickets.stats.follow_figures``, total and per unit, what the dashboard adds) for
30 and 90 days, the 督办台 (``tickets.usecases.follow.board``) of the district, a street and a community,
and the public board (``tickets.usecases.publicboard.board``). Prints the median and p95 in ms, wall
clock and CPU time of the measuring thread.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, func, or_, select, text, update

from benchmarks.bench_console import ROOT, prepare
from tests.support import postgres
from tickets import access, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket, Unit
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import OPEN_STATUSES, HandlingMode, Role, Status
from tickets.usecases import follow, publicboard


def follow_through(url: str, now: datetime) -> None:
    """Once per database (nothing published or sent back yet): publish every 公开办 ticket past 新建,
    send back one ticket in 20 (at filing), escalate one open overdue ticket in 3 to the district,
    record a 回访 for one resolved ticket in 3, and plan a visit within 14 days for one open ticket
    in 10. Plain UPDATEs: the rollup's triggers mark the days they change."""
    db = Database(url)
    opened = Ticket.status.in_([s.value for s in OPEN_STATUSES])
    try:
        with db.engine.begin() as conn:
            marked = conn.scalar(
                select(func.count()).where(
                    or_(Ticket.published_at.is_not(None), Ticket.sent_back_at.is_not(None))
                )
            )
            if marked:
                return
            started = time.perf_counter()
            district = conn.scalar(select(Unit.id).where(Unit.parent_id.is_(None)))
            changes = [
                update(Ticket)
                .where(
                    Ticket.handling_mode == HandlingMode.PUBLIC.value,
                    Ticket.status.not_in(
                        [Status.NEW.value, Status.MERGED.value, Status.REJECTED.value]
                    ),
                )
                .values(published_at=Ticket.created_at),
                update(Ticket)
                .where(
                    Ticket.id % 20 == 0,
                    Ticket.unit_id.is_not(None),
                    Ticket.status != Status.MERGED.value,
                )
                .values(sent_back_count=1, sent_back_at=Ticket.created_at),
                update(Ticket)
                .where(opened, Ticket.due_at < now, Ticket.id % 3 == 0)
                .values(
                    escalation_level=1 + Ticket.id % 2,
                    escalated_to_id=district,
                    escalated_at=Ticket.due_at,
                ),
                update(Ticket)
                .where(Ticket.resolved_at.is_not(None), Ticket.id % 3 == 0)
                .values(callback_at=Ticket.resolved_at),
            ]
            counts = [conn.execute(change).rowcount for change in changes]
            visits = [
                {"i": tid, "v": now + timedelta(hours=tid % (14 * 24))}
                for tid in conn.scalars(select(Ticket.id).where(opened, Ticket.id % 10 == 0))
            ]
            if visits:
                conn.execute(
                    update(Ticket)
                    .where(Ticket.id == bindparam("i"))
                    .values(visit_at=bindparam("v")),
                    visits,
                )
        print(
            "  follow-through data: {:,} published, {:,} sent back, {:,} escalated, {:,} called back,"
            " {:,} visits ({:.0f} s)".format(*counts, len(visits), time.perf_counter() - started)
        )
    finally:
        db.dispose()


def timed(name: str, repeat: int, work: Callable[[], Any]) -> tuple[float, float]:
    """Median and p95 wall ms of ``work``; also prints the median and p95 of this thread's CPU ms
    (SQLite works in this thread: on a shared machine the CPU time says what the work costs)."""
    work()  # warm the caches once
    samples, cpu = [], []
    for _ in range(repeat):
        started, thread = time.perf_counter(), time.thread_time()
        work()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - thread) * 1000)
    median, p95 = _cut(samples)
    cpu_median, cpu_p95 = _cut(cpu)
    print(
        f"  {name:<40} median {median:7.1f} ms   p95 {p95:7.1f} ms"
        f"   (CPU {cpu_median:6.1f} / {cpu_p95:6.1f} ms)"
    )
    return median, p95


def _cut(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive") if len(samples) > 1 else samples
    return statistics.median(samples), cuts[min(94, len(cuts) - 1)]


def measure(url: str, repeat: int) -> None:
    db = Database(url)
    domain = Domain.load(Settings(database_url=url, data_dir=DATA_DIR))
    tz, now = domain.settings.timezone, datetime.now(UTC)
    limits: dict[str, Any] = {
        "tz": tz,
        "response_limit_hours": domain.settings.response_limit_hours,
        "urgent_response_limit_hours": domain.settings.urgent_response_limit_hours,
    }
    try:
        # As the dashboard does: bring the daily rollup up to date before the session's first read
        # (a SQLite read transaction does not see days built after it began).
        for spec in ("30d", "90d"):
            stats.prepare(db.engine, period=stats.parse_period(spec, tz, now), now=now, **limits)
        with db.session() as s:
            tree = domain.units(s)
            admin = Person(role=Role.DISTRICT_ADMIN, active=True)
            community = tree.get("YX-SG-XF")
            staff = Person(role=Role.COMMUNITY_STAFF, unit_id=community.id, active=True)
            everything = access.visible_tickets(admin, tree)
            mine = access.visible_tickets(staff, tree)
            for spec in ("30d", "90d"):
                period = stats.parse_period(spec, tz, now)
                for who, scope in (("区级", None), ("社区", mine)):

                    def figures(p: stats.Period = period, sc: Any = scope) -> None:
                        stats.follow_figures(s, period=p, now=now, scope=sc, **limits)
                        stats.follow_figures(s, period=p, now=now, scope=sc, by="unit", **limits)

                    timed(f"超期率/退单率/回访率 {spec}（{who}）", repeat, figures)
            for code, scope in (("YX", everything), ("YX-SG", everything), ("YX-SG-XF", mine)):
                unit = tree.get(code)
                timed(
                    f"督办台 {unit.name}",
                    repeat,
                    lambda u=unit, sc=scope: follow.board(
                        s, tree=tree, unit=u, now=now, tz=tz, scope=sc
                    ),
                )
            timed(
                "公开栏（全区）",
                repeat,
                lambda: publicboard.board(s, tree=tree, unit=None),
            )
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--backends", default="sqlite")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{args.workdir / f'bench-console-{args.tickets}.sqlite3'}"
            print(f"SQLite, {args.tickets:,} tickets: {url}")
            prepare(url, args.tickets)
            follow_through(url, datetime.now(UTC))
            measure(url, args.repeat)
        elif backend == "postgresql":
            server = postgres.start()
            try:
                name = f"bench_console_{args.tickets}"
                engine = create_engine(server.url, isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    if not conn.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                    ).scalar():
                        conn.execute(text(f"CREATE DATABASE {name}"))
                engine.dispose()
                url = server.url.rsplit("/", 1)[0] + f"/{name}"
                print(f"PostgreSQL, {args.tickets:,} tickets")
                prepare(url, args.tickets)
                follow_through(url, datetime.now(UTC))
                measure(url, args.repeat)
            finally:
                server.stop()
        else:
            raise SystemExit(f"unknown backend {backend!r}")


if __name__ == "__main__":
    main()
