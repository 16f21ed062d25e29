"""`make run-cluster` end to end: the supervisor (scripts/supervise.py with PROFILE=cluster) starts its
own PostgreSQL and Redis, prepares the database, starts 2 Rasa servers, 2 action servers, 2 bot workers
in webhook mode, 2 consoles and HAProxy, and says "民微已启动"; then a resident reports a broken street
lamp over four turns through the load balancer's webhook port (Telegram is the loopback Bot API), which
goes bot → HAProxy → Rasa → HAProxy → action server and files a ticket in that PostgreSQL; the console
answers through HAProxy; Ctrl-C stops every process it started.

The first start of this profile by hand found three defects no unit test had (no ``minwei`` database,
no Redis, PostgreSQL left running after a failed setup). Two Rasa servers take one to three minutes to
start on a 2-core machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from tests.support import processes
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer, free_port
from tickets.models import Person, Ticket

sys.path.insert(0, str(processes.ROOT / "scripts"))

import cluster

STAFF_CHAT = -100770002
RESIDENT = 770101
TURNS = ["康乐苑3栋门口盏路灯唔着成个礼拜", "对", "冇相", "可以"]
STARTED = "民微已启动"


def _missing() -> str | None:
    for tool, package in (("redis-server", "redis-server"), ("haproxy", "haproxy")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package})"
    try:
        cluster._pg_bin("initdb")
    except SystemExit:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if not (processes.ROOT / ".venv-rasa" / "bin" / "rasa").exists():
        return "no Rasa environment at .venv-rasa (make setup)"
    if not processes.RASA_MODEL.exists():
        return f"no Rasa model at {processes.RASA_MODEL} (make train)"
    if not (processes.ROOT / "models" / "nlu" / "model.json").exists():
        return "no NLU model at models/nlu (make train)"
    return None


pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]


class Supervisor:
    """``scripts/supervise.py`` in its own session, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [processes.APP_PY, str(processes.ROOT / "scripts" / "supervise.py")],
            cwd=processes.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        tail = "\n".join(self.lines[-60:])
        raise AssertionError(f"no {text!r} from the supervisor within {timeout:.0f}s:\n{tail}")

    def session_pids(self) -> list[int]:
        """Processes still in the supervisor's session (it and everything it started)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[3]) == self.process.pid and fields[0] != "Z":  # session id, state
                found.append(int(entry.name))
        return found

    def kill_all(self) -> None:
        """Whatever is left (after a failure), then the output pipe."""
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """Outside pytest's private temporary directory: PostgreSQL runs as its own user when the tests
    run as root, and must be able to reach its data directory."""
    path = Path(tempfile.mkdtemp(prefix="minwei-run-cluster-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_make_run_cluster_starts_files_a_report_end_to_end_and_stops_everything(
    state_dir: Path,
) -> None:
    telegram = FakeTelegram()
    server = FakeTelegramServer(telegram).start()
    telegram.group(STAFF_CHAT, "云溪区工作群")
    resident = telegram.user(RESIDENT, "街坊阿明")
    ports = {name: free_port() for name in ("pg", "redis", "webhook", "rasa", "actions", "console")}
    pieces = {name: [free_port(), free_port()] for name in ("bots", "rasa", "actions", "consoles")}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("BOT_", "TELEGRAM_", "RASA_", "DATABASE_", "REDIS_", "STAFF_", "CLUSTER_", "PYTEST")
        )
    }
    env.update(
        {
            "PROFILE": "cluster",
            "CLUSTER_STATE_DIR": str(state_dir),
            "CLUSTER_LOCAL_PG_PORT": str(ports["pg"]),
            "CLUSTER_LOCAL_REDIS_PORT": str(ports["redis"]),
            "CLUSTER_WEBHOOK_PORT": str(ports["webhook"]),
            "CLUSTER_RASA_PORT": str(ports["rasa"]),
            "CLUSTER_ACTIONS_PORT": str(ports["actions"]),
            "CLUSTER_CONSOLE_PORT": str(ports["console"]),
            **{
                f"CLUSTER_{name.upper()}": ",".join(f"127.0.0.1:{p}" for p in found)
                for name, found in pieces.items()
            },
            "TELEGRAM_BOT_TOKEN": "123456:RUNCLUSTER",
            "TELEGRAM_API_BASE_URL": server.base_url,
            "BOT_WEBHOOK_URL": f"http://127.0.0.1:{ports['webhook']}/telegram",
            "STAFF_CHAT_ID": str(STAFF_CHAT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    supervisor = Supervisor(env)
    client = httpx.Client(timeout=30)
    try:
        supervisor.wait_for(STARTED, timeout=600)
        assert _listening(ports["pg"]) and _listening(ports["redis"])

        # The console, through HAProxy.
        assert client.get(f"http://127.0.0.1:{ports['console']}/healthz").status_code == 200

        # A resident's report over four turns, through the webhook behind HAProxy.
        webhook = f"http://127.0.0.1:{ports['webhook']}/telegram"
        for n, said in enumerate(TURNS):
            before = len(telegram.sent(RESIDENT))
            telegram.message(resident, said)
            for update in telegram.take_updates():
                deadline = time.monotonic() + 60
                while client.post(webhook, json=update).status_code != 200:
                    assert time.monotonic() < deadline, "no bot worker took the update"
                    time.sleep(0.5)

            def replied(b: int = before) -> bool:
                return len(telegram.sent(RESIDENT)) > b

            assert telegram.wait_until(replied, timeout=120), (
                f"no reply to turn {n + 1} ({said!r}); the bot sent {telegram.texts(RESIDENT)}"
            )
        engine = create_engine(f"postgresql+psycopg://minwei@127.0.0.1:{ports['pg']}/minwei")
        try:
            deadline = time.monotonic() + 60
            while True:
                with engine.connect() as conn:
                    codes = conn.scalars(
                        select(Ticket.code)
                        .join(Person, Ticket.reporter_id == Person.id)
                        .where(Person.telegram_user_id == RESIDENT)
                    ).all()
                if codes or time.monotonic() > deadline:
                    break
                time.sleep(1)
        finally:
            engine.dispose()
        assert len(codes) == 1, telegram.texts(RESIDENT)
        telegram.wait_for_message(RESIDENT, codes[0], timeout=60)
        assert telegram.wait_until(lambda: bool(telegram.sent(STAFF_CHAT)), timeout=60)

        # Ctrl-C: every piece stops, the databases last.
        os.killpg(supervisor.process.pid, signal.SIGINT)
        assert supervisor.process.wait(timeout=120) == 0
        supervisor.wait_for("all services stopped", timeout=5)
        deadline = time.monotonic() + 30
        while supervisor.session_pids() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert supervisor.session_pids() == []
        assert not any(
            _listening(p)
            for p in [*ports.values(), *(p for found in pieces.values() for p in found)]
        )
        assert not (state_dir / "pg" / "postmaster.pid").exists()
    finally:
        client.close()
        if supervisor.process.poll() is None:
            os.killpg(supervisor.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                supervisor.process.wait(timeout=60)
        supervisor.kill_all()
        server.stop()
