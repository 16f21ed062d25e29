"""The real Rasa server and action server for the bot and console tests, started once per session.

Rasa runs the shipped model (models/rasa) with its tracker store in a SQLite file of its own; the action
server files tickets in the test's database. Each test that uses them gets them with every conversation
forgotten (the tracker store emptied) and the database emptied (tests/conftest.py), so a test starts
from nothing whatever ids it uses. The action server follows the test's backend: it is started again on
the same port when a test on the other backend comes (tests/conftest.py runs the PostgreSQL ones right
after the SQLite ones).

``TcpProxy`` is a loopback port in front of Rasa that a test closes to make Rasa unreachable for real
(connections refused and cut), and opens again.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support import processes
from tests.support.fake_telegram import free_port
from tickets.settings import DATA_DIR


def environment(
    database_url: str, staff_chat_id: int, port: int, token: str = "123456:TEST-TOKEN"
) -> dict[str, str]:
    """The environment of an action server (port ``port``) and a Rasa server for tests: this
    process's, without its bot, Telegram, Rasa, database and staff settings or pytest's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "RASA_", "DATABASE_", "STAFF_", "PYTEST"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "MINWEI_DATA_DIR": str(DATA_DIR),
            "STAFF_CHAT_ID": str(staff_chat_id),
            "ACTION_SERVER_PORT": str(port),
            "TELEGRAM_BOT_TOKEN": token,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class RasaStack:
    """Rasa and the action server, shared by the tests of a session."""

    workdir: Path
    staff_chat_id: int
    action_port: int = field(default_factory=free_port)
    rasa: processes.Process = field(init=False)
    actions: processes.Process | None = field(default=None, init=False)
    database_url: str = field(default="", init=False)

    @property
    def url(self) -> str:
        assert self.rasa.ready_url is not None
        return self.rasa.ready_url.rsplit("/", 1)[0]

    @property
    def trackers(self) -> Path:
        return self.workdir / "trackers.sqlite3"

    def serve(self, database_url: str) -> None:
        """Both servers, the action server on ``database_url``: started the first time, the action
        server started again when it served another database."""
        if self.actions is None:
            env = environment(database_url, self.staff_chat_id, self.action_port)
            self.rasa = processes.rasa_server(env, self.workdir, self.action_port)
        elif self.database_url == database_url:
            return
        if self.actions is not None:
            self.actions.stop()
        env = environment(database_url, self.staff_chat_id, self.action_port)
        # The actions classify a whole report's story with Rasa's /model/parse.
        env["RASA_URL"] = self.url
        self.actions = processes.action_server(env, self.workdir, self.action_port)
        self.actions.start()
        self.database_url = database_url
        if self.rasa.process is None:
            self.rasa.start(timeout=400)

    def forget_conversations(self) -> None:
        """Empty Rasa's tracker store: every sender starts a new conversation (Rasa reads its SQL
        tracker store on every turn; nothing is cached in the server)."""
        if not self.trackers.exists():
            return
        with sqlite3.connect(self.trackers) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if "events" in tables:
                conn.execute("DELETE FROM events")

    def stop(self) -> None:
        if self.actions is not None:
            self.actions.stop()
            self.rasa.stop()

    def errors(self) -> list[str]:
        return [
            f"{p.name}: {line}"
            for p in ((self.rasa, self.actions) if self.actions is not None else ())
            for line in p.errors()
        ]

    def tracker(self, sender: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/conversations/{sender}/tracker", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def turns(self, sender: str) -> list[dict[str, Any]]:
        """What ``sender`` said to the dialogue, from Rasa's tracker: each user message (a turn
        reverted to be retried included) with its ``text`` and ``metadata``."""
        return [e for e in self.tracker(sender)["events"] if e["event"] == "user"]

    def said(self, sender: str) -> list[str]:
        return [e["text"] for e in self.turns(sender)]


class TcpProxy:
    """A loopback port forwarding to ``target``; ``close`` refuses new connections and cuts open
    ones (a server that went away), ``open`` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept (Linux)
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:  # the pumps see the end and close them
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            pumps = [
                threading.Thread(target=self._pump, args=(a, b), daemon=True)
                for a, b in ((client, upstream), (upstream, client))
            ]
            for pump in pumps:
                pump.start()
            threading.Thread(target=self._end, args=(pumps, client, upstream), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):  # one side ended: end the other
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _end(self, pumps: list[threading.Thread], *conns: socket.socket) -> None:
        for pump in pumps:
            pump.join()
        with self._lock:
            self._conns = [c for c in self._conns if c not in conns]
        for conn in conns:
            conn.close()
