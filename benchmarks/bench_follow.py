"""Benchmark (not a test): the console's follow-through queries at a million tickets, in process.

    nice .venv/bin/python -m benchmarks.bench_follow [--tickets 1000000] [--repeat 20]
                                                     [--workdir var/bench] [--backends sqlite]

Seeds (or reuses) the console benchmark's database (``benchmarks.bench_console.prepare``), then times:
超期率/退单率/回访率 (``tickets.stats.follow_figures``, total and per unit, what the dashboard adds) for
30 and 90 days, the 督办台 (``tickets.usecases.follow.board``) of the district, a street and a community,
and the public board (``tickets.usecases.publicboard.board``). Prints the median and p95 in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from benchmarks.bench_console import ROOT, prepare
from tests.support import postgres
from tickets import access, stats
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role
from tickets.usecases import follow, publicboard


def timed(name: str, repeat: int, work: Callable[[], Any]) -> tuple[float, float]:
    work()  # warm the caches once
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=100, method="inclusive") if repeat > 1 else samples
    median, p95 = statistics.median(samples), cuts[min(94, len(cuts) - 1)]
    print(f"  {name:<40} median {median:7.1f} ms   p95 {p95:7.1f} ms")
    return median, p95


def measure(url: str, repeat: int) -> None:
    db = Database(url)
    domain = Domain.load(Settings(database_url=url, data_dir=DATA_DIR))
    tz, now = domain.settings.timezone, datetime.now(UTC)
    try:
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
                        stats.follow_figures(s, period=p, now=now, scope=sc)
                        stats.follow_figures(s, period=p, now=now, scope=sc, by="unit")

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
                measure(url, args.repeat)
            finally:
                server.stop()
        else:
            raise SystemExit(f"unknown backend {backend!r}")


if __name__ == "__main__":
    main()
