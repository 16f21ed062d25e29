"""The real processes for end-to-end tests and the benchmark: Rasa server, action server, bot.

Each runs as in production (same commands as ``make run``), on free loopback ports, against a database
and a fake Telegram Bot API given in the environment; output goes to a log file that tests read to assert
nothing was logged at ERROR.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.fake_telegram import free_port

ROOT = Path(__file__).resolve().parents[2]
#: The application's Python: the checkout's virtualenv, else the one running the tests (a worktree).
APP_PY = str(
    ROOT / ".venv" / "bin" / "python"
    if (ROOT / ".venv" / "bin" / "python").exists()
    else Path(sys.executable)
)
#: Rasa: the checkout's .venv-rasa, or the one named by MINWEI_RASA_VENV (a worktree).
RASA = str(Path(os.environ.get("MINWEI_RASA_VENV", ROOT / ".venv-rasa")) / "bin" / "rasa")
RASA_MODEL = Path(
    os.environ.get("MINWEI_E2E_RASA_MODEL", ROOT / "models" / "rasa" / "minwei.tar.gz")
)


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    def start(self, timeout: float = 240.0) -> Process:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts} =====\n".encode())
        with self.log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if self.ready_url is not None:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        assert self.ready_url is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log}"
                )
            try:
                if httpx.get(self.ready_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} was not ready within {timeout}s; see {self.log}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        """Stop the process group (SIGKILL = a crash); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def errors(self) -> list[str]:
        """Lines logged at ERROR (or tracebacks) so far."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return [
            line
            for line in text.splitlines()
            if " ERROR " in line or line.startswith("Traceback") or "CRITICAL" in line
        ]


def rasa_server(
    env: dict[str, str], workdir: Path, action_port: int, *, lock_store: str = ""
) -> Process:
    """Rasa on a free port with its tracker store in ``workdir``; ``lock_store``: extra
    ``endpoints.yml`` lines (e.g. a Redis lock store), default Rasa's in-memory one."""
    port = free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{workdir / "trackers.sqlite3"}"\n'
        + lock_store,
        encoding="utf-8",
    )
    return Process(
        "rasa",
        [
            RASA,
            "run",
            "--enable-api",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            str(RASA_MODEL),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(ROOT / "credentials.yml"),
        ],
        {**env, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
        workdir / "rasa.log",
        ready_url=f"http://127.0.0.1:{port}/status",
    )


def action_server(env: dict[str, str], workdir: Path, port: int) -> Process:
    return Process(
        "actions",
        [APP_PY, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        {**env, "SANIC_HOST": "127.0.0.1"},
        workdir / "actions.log",
        ready_url=f"http://127.0.0.1:{port}/health",
    )


def bot(env: dict[str, str], workdir: Path) -> Process:
    return Process("bot", [APP_PY, "-m", "bot"], env, workdir / "bot.log")


class Redis:
    """A throw-away redis-server on a free loopback port (no persistence), stopped and started again
    by fault tests; the caller checks that redis-server is installed."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not listen; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
