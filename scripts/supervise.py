"""Run the whole stack for `make run`: Rasa server, action server, console and (with a token) the bot.

One supervisor, readable prefixed logs, restarts with backoff when a service dies (never giving up: a
service that keeps crashing is retried every few minutes, with its last output shown each time), clean
shutdown on Ctrl-C (SIGTERM to every service, SIGKILL after a grace period). Standard library only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PY = str(ROOT / ".venv" / "bin" / "python")
RASA = str(ROOT / ".venv-rasa" / "bin" / "rasa")
GRACE_SECONDS = 10
#: A crashing service is restarted after 1 s, doubling up to this; a run this long resets the delay.
MAX_RESTART_DELAY = 300.0
STABLE_SECONDS = 120.0
TAIL_LINES = 10
COLOURS = ["36", "33", "35", "32", "34"]


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str | None = None
    #: Ready when this (host, port) accepts connections (PostgreSQL, Redis).
    ready_tcp: tuple[str, int] | None = None
    process: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)
    #: The last lines the service wrote (shown when it keeps crashing).
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=50))


def read_env() -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    from tickets.settings import read_env_file

    env = read_env_file(ROOT / ".env")
    env.update(os.environ)
    return env


def services(env: dict[str, str]) -> list[Service]:
    rasa_port = env.get("RASA_URL", "http://127.0.0.1:5005").rsplit(":", 1)[-1].strip("/") or "5005"
    action_port = env.get("ACTION_SERVER_PORT", "5055")
    console_port = env.get("CONSOLE_PORT", "8000")
    endpoints = ROOT / "endpoints.yml"
    # endpoints.yml names the default action server port; point Rasa at the configured one.
    if action_port != "5055":
        endpoints = ROOT / "var" / "endpoints.generated.yml"
        endpoints.parent.mkdir(exist_ok=True)
        endpoints.write_text(
            (ROOT / "endpoints.yml")
            .read_text(encoding="utf-8")
            .replace("127.0.0.1:5055", f"127.0.0.1:{action_port}"),
            encoding="utf-8",
        )
    found = [
        Service(
            "rasa",
            [
                RASA,
                "run",
                "--enable-api",
                "-i",
                "127.0.0.1",
                "-p",
                rasa_port,
                "-m",
                str(ROOT / "models" / "rasa" / "minwei.tar.gz"),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(ROOT / "credentials.yml"),
            ],
            ready_url=f"http://127.0.0.1:{rasa_port}/status",
        ),
        Service(
            "actions",
            [APP_PY, "-m", "rasa_sdk", "--actions", "actions", "--port", action_port],
            env={"SANIC_HOST": "127.0.0.1"},
            ready_url=f"http://127.0.0.1:{action_port}/health",
        ),
        Service(
            "console",
            [APP_PY, "-m", "console"],
            ready_url=f"http://127.0.0.1:{console_port}/healthz",
        ),
    ]
    if env.get("TELEGRAM_BOT_TOKEN"):
        found.append(Service("bot", [APP_PY, "-m", "bot"]))
    return found


def log(name: str, colour: str, line: str) -> None:
    prefix = f"\033[{colour}m{name:>8} |\033[0m " if sys.stdout.isatty() else f"{name:>8} | "
    print(prefix + line, flush=True)


async def pump(service: Service, colour: str) -> None:
    assert service.process is not None and service.process.stdout is not None
    async for raw in service.process.stdout:
        line = raw.decode("utf-8", "replace").rstrip()
        service.tail.append(line)
        log(service.name, colour, line)


async def start(service: Service, colour: str, env: dict[str, str]) -> None:
    service.process = await asyncio.create_subprocess_exec(
        *service.argv,
        cwd=ROOT,
        env={**env, **service.env, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    log(service.name, colour, f"started (pid {service.process.pid})")


async def watch(
    service: Service, colour: str, env: dict[str, str], stopping: asyncio.Event
) -> None:
    """Keep ``service`` running, whatever happens: restart it with backoff (1 s doubling to 5 min,
    back to 1 s once it ran for ``STABLE_SECONDS``), and say loudly each time why it stopped."""
    delay = 1.0
    while not stopping.is_set():
        started = time.monotonic()
        service.tail.clear()
        await start(service, colour, env)
        assert service.process is not None
        await asyncio.gather(pump(service, colour), service.process.wait())
        if stopping.is_set():
            break
        ran = time.monotonic() - started
        now = time.monotonic()
        service.restarts = [t for t in service.restarts if now - t < 600] + [now]
        delay = 1.0 if ran >= STABLE_SECONDS else min(MAX_RESTART_DELAY, delay * 2)
        log(
            service.name,
            colour,
            f"!! exited with {service.process.returncode} after {ran:.0f}s "
            f"({len(service.restarts)} exits in 10 minutes); restarting in {delay:.0f}s",
        )
        if len(service.restarts) >= 3:
            for line in list(service.tail)[-TAIL_LINES:]:
                log(service.name, colour, f"!! last output: {line}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=delay)


async def wait_ready(service: Service, colour: str, stopping: asyncio.Event) -> None:
    import socket
    import urllib.request

    if service.ready_tcp is not None:
        deadline = time.monotonic() + 120
        while not stopping.is_set() and time.monotonic() < deadline:
            with socket.socket() as sock:
                sock.settimeout(1)
                if sock.connect_ex(service.ready_tcp) == 0:
                    log(
                        service.name,
                        colour,
                        f"ready: {service.ready_tcp[0]}:{service.ready_tcp[1]}",
                    )
                    return
            await asyncio.sleep(0.5)
        return
    if service.ready_url is None:
        return
    deadline = time.monotonic() + 300
    while not stopping.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(service.ready_url, timeout=2):
                log(service.name, colour, f"ready: {service.ready_url.rsplit('/', 1)[0]}")
                return
        except OSError:
            await asyncio.sleep(1)


async def shutdown(all_services: list[Service]) -> None:
    running = [s for s in all_services if s.process and s.process.returncode is None]
    for s in running:
        assert s.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(s.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for s in running:
        assert s.process is not None
        try:
            await asyncio.wait_for(s.process.wait(), timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            os.killpg(s.process.pid, signal.SIGKILL)
            await s.process.wait()


class SetupFailed(Exception):
    """A step of ``prepare`` failed: the stores already started are stopped, nothing else starts."""

    def __init__(self, step: str, code: int) -> None:
        super().__init__(f"python -m tickets {step} exited with {code}")
        self.code = code


def prepare(env: dict[str, str]) -> None:
    """Create or upgrade the database and load the units before the services start."""
    for argv in (
        ["migrate"],
        ["load-units", env.get("MINWEI_UNITS_FILE", str(ROOT / "data" / "units.yml"))],
        # A fresh embedded database: demo data and a first admin, said once in this log.
        ["first-run"],
    ):
        result = subprocess.run(
            [APP_PY, "-m", "tickets", *argv], cwd=ROOT, env=env, capture_output=True, text=True
        )
        for line in (result.stdout + result.stderr).splitlines():
            log("setup", "37", line)
        if result.returncode != 0:
            raise SetupFailed(argv[0], result.returncode)


async def main() -> int:
    env = read_env()
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    profile = env.get("PROFILE", "") or ("cluster" if "--cluster" in sys.argv else "")
    stores: list[Service] = []
    if profile == "cluster":  # scripts/cluster.py: PostgreSQL, Redis, 2 of each, HAProxy
        sys.path.insert(0, str(ROOT / "scripts"))
        import cluster

        layout = cluster.Cluster.from_env(env)
        env = cluster.cluster_env(layout, env)
        stores, stack = cluster.services(layout, env, Service, rasa=RASA, app_py=APP_PY)
        env["CONSOLE_PORT"] = str(layout.console_port)  # the announcement: the load balancer's
    else:
        stack = services(env)
    if "TELEGRAM_BOT_TOKEN" not in env or not env["TELEGRAM_BOT_TOKEN"]:
        log(
            "run",
            "37",
            "TELEGRAM_BOT_TOKEN is not set: the bot is not started (make chat talks to the stack in a terminal)",
        )
    return await run(stores, stack, env)


async def run(stores: list[Service], stack: list[Service], env: dict[str, str]) -> int:
    """Start the stores, prepare the database, start the rest; stop everything on a signal (or the
    stores again when preparing fails, so that no database is left running without its supervisor)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    colours = {s.name: COLOURS[i % len(COLOURS)] for i, s in enumerate(stores + stack)}
    watchers = [asyncio.create_task(watch(s, colours[s.name], env, stopping)) for s in stores]
    await asyncio.gather(*(wait_ready(s, colours[s.name], stopping) for s in stores))
    if not stopping.is_set():
        try:
            await asyncio.to_thread(prepare, env)
        except SetupFailed as e:
            log("run", "31", f"setup failed ({e}): stopping")
            stopping.set()
            await shutdown(stores)
            for task in watchers:
                task.cancel()
            return e.code
    watchers += [asyncio.create_task(watch(s, colours[s.name], env, stopping)) for s in stack]
    readiness = [asyncio.create_task(wait_ready(s, colours[s.name], stopping)) for s in stack]
    console_port = env.get("CONSOLE_PORT", "8000")

    async def announce() -> None:
        await asyncio.gather(*readiness)
        if not stopping.is_set():
            log("run", "37", f"民微已启动：控制台 http://127.0.0.1:{console_port}/ ，Ctrl-C 退出")

    announcer = asyncio.create_task(announce())
    await stopping.wait()
    log("run", "37", "stopping…")
    announcer.cancel()
    await shutdown(stack)
    await shutdown(stores)  # the databases last
    for task in watchers:
        task.cancel()
    log("run", "37", "all services stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
