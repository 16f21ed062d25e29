"""Benchmark: CPU time and SQL statements per filed ticket (one thread, SQLite, whole filing service).

    .venv/bin/python -m benchmarks.bench_filing_cpu [--tickets 300]

Wall-clock rates (``bench_filing``) on a shared machine measure the neighbours as much as the code;
the CPU time of the filing thread (SQLite works in it too) and the number of statements do not. To
compare two versions, run this from a worktree of each, alternating, and compare the lowest of a few
runs. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.bench_filing import file_many, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, domain = prepare(f"sqlite:///{Path(tmp) / 'filing.sqlite3'}")
        file_many(db, domain, 0, 50)  # caches and compiled statements warm
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count)
        wall, cpu = time.perf_counter(), time.thread_time()
        file_many(db, domain, 50, args.tickets)
        result = {
            "tickets": args.tickets,
            "cpu_ms_per_ticket": (time.thread_time() - cpu) / args.tickets * 1000,
            "wall_ms_per_ticket": (time.perf_counter() - wall) / args.tickets * 1000,
            "statements_per_ticket": statements / args.tickets,
        }
        db.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
