"""The cluster profile under load and faults, on one machine: PostgreSQL, Redis, 2 Rasa servers (tracker
store on PostgreSQL, lock store on Redis), 2 action servers, 2 bot workers in webhook mode, HAProxy in
front of the webhooks, the Rasa servers and the action servers (configuration from scripts/cluster.py),
Telegram on loopback (tests/support/fake_telegram.py).

1. Group intake throughput: the same number of grid-group messages pushed as fast as the load balancer
   takes them, with one bot worker (the other stopped), then with two, then with one again; updates
   handled a second from the first push to the last row done. The speed-up is the two workers' rate
   over the mean of the single worker's two, which cancels the drift of a database growing under
   the measures; the CPU each process spent a message is printed with each measure.
2. A steady mixed load (group messages, grid members' forwards, residents' commands and residents'
   reports told to Rasa over four turns), during which one bot worker, one Rasa server and one action
   server are SIGKILLed (each restarted a little later) and Redis is restarted once.

    .venv/bin/python -m benchmarks.bench_cluster [--updates 20000] [--throughput 3000]

Prints what it does and, as its last line, one JSON object: pushed, handled, lost, duplicated_tickets,
duplicated_replies, out_of_order, kills, throughput with 1 and 2 workers and speedup_2_workers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text, tuple_

from tests.support import cluster, postgres, processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer, free_port
from tickets.db import Database
from tickets.models import InboxItem, Person, Ticket

sys.path.insert(0, str(processes.ROOT / "scripts"))
import cluster as layout

RESIDENT_TURNS = ["康乐苑{n}栋门口盏路灯唔着成个礼拜", "对", "冇相", "可以"]
FIRST_REPORTER = 881000
#: One resident's four-turn report per this many updates of the mixed load.
UPDATES_PER_REPORT = 120


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def drained(db: Database, pushed: int) -> bool:
    with db.session() as s:
        stored = s.scalar(select(func.count(InboxItem.id))) or 0
        done = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status == "done")) or 0
    return stored >= pushed and done >= pushed


def cpu_seconds(roles: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process tree: ``roles`` maps a role to the pid
    of its root; a process belongs to the role of its nearest listed ancestor (PostgreSQL's and
    Redis's servers are found by name, this benchmark is "driver"). Read from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    name: dict[int, str] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parent[pid], name[pid] = int(fields[1]), comm
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    by_pid = {pid: role for role, pid in roles.items()}
    by_pid[os.getpid()] = "driver"
    totals: dict[str, float] = dict.fromkeys([*roles, "driver", "postgres", "redis"], 0.0)
    for pid, seconds in used.items():
        role, walk = None, pid
        while walk > 1 and role is None:
            role = by_pid.get(walk)
            if name.get(walk, "").startswith("postgres"):
                role = "postgres"
            elif name.get(walk, "").startswith("redis-server"):
                role = "redis"
            walk = parent.get(walk, 0)
        if role is not None:
            totals[role] += seconds
    return totals


def per_message(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU milliseconds a message of each role between two ``cpu_seconds`` readings (and in all)."""
    ms = {role: round(1000 * (after.get(role, 0.0) - used) / n, 2) for role, used in before.items()}
    ms = {role: v for role, v in ms.items() if v > 0}
    return {**ms, "all": round(sum(ms.values()), 2)}


def throughput(
    traffic: cluster.Traffic, balancer: cluster.Balancer, db: Database, n: int, base: int
) -> float:
    """Push ``n`` group messages through the balancer (8 connections) and time them until done."""
    telegram = traffic.telegram
    updates = []
    for k in range(n):
        who = traffic.neighbours[k % len(traffic.neighbours)]
        pool = cluster.DEMANDS if k % 5 == 0 else cluster.CHATTER
        telegram.message(who, pool[k % len(pool)].format(n=base + k), chat=traffic.chat)
        updates.extend(telegram.take_updates())
    traffic.pushed += len(updates)
    started = time.monotonic()
    cluster.blast(balancer.workers[0].url, updates, connections=8)
    while not drained(db, traffic.pushed):
        time.sleep(0.2)
    return n / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20000, help="updates of the mixed load")
    parser.add_argument("--throughput", type=int, default=3000, help="group messages per measure")
    parser.add_argument("--rate", type=float, default=120.0, help="mixed load, updates a second")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="minwei-cluster-"))
    log(f"work directory {workdir}")
    pg = postgres.start()
    admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE minwei"))
        conn.execute(text("CREATE DATABASE rasa"))
    admin.dispose()
    url = pg.url.rsplit("/", 1)[0] + "/minwei"
    db = cluster.prepare(url)
    telegram = FakeTelegram()
    traffic = cluster.Traffic(telegram)
    server = FakeTelegramServer(telegram).start()
    redis = processes.Redis(workdir)
    redis.start()
    bots = cluster.workers(
        2, url=url, telegram=server, workdir=workdir, lease=5.0, redis_url=redis.url
    )
    rasa_ports, action_ports = [free_port(), free_port()], [free_port(), free_port()]
    lb = layout.Cluster(
        database_url=pg.url.rsplit("/", 1)[0] + "/rasa",
        redis_url=f"redis://127.0.0.1:{redis.port}/0",
        bots=[("127.0.0.1", b.port) for b in bots],
        rasa=[("127.0.0.1", p) for p in rasa_ports],
        actions=[("127.0.0.1", p) for p in action_ports],
        consoles=[("127.0.0.1", free_port())],
        webhook_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        console_port=free_port(),
    )
    files = layout.render(lb, workdir / "etc")
    haproxy = processes.Process(
        "haproxy",
        [shutil.which("haproxy") or "haproxy", "-db", "-f", str(files["haproxy.cfg"])],
        dict(os.environ),
        workdir / "haproxy.log",
    )
    env = dict(bots[0].process.env)
    env.pop("BOT_WORKER_ID", None)
    env["RASA_URL"] = lb.lb(lb.rasa_port)
    for b in bots:
        b.process.env["RASA_URL"] = env["RASA_URL"]
    rasas = [
        processes.Process(
            f"rasa{n}",
            [
                processes.RASA,
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
                "-m",
                str(processes.RASA_MODEL),
                "--endpoints",
                str(files["endpoints.yml"]),
                "--credentials",
                str(processes.ROOT / "credentials.yml"),
            ],
            {**env, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
            workdir / f"rasa{n}.log",
            ready_url=f"http://127.0.0.1:{port}/status",
        )
        for n, port in enumerate(rasa_ports, 1)
    ]
    actions = [
        processes.Process(
            f"actions{n}",
            [processes.APP_PY, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
            {**env, "SANIC_HOST": "127.0.0.1"},
            workdir / f"actions{n}.log",
            ready_url=f"http://127.0.0.1:{port}/health",
        )
        for n, port in enumerate(action_ports, 1)
    ]
    webhook = cluster.Worker(haproxy, lb.webhook_port)
    balancer = cluster.Balancer([webhook])
    everything = [haproxy, *actions, *rasas, *(b.process for b in bots)]
    kills: list[str] = []
    try:
        haproxy.start()
        for a in actions:
            a.start()
        log("starting 2 Rasa servers (a few minutes)")
        for r in rasas:
            r.start(timeout=900)
        bots[0].process.start()
        cluster.wait_listening(bots[0])
        time.sleep(3)  # HAProxy's health checks see the second worker down

        def roles() -> dict[str, int]:
            running = [(b.process.name, b.process.process) for b in bots]
            running += [(p.name, p.process) for p in [haproxy, *rasas, *actions]]
            return {name: proc.pid for name, proc in running if proc is not None}

        cpu: dict[str, dict[str, float]] = {}

        def measure(label: str, base: int) -> float:
            """Group intake rate now, and each process's CPU a message meanwhile (``cpu[label]``)."""
            log(f"throughput, {label.replace('_', ' ')}: {args.throughput} group messages")
            before = cpu_seconds(roles())
            rate = throughput(traffic, balancer, db, args.throughput, base)
            cpu[label] = per_message(before, cpu_seconds(roles()), args.throughput)
            log(f"  {rate:.0f} updates/s; CPU ms a message: {cpu[label]}")
            return rate

        def second_worker_up() -> None:
            bots[1].process.start()
            cluster.wait_listening(bots[1])
            time.sleep(3)  # HAProxy's health checks see it up

        one = measure("1_worker", 1_000_000)
        second_worker_up()
        two = measure("2_workers", 2_000_000)
        # One worker again: each measure runs on a database the earlier ones grew (every fifth
        # message files a ticket, and filing looks for a case among the open ones), so the single
        # worker is measured before and after the pair and the two are averaged.
        bots[1].process.stop()
        time.sleep(3)  # HAProxy's health checks see it down
        one_again = measure("1_worker_again", 3_000_000)
        second_worker_up()

        log(f"mixed load with faults: {args.updates} updates at ~{args.rate:.0f}/s")
        reporter_ids = range(
            FIRST_REPORTER, FIRST_REPORTER + max(1, args.updates // UPDATES_PER_REPORT)
        )
        reporters = [telegram.user(u, f"居民{u % 1000}") for u in reporter_ids]
        turns = [(r, t.format(n=k + 1)) for t in RESIDENT_TURNS for k, r in enumerate(reporters)]
        start_pushed = traffic.pushed
        faults = {
            int(args.updates * 0.2): "bot",
            int(args.updates * 0.4): "rasa",
            int(args.updates * 0.6): "actions",
            int(args.updates * 0.8): "redis",
        }
        restarts: list[tuple[float, Any]] = []
        started = time.monotonic()
        step = 0
        while traffic.pushed - start_pushed < args.updates:
            step += 1
            if step % 20 == 0 and turns:
                user, said = turns.pop(0)
                telegram.message(user, said)
                updates = telegram.take_updates()
                traffic.pushed += len(updates)
            else:
                updates = traffic.next_updates()
            for u in updates:
                balancer.post(u)
            done = traffic.pushed - start_pushed
            for at in [a for a in faults if done >= a]:
                what = faults.pop(at)
                kills.append(what)
                log(f"  {done} pushed: {what}")
                if what == "bot":
                    bots[0].process.kill()
                    restarts.append((time.monotonic() + 10, bots[0].process))
                elif what == "rasa":
                    rasas[0].kill()
                    restarts.append((time.monotonic() + 5, rasas[0]))
                elif what == "actions":
                    actions[0].kill()
                    restarts.append((time.monotonic() + 5, actions[0]))
                else:
                    redis.stop()
                    redis.start()
            for due, process in list(restarts):
                if time.monotonic() >= due:
                    restarts.remove((due, process))
                    process.process = None
                    process.ready_url = None  # started in the background; HAProxy finds it
                    process.start()
            behind = done / args.rate - (time.monotonic() - started)
            if behind > 0:
                time.sleep(behind)
        for _, process in restarts:
            process.ready_url = None
            process.start()
        for user, said in turns:  # the turns the load did not reach: every report is told whole
            telegram.message(user, said)
            for u in telegram.take_updates():
                traffic.pushed += 1
                balancer.post(u)
        log("waiting for everything to be handled and sent")
        settled = cluster.wait_settled(db, traffic, timeout=1800)
        result: dict[str, Any] = cluster.figures(db, traffic)
        with db.session() as s:
            reports = s.execute(
                select(Person.telegram_user_id, func.count(Ticket.id))
                .join(Ticket, Ticket.reporter_id == Person.id)
                .where(Person.telegram_user_id.in_(list(reporter_ids)))
                .group_by(Person.telegram_user_id)
            ).all()
            twice = [u for u, n in reports if n > 1]
            doubles = s.execute(
                select(Ticket.chat_id, Ticket.message_id)
                .where(Ticket.message_id.is_not(None))
                .group_by(Ticket.chat_id, Ticket.message_id)
                .having(func.count(Ticket.id) > 1)
            ).all()
            # What a duplicate looks like, to find its cause: code, source, chat/message, text.
            shown = s.execute(
                select(
                    Ticket.code,
                    Ticket.source,
                    Ticket.chat_id,
                    Ticket.message_id,
                    Person.telegram_user_id,
                    Ticket.redacted_text,
                    Ticket.created_at,
                )
                .outerjoin(Person, Ticket.reporter_id == Person.id)
                .where(
                    Person.telegram_user_id.in_(twice)
                    | tuple_(Ticket.chat_id, Ticket.message_id).in_([tuple(d) for d in doubles])
                )
                .order_by(Ticket.chat_id, Ticket.message_id, Ticket.id)
                .limit(40)
            ).all()
        result["duplicated_tickets"] += sum(n - 1 for _, n in reports if n > 1)
        result["duplicates"] = [
            [code, str(source), chat, message, user, (text or "")[:24], str(created)]
            for code, source, chat, message, user, text, created in shown
        ]
        result.update(
            {
                "settled": settled,
                "kills": kills,
                "reporters": len(reporters),
                "reporters_with_a_ticket": len(reports),
                "reports_without_a_ticket": len(reporters) - len(reports),
                "group_intake_1_worker_per_s": round((one + one_again) / 2, 1),
                "group_intake_1_worker_before_after_per_s": [round(one, 1), round(one_again, 1)],
                "group_intake_2_workers_per_s": round(two, 1),
                "speedup_2_workers": round(2 * two / (one + one_again), 2),
                "group_intake_cpu_ms_per_message": cpu,
                "balancer_retries": balancer.retries,
                "cores": os.cpu_count(),
                "load_average": os.getloadavg()[0],
            }
        )
        if result["duplicated_replies"]:  # which ones, to find the cause
            result["duplicated_reply_texts"] = [
                [chat, text[:40], n]
                for (chat, text), n in cluster.excess_replies(db, traffic).items()
            ][:20]
        if not settled:
            result["unfinished"] = cluster.unfinished(db)[:20]
        errors = {p.name: [e[:300] for e in p.errors()[-5:]] for p in everything if p.errors()}
        if errors:
            result["errors_logged"] = errors
        print(json.dumps(result, ensure_ascii=False, default=str))
    finally:
        balancer.close()
        for p in everything:
            p.stop()
        redis.stop()
        server.stop()
        db.dispose()
        pg.stop()
    return 0


if __name__ == "__main__":
    for sig in (signal.SIGTERM,):
        signal.signal(sig, lambda *_: sys.exit(1))
    raise SystemExit(main())
