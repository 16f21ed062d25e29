"""Benchmark (not a test): where two bot workers wait for each other on PostgreSQL.

    .venv/bin/python -m benchmarks.bench_lock_waits [--messages 800] [--workers 2] [--wait-ms 50]

A throw-away PostgreSQL with ``log_lock_waits`` on (``deadlock_timeout`` = ``--wait-ms``), the bound
grid group of tests/support/cluster.py, ``--workers`` bot workers in webhook mode, and ``--messages``
group messages (one in five a demand) pushed through a round-robin balancer as fast as the workers
take them. Prints the group-intake rate and, from the server's log, how many times a statement waited
longer than ``--wait-ms`` for a lock, by statement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.bench_cluster import throughput
from tests.support import cluster, postgres
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=800)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wait-ms", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="minwei-lockwaits-"))
    server = postgres.start()
    bots: list[cluster.Worker] = []
    try:
        admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE minwei"))
            conn.execute(text("ALTER SYSTEM SET log_lock_waits = on"))
            conn.execute(text(f"ALTER SYSTEM SET deadlock_timeout = '{args.wait_ms}ms'"))
            conn.execute(text("SELECT pg_reload_conf()"))
            data_dir = Path(conn.execute(text("SHOW data_directory")).scalar_one())
        admin.dispose()
        url = server.url.rsplit("/", 1)[0] + "/minwei"
        db = cluster.prepare(url)
        telegram = FakeTelegram()
        traffic = cluster.Traffic(telegram)
        fake = FakeTelegramServer(telegram).start()
        bots = cluster.workers(args.workers, url=url, telegram=fake, workdir=workdir, lease=5.0)
        for bot in bots:
            bot.process.start()
        for bot in bots:
            cluster.wait_listening(bot)
        rate = throughput(traffic, cluster.Balancer(bots), db, args.messages, 1_000_000)
        time.sleep(1)
        log = (data_dir.parent / "server.log").read_text(encoding="utf-8", errors="replace")
        lines = log.splitlines()
        waits = [n for n, line in enumerate(lines) if "still waiting for" in line]
        statements: Counter[str] = Counter()
        for n in waits:
            for line in lines[n + 1 : n + 6]:
                if "STATEMENT:" in line:
                    statements[line.split("STATEMENT:", 1)[1].strip()[:80]] += 1
                    break
        print(f"{args.workers} workers, {args.messages} group messages: {rate:.1f} a second")
        print(f"lock waits longer than {args.wait_ms} ms: {len(waits)}")
        for statement, count in statements.most_common(8):
            print(f"  {count:5}  {statement}")
        db.dispose()
        fake.stop()
    finally:
        for bot in bots:
            bot.process.stop()
        server.stop()


if __name__ == "__main__":
    main()
