"""A private PostgreSQL server for the test session, started from the installed binaries.

Order of preference:
1. ``MINWEI_TEST_DATABASE_URL`` (a PostgreSQL URL) — use that server.
2. PostgreSQL binaries (``pg_ctl`` on PATH or under /usr/lib/postgresql/*/bin) — initdb a throw-away
   cluster under /tmp, start it on a free loopback port, stop it at the end. As root the server runs as
   the ``postgres`` user (PostgreSQL refuses to run as root).
3. Nothing — the PostgreSQL cases are skipped with the reason shown in the test summary.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PostgresServer:
    url: str
    stop: Callable[[], None]


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        real = Path(os.path.realpath(found)).parent
        if (real / "initdb").exists():
            return real
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start() -> PostgresServer:
    url = os.environ.get("MINWEI_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return PostgresServer(url, lambda: None)
    bindir = _bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (apt-get install postgresql, or set MINWEI_TEST_DATABASE_URL); "
            "store tests ran on SQLite only"
        )
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="minwei-pg-"))
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as e:
            raise PostgresUnavailable(
                "running as root and there is no 'postgres' user to run the server"
            ) from e
        os.chown(base, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    log = base / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed: {result.stderr.strip() or result.stdout.strip()}"
            )

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(log),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )

    def stop() -> None:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)

    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                stop()
                raise PostgresUnavailable(f"PostgreSQL did not start; see {log}") from None
            time.sleep(0.1)
    return PostgresServer(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop)
