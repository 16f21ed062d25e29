"""Benchmark (not a test): console and Open311 response times at a million tickets, SQLite and PostgreSQL.

    nice .venv/bin/python -m benchmarks.bench_console [--tickets 1000000] [--requests 100]
                                                      [--workdir var/bench] [--backends sqlite,postgresql]

Seeds ``--tickets`` tickets with bulk inserts (benchmarks/bench_console_seed.py; several minutes per
backend), then starts the real console process (``python -m benchmarks.bench_console_server``: the console
with its caches off, so every request does its full work) on a free loopback port and times HTTP requests
one after another, signed in as a district administrator (all tickets) and as community staff:

- 工单列表 with filters (status tabs, category, urgent, overdue, place, source and handling mode, dates,
  page 3, sorting by due time) and full-text searches (common and rare words, one character, phrases,
  search plus filters);
- the counts per filter option (the sidebar the list loads after itself);
- 数据看板 for week, 30 days, month and 90 days, first views (caches off) and repeat views (caches on);
- Open311 ``requests.json`` with an API key (default 90 days, service codes, status, dates, pages).

A SQLite database in ``--workdir`` is reused when it already holds the tickets (re-runs skip seeding);
PostgreSQL comes from MINWEI_TEST_DATABASE_URL or a throw-away server started from the installed binaries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, func, select, text

from benchmarks import bench_console_seed
from tests.support import postgres
from tests.support.fake_telegram import free_port
from tests.support.processes import APP_PY, ROOT, Process
from tickets import auth, migrate
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Ticket
from tickets.settings import DATA_DIR, Settings

LISTS = [
    "",
    "tab=new",
    "tab=working&category=elevator",
    "urgent=1",
    "overdue=1",
    "area=YX-SG-XF-01&tab=working",
    "source=group&mode=onsite",
    "from={d30}&to={d1}",
    "tab=done&category=noise&page=3",
    "sort=due&tab=working",
    "unit=YX-SG-XF",
    "review=1",
]
SEARCHES = [
    "q=电梯",
    "q=电梯坏",
    "q=漏水",
    "q=水",
    "q=幸福花园12栋",
    "q=祠堂",
    "q=停车位&tab=new",
    "q=垃圾&area=YX-SG-XF",
    "q=广场舞",
    "q=路灯&tab=working",
]
PERIODS = ["period=week", "period=30d", "period=month", "period=90d"]
OPEN311 = [
    "",
    "&service_code=elevator",
    "&status=open",
    "&start_date={iso30}&end_date={iso1}",
    "&page=2&page_size=100",
    "&service_code=noise,parking&status=closed",
]


@dataclass
class Row:
    name: str
    timings: dict[str, tuple[float, float]]  # backend → (p50, p95) in ms


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples), cuts[94]


def expand(template: str, now: datetime) -> str:
    local = now + timedelta(hours=8)
    return template.format(
        d30=(local - timedelta(days=30)).date().isoformat(),
        d1=(local - timedelta(days=1)).date().isoformat(),
        iso30=quote((now - timedelta(days=30)).isoformat(timespec="seconds")),
        iso1=quote((now - timedelta(days=1)).isoformat(timespec="seconds")),
    )


def prepare(url: str, tickets: int) -> str:
    """Migrate and seed ``url`` unless it already holds ``tickets`` tickets; returns a new API key."""
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.session() as session:
        have = int(session.scalar(select(func.count(Ticket.id))) or 0)
    domain = Domain.load(Settings(database_url=url, data_dir=DATA_DIR))
    if have < tickets:
        if have:
            raise SystemExit(
                f"{url} holds {have} tickets, fewer than {tickets}: use a fresh database"
            )
        bench_console_seed.reset_case_counter()
        bench_console_seed.seed(db, domain, tickets, now=datetime.now(UTC))
    else:
        print(f"  reusing {have:,} tickets")
    with db.unit_of_work() as uow:
        _, key = auth.create_api_key(uow.session, name=f"bench-{time.time_ns()}")
        uow.commit()
    db.dispose()
    return key


@contextmanager
def console(url: str, workdir: Path, *, cache: bool) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CONSOLE_"))}
    env.update(
        {"DATABASE_URL": url, "CONSOLE_PORT": str(port), "CONSOLE_SECRET_KEY": "bench-secret"}
    )
    argv = [APP_PY, "-m", "benchmarks.bench_console_server", *(["--cache"] if cache else [])]
    server = Process(
        "console", argv, env, workdir / "console.log", ready_url=f"http://127.0.0.1:{port}/healthz"
    ).start(timeout=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": bench_console_seed.PASSWORD,
            "csrf_token": token,
            "next": "/tickets",
        },
    )
    if response.status_code != 303:
        raise SystemExit(f"signing in as {username} failed: {response.status_code}")
    return client


def timed(client: httpx.Client, paths: list[str], requests: int) -> tuple[float, float]:
    for path in paths:  # warm-up: one pass (connections, SQLite page cache, PostgreSQL plans)
        client.get(path).raise_for_status()
    samples = []
    per_path: dict[str, list[float]] = {}
    for i in range(requests):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        samples.append(elapsed)
        per_path.setdefault(path, []).append(elapsed)
        response.raise_for_status()
    slowest = sorted(per_path.items(), key=lambda kv: -max(kv[1]))[:3]
    for path, times in slowest:
        shown = path.split("api_key=")[0] + ("api_key=…" if "api_key=" in path else "")
        print(f"    slowest: {max(times):7.0f} ms  {shown}")
    return quantiles(samples)


def run(name: str, client: httpx.Client, paths: list[str], requests: int) -> tuple[float, float]:
    print(f"  {name}")
    return timed(client, paths, requests)


def measure(url: str, key: str, workdir: Path, requests: int) -> dict[str, tuple[float, float]]:
    now = datetime.now(UTC)
    found: dict[str, tuple[float, float]] = {}
    lists = ["/tickets?" + expand(q, now) for q in LISTS]
    searches = ["/tickets?" + q for q in SEARCHES]
    with console(url, workdir, cache=False) as base:
        admin, community = signed_in(base, "bench_admin"), signed_in(base, "bench_community")
        found["工单列表 + 筛选（区级）"] = run("工单列表 + 筛选（区级）", admin, lists, requests)
        found["工单列表 + 筛选（社区）"] = run(
            "工单列表 + 筛选（社区）", community, lists, requests
        )
        found["全文搜索（区级）"] = run("全文搜索（区级）", admin, searches, requests)
        found["全文搜索（社区）"] = run("全文搜索（社区）", community, searches, requests)
        facets = [p.replace("/tickets?", "/tickets/facets?") for p in lists + searches]
        found["各筛选项计数（区级）"] = run("各筛选项计数（区级）", admin, facets, requests)
        boards = [f"/dashboard?{p}" for p in PERIODS]
        found["数据看板，首次（区级）"] = run(
            "数据看板，首次（区级）", admin, boards, max(20, requests // 4)
        )
        found["数据看板，首次（社区）"] = run(
            "数据看板，首次（社区）", community, boards, max(20, requests // 4)
        )
        api = httpx.Client(base_url=base, timeout=120)
        open311 = [f"/open311/v2/requests.json?api_key={key}" + expand(q, now) for q in OPEN311]
        found["Open311 requests.json"] = run("Open311 requests.json", api, open311, requests)
    with console(url, workdir, cache=True) as base:
        admin = signed_in(base, "bench_admin")
        found["数据看板，再次（区级，缓存 60 秒）"] = run(
            "数据看板，再次（区级，缓存 60 秒）", admin, boards, requests
        )
    return found


def sqlite_backend(workdir: Path, tickets: int, requests: int) -> dict[str, tuple[float, float]]:
    url = f"sqlite:///{workdir / f'bench-console-{tickets}.sqlite3'}"
    print(f"SQLite: {url}")
    key = prepare(url, tickets)
    return measure(url, key, workdir, requests)


def postgres_backend(workdir: Path, tickets: int, requests: int) -> dict[str, tuple[float, float]]:
    server = postgres.start()
    try:
        admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
        name = f"bench_console_{tickets}"
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = server.url.rsplit("/", 1)[0] + f"/{name}"
        print(f"PostgreSQL: {url}")
        key = prepare(url, tickets)
        return measure(url, key, workdir, requests)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per row")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    backends = args.backends.split(",")
    if "sqlite" in backends:
        results["SQLite"] = sqlite_backend(args.workdir, args.tickets, args.requests)
    if "postgresql" in backends:
        try:
            results["PostgreSQL"] = postgres_backend(args.workdir, args.tickets, args.requests)
        except postgres.PostgresUnavailable as e:
            print(f"PostgreSQL skipped: {e}")
    names = list(next(iter(results.values())))
    print(
        f"\nResponse times at {args.tickets:,} tickets, ms (p50 / p95), {args.requests} requests per row"
    )
    print("| 请求 | " + " | ".join(f"{b} p50 | {b} p95" for b in results) + " |")
    print("|---|" + "---|---|" * len(results))
    for name in names:
        cells = " | ".join(
            f"{results[b][name][0]:.0f} | {results[b][name][1]:.0f}" for b in results
        )
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
