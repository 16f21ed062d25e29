"""Two bot workers on one PostgreSQL database behind a round-robin balancer, one SIGKILLed mid-run: the
other takes over its claims when their leases run out. Nothing is lost, no ticket is filed twice, no
reply is sent twice, and each resident's replies come in the order they wrote.

A few hundred updates (``MINWEI_CLUSTER_UPDATES``); the long version with Rasa, action servers and
Redis is ``benchmarks/bench_cluster.py``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import cluster, processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer
from tickets.db import Database

UPDATES = int(os.environ.get("MINWEI_CLUSTER_UPDATES", "300"))

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]


@pytest.fixture
def cluster_db(postgres_url: str) -> Iterator[Database]:
    from tests.conftest import _truncate_all

    db = Database(postgres_url)
    _truncate_all(db)
    db.dispose()
    prepared = cluster.prepare(postgres_url)
    yield prepared
    prepared.dispose()


def test_two_workers_one_killed_lose_nothing_and_do_nothing_twice(
    cluster_db: Database, tmp_path: Path
) -> None:
    if not (processes.ROOT / "models" / "nlu" / "model.json").exists():
        pytest.skip("no NLU model at models/nlu (run `make train`)")
    telegram = FakeTelegram()
    traffic = cluster.Traffic(telegram)
    server = FakeTelegramServer(telegram).start()
    # A lease of a few seconds: taken over soon after the kill, yet not lost by a live worker whose
    # heartbeat is late on a loaded machine (30 s in production).
    workers = cluster.workers(2, url=cluster_db.url, telegram=server, workdir=tmp_path, lease=5.0)
    balancer = cluster.Balancer(workers)
    try:
        for w in workers:
            w.process.start()
        for w in workers:
            cluster.wait_listening(w)
        killed_at = UPDATES // 3
        killed = False
        while traffic.pushed < UPDATES:
            for update in traffic.next_updates():
                balancer.post(update)
            if not killed and traffic.pushed >= killed_at:
                proc = workers[0].process.process
                assert proc is not None
                os.killpg(proc.pid, signal.SIGKILL)  # mid-run, with claims in flight
                proc.wait(10)
                killed = True
            time.sleep(0.005)
        assert cluster.wait_settled(cluster_db, traffic, timeout=240), (
            cluster.figures(cluster_db, traffic),
            cluster.unfinished(cluster_db),
        )
        result = cluster.figures(cluster_db, traffic)
        print("cluster fault test:", result, "balancer retries:", balancer.retries)
        assert result["lost"] == 0
        assert result["duplicated_tickets"] == 0
        assert result["duplicated_replies"] == 0
        assert result["out_of_order"] == 0
        assert result["failed_sends"] == 0
        assert workers[1].process.errors() == []
    finally:
        balancer.close()
        for w in workers:
            w.process.stop()
        server.stop()
