"""The scale-out profile: ``make run-cluster`` (or ``make run PROFILE=cluster``).

On one machine it starts PostgreSQL (a cluster under ``var/cluster/pg`` unless ``DATABASE_URL`` names
a PostgreSQL server), Redis (``var/cluster/redis`` unless ``REDIS_URL`` is set), two Rasa servers
(tracker store on PostgreSQL, lock store on Redis), two action servers, two bot workers in webhook mode
and two consoles, with HAProxy in front of the webhooks, the Rasa servers, the action servers and the
consoles. Every piece's address is configuration (``CLUSTER_BOTS``, ``CLUSTER_RASA``,
``CLUSTER_ACTIONS``, ``CLUSTER_CONSOLES``: comma-separated ``host:port``; ``CLUSTER_LB_HOST``: how
the others reach the load balancer; ``DATABASE_URL``, ``REDIS_URL``; the PostgreSQL and Redis it
starts itself listen on ``CLUSTER_LOCAL_PG_PORT`` (5433) and ``CLUSTER_LOCAL_REDIS_PORT`` (6380),
and keep their files under ``CLUSTER_STATE_DIR`` (``var/cluster``)); a piece whose host is not
this machine is only written into HAProxy's configuration, and started on its own machine from the
systemd units in ``deploy/systemd`` (``python scripts/cluster.py render --out DIR`` writes them).

Standard library only, like ``scripts/supervise.py``, whose supervisor runs the pieces.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
LOCAL = ("127.0.0.1", "localhost", "::1")


def _hosts(value: str) -> list[tuple[str, int]]:
    found = []
    for part in value.split(","):
        host, _, port = part.strip().rpartition(":")
        found.append((host or "127.0.0.1", int(port)))
    return found


@dataclass(frozen=True)
class Cluster:
    """Where each piece runs; read from the environment (defaults: everything on this machine)."""

    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6380/0"
    bots: list[tuple[str, int]] = field(
        default_factory=lambda: [("127.0.0.1", 8543), ("127.0.0.1", 8544)]
    )
    rasa: list[tuple[str, int]] = field(
        default_factory=lambda: [("127.0.0.1", 5105), ("127.0.0.1", 5106)]
    )
    actions: list[tuple[str, int]] = field(
        default_factory=lambda: [("127.0.0.1", 5155), ("127.0.0.1", 5156)]
    )
    consoles: list[tuple[str, int]] = field(
        default_factory=lambda: [("127.0.0.1", 8100), ("127.0.0.1", 8101)]
    )
    #: The load balancer's own ports (what Telegram, the bots and browsers talk to).
    listen_host: str = "127.0.0.1"
    #: How the other machines reach the load balancer (default: the listen address, or loopback).
    lb_host: str = ""
    webhook_port: int = 8443
    rasa_port: int = 5005
    actions_port: int = 5055
    console_port: int = 8000
    #: A local PostgreSQL cluster when ``DATABASE_URL`` is not a PostgreSQL URL.
    local_pg_port: int = 5433
    #: Start Redis here (``REDIS_URL`` not given: the default on loopback).
    local_redis: bool = True
    state: Path = ROOT / "var" / "cluster"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Cluster:
        d = cls()
        url = env.get("DATABASE_URL", "")
        local_redis = (
            f"redis://127.0.0.1:{env['CLUSTER_LOCAL_REDIS_PORT']}/0"
            if env.get("CLUSTER_LOCAL_REDIS_PORT")
            else d.redis_url
        )
        return cls(
            database_url=url if url.startswith("postgresql") else "",
            redis_url=env.get("REDIS_URL", local_redis),
            local_redis="REDIS_URL" not in env,
            bots=_hosts(env["CLUSTER_BOTS"]) if env.get("CLUSTER_BOTS") else d.bots,
            rasa=_hosts(env["CLUSTER_RASA"]) if env.get("CLUSTER_RASA") else d.rasa,
            actions=_hosts(env["CLUSTER_ACTIONS"]) if env.get("CLUSTER_ACTIONS") else d.actions,
            consoles=_hosts(env["CLUSTER_CONSOLES"]) if env.get("CLUSTER_CONSOLES") else d.consoles,
            listen_host=env.get("CLUSTER_LISTEN_HOST", d.listen_host),
            lb_host=env.get("CLUSTER_LB_HOST", d.lb_host),
            webhook_port=int(env.get("CLUSTER_WEBHOOK_PORT", d.webhook_port)),
            rasa_port=int(env.get("CLUSTER_RASA_PORT", d.rasa_port)),
            actions_port=int(env.get("CLUSTER_ACTIONS_PORT", d.actions_port)),
            console_port=int(env.get("CLUSTER_CONSOLE_PORT", d.console_port)),
            local_pg_port=int(env.get("CLUSTER_LOCAL_PG_PORT", d.local_pg_port)),
            state=Path(env.get("CLUSTER_STATE_DIR", str(d.state))),
        )

    @property
    def db_url(self) -> str:
        return (
            self.database_url
            or f"postgresql+psycopg://minwei@127.0.0.1:{self.local_pg_port}/minwei"
        )

    def lb(self, port: int) -> str:
        host = self.lb_host or (
            "127.0.0.1" if self.listen_host in ("0.0.0.0", "::") else self.listen_host
        )
        return f"http://{host}:{port}"


def _servers(prefix: str, hosts: list[tuple[str, int]], cookie: bool = False) -> str:
    return "\n".join(
        f"    server {prefix}{n} {h}:{p} check inter 1s fall 2 rise 2"
        + (f" cookie {prefix}{n}" if cookie else "")
        for n, (h, p) in enumerate(hosts, 1)
    )


def render(
    cluster: Cluster, out: Path, *, user: str | None = None, root: Path = ROOT
) -> dict[str, Path]:
    """Write haproxy.cfg, endpoints.yml, per-worker environment files and the systemd units (for a
    checkout at ``root`` on the machines that run them)."""
    out.mkdir(parents=True, exist_ok=True)
    db = urlsplit(cluster.db_url.replace("postgresql+psycopg", "postgresql"))
    redis = urlsplit(cluster.redis_url)
    values = {
        "listen_host": cluster.listen_host,
        "webhook_port": cluster.webhook_port,
        "rasa_port": cluster.rasa_port,
        "actions_port": cluster.actions_port,
        "console_port": cluster.console_port,
        "bot_servers": _servers("bot", cluster.bots),
        "rasa_servers": _servers("rasa", cluster.rasa),
        "action_servers": _servers("actions", cluster.actions),
        "console_servers": _servers("console", cluster.consoles, cookie=True),
        "actions_url": cluster.lb(cluster.actions_port),
        "pg_host": db.hostname or "127.0.0.1",
        "pg_port": db.port or 5432,
        "pg_db": (db.path or "/minwei").lstrip("/"),
        "pg_user": db.username or "minwei",
        "pg_password": db.password or "",
        "redis_host": redis.hostname or "127.0.0.1",
        "redis_port": redis.port or 6379,
        "redis_db": (redis.path or "/0").lstrip("/") or "0",
        "root": str(root),
        "etc": str(out),
        "user": user or pwd.getpwuid(os.getuid()).pw_name,
    }
    written = {}
    for name in ("haproxy.cfg", "endpoints.yml"):
        text = Template((DEPLOY / f"{name}.in").read_text(encoding="utf-8")).substitute(values)
        (out / name).write_text(text, encoding="utf-8")
        written[name] = out / name
    for n, (host, port) in enumerate(cluster.bots, 1):
        env = out / f"bot-{n}.env"
        env.write_text(
            f"BOT_WORKER_ID=bot{n}\nBOT_MODE=webhook\nBOT_WEBHOOK_LISTEN={host}\n"
            f"BOT_WEBHOOK_PORT={port}\nBOT_SEND_JOURNAL={cluster.state}/journals/bot{n}.journal\n",
            encoding="utf-8",
        )
        written[env.name] = env
    units = out / "systemd"
    units.mkdir(exist_ok=True)
    for template in sorted((DEPLOY / "systemd").iterdir()):
        name = template.name.removesuffix(".in")
        text = template.read_text(encoding="utf-8")
        if template.suffix == ".in":
            text = Template(text).substitute(values)
        (units / name).write_text(text, encoding="utf-8")
        written[name] = units / name
    common = out / "minwei.env"
    common.write_text(
        f"DATABASE_URL={cluster.db_url}\nRASA_URL={cluster.lb(cluster.rasa_port)}\n"
        f"REDIS_URL={cluster.redis_url}\n",
        encoding="utf-8",
    )
    written[common.name] = common
    return written


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise SystemExit(f"{name} not found: apt-get install postgresql, or set DATABASE_URL")


#: Written into the data directory once the ``minwei`` database exists.
_DB_CREATED = "minwei-database-created"


def init_local_postgres(cluster: Cluster) -> Path:
    """A PostgreSQL cluster under ``state/pg`` with a ``minwei`` role and database (first run only;
    the server is not running yet, so the database is created in single-user mode)."""
    data = cluster.state / "pg"
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (cluster.state, data):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            _as_postgres(
                [_pg_bin("initdb"), "-D", str(data), "-U", "minwei", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
    if not (data / _DB_CREATED).exists():
        # initdb makes the role, not a database of its name: the first connection would fail with
        # 'database "minwei" does not exist'.
        done = subprocess.run(
            _as_postgres([_pg_bin("postgres"), "--single", "-D", str(data), "template1"]),
            input=b"CREATE DATABASE minwei OWNER minwei;\n",
            capture_output=True,
            check=False,
        )
        output = done.stdout + done.stderr
        if done.returncode != 0 or (b"ERROR" in output and b"already exists" not in output):
            raise SystemExit(
                f"could not create the minwei database: {output.decode(errors='replace')}"
            )
        (data / _DB_CREATED).touch()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(data / _DB_CREATED, owner.pw_uid, owner.pw_gid)
    return data


def services(
    cluster: Cluster, env: dict[str, str], service: Any, *, rasa: str, app_py: str
) -> tuple[list[Any], list[Any]]:
    """(the stores, started and waited for first; everything else) as ``service`` (supervise's
    ``Service``) objects."""
    stores: list[Any] = []
    cluster.state.mkdir(parents=True, exist_ok=True)
    if not cluster.database_url:
        data = init_local_postgres(cluster)
        stores.append(
            service(
                "postgres",
                _as_postgres(
                    [
                        _pg_bin("postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(cluster.local_pg_port),
                        "-h",
                        "127.0.0.1",
                        "-k",
                        str(data),
                    ]
                ),
                ready_tcp=("127.0.0.1", cluster.local_pg_port),
            )
        )
    redis = urlsplit(cluster.redis_url)
    # Not ``"REDIS_URL" in env``: ``cluster_env`` has put the default there for the pieces already.
    if cluster.local_redis and (redis.hostname or "127.0.0.1") in LOCAL:
        (cluster.state / "redis").mkdir(exist_ok=True)
        stores.append(
            service(
                "redis",
                [
                    shutil.which("redis-server") or "redis-server",
                    "--port",
                    str(redis.port or 6379),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(cluster.state / "redis"),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                ready_tcp=("127.0.0.1", redis.port or 6379),
            )
        )
    config = cluster.state / "etc"
    render(cluster, config)
    rest: list[Any] = []
    for n, (host, port) in enumerate(cluster.rasa, 1):
        if host not in LOCAL:
            continue
        rest.append(
            service(
                f"rasa{n}",
                [
                    rasa,
                    "run",
                    "--enable-api",
                    "-i",
                    host,
                    "-p",
                    str(port),
                    "-m",
                    str(ROOT / "models" / "rasa" / "minwei.tar.gz"),
                    "--endpoints",
                    str(config / "endpoints.yml"),
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                ],
                ready_url=f"http://{host}:{port}/status",
            )
        )
    for n, (host, port) in enumerate(cluster.actions, 1):
        if host in LOCAL:
            rest.append(
                service(
                    f"actions{n}",
                    [app_py, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                    env={"SANIC_HOST": host},
                    ready_url=f"http://{host}:{port}/health",
                )
            )
    for n, (host, port) in enumerate(cluster.consoles, 1):
        if host in LOCAL:
            rest.append(
                service(
                    f"console{n}",
                    [app_py, "-m", "console"],
                    env={"CONSOLE_PORT": str(port), "CONSOLE_HOST": host},
                    ready_url=f"http://{host}:{port}/healthz",
                )
            )
    if env.get("TELEGRAM_BOT_TOKEN"):
        for n, (host, port) in enumerate(cluster.bots, 1):
            if host in LOCAL:
                rest.append(
                    service(
                        f"bot{n}",
                        [app_py, "-m", "bot"],
                        env={
                            "BOT_WORKER_ID": f"bot{n}",
                            "BOT_MODE": "webhook",
                            "BOT_WEBHOOK_LISTEN": host,
                            "BOT_WEBHOOK_PORT": str(port),
                            "BOT_SEND_JOURNAL": str(cluster.state / "journals" / f"bot{n}.journal"),
                        },
                    )
                )
    rest.append(
        service(
            "haproxy",
            [shutil.which("haproxy") or "haproxy", "-db", "-f", str(config / "haproxy.cfg")],
        )
    )
    return stores, rest


def cluster_env(cluster: Cluster, env: dict[str, str]) -> dict[str, str]:
    """The environment every piece shares: the database, Rasa behind the load balancer, Redis."""
    return {
        **env,
        "DATABASE_URL": cluster.db_url,
        "RASA_URL": cluster.lb(cluster.rasa_port),
        "REDIS_URL": cluster.redis_url,
    }


def wait_tcp(host: str, port: int, timeout: float = 60.0) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.3)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write haproxy.cfg, endpoints.yml, env files, systemd units")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--user", default=None)
    r.add_argument("--root", type=Path, default=ROOT, help="the checkout on the target machines")
    args = parser.parse_args(argv)
    if args.command == "render":
        cluster = Cluster.from_env(dict(os.environ))
        for name, path in render(cluster, args.out, user=args.user, root=args.root).items():
            print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
