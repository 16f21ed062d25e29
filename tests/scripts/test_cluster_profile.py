"""The scale-out profile's configuration: rendered for one machine and for several, and accepted by
the tools that will run it (HAProxy, systemd, Rasa's endpoint loader)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import cluster  # noqa: E402

SEVERAL = {
    "DATABASE_URL": "postgresql+psycopg://minwei:secret@db.internal:5432/minwei",
    "REDIS_URL": "redis://cache.internal:6379/2",
    "CLUSTER_BOTS": "10.0.0.11:8543,10.0.0.12:8543",
    "CLUSTER_RASA": "10.0.0.21:5005,10.0.0.22:5005,10.0.0.23:5005",
    "CLUSTER_ACTIONS": "10.0.0.21:5055,10.0.0.22:5055",
    "CLUSTER_CONSOLES": "10.0.0.31:8000,10.0.0.32:8000",
    "CLUSTER_LISTEN_HOST": "0.0.0.0",
    "CLUSTER_LB_HOST": "lb.internal",
}


def test_one_machine_by_default_everything_on_loopback(tmp_path: Path) -> None:
    files = cluster.render(cluster.Cluster.from_env({}), tmp_path)
    haproxy = files["haproxy.cfg"].read_text(encoding="utf-8")
    assert "server bot1 127.0.0.1:8543" in haproxy and "server bot2 127.0.0.1:8544" in haproxy
    assert "server rasa2 127.0.0.1:5106" in haproxy
    endpoints = files["endpoints.yml"].read_text(encoding="utf-8")
    assert 'dialect: "postgresql"' in endpoints and "type: redis" in endpoints
    assert "BOT_WORKER_ID=bot2" in files["bot-2.env"].read_text(encoding="utf-8")


def test_several_machines_are_configuration(tmp_path: Path) -> None:
    layout = cluster.Cluster.from_env(SEVERAL)
    files = cluster.render(layout, tmp_path)
    haproxy = files["haproxy.cfg"].read_text(encoding="utf-8")
    assert "server rasa3 10.0.0.23:5005" in haproxy
    assert "bind 0.0.0.0:8443" in haproxy
    endpoints = files["endpoints.yml"].read_text(encoding="utf-8")
    assert 'url: "db.internal"' in endpoints and 'password: "secret"' in endpoints
    assert 'url: "cache.internal"' in endpoints and "db: 2" in endpoints
    common = files["minwei.env"].read_text(encoding="utf-8")
    assert "DATABASE_URL=postgresql+psycopg://minwei:secret@db.internal:5432/minwei" in common
    assert "RASA_URL=http://lb.internal:5005" in common
    assert 'url: "http://lb.internal:5055/webhook"' in endpoints


@pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="HAProxy is not installed (apt-get install haproxy)"
)
@pytest.mark.parametrize("env", [{}, SEVERAL], ids=["one machine", "several machines"])
def test_haproxy_accepts_the_configuration(tmp_path: Path, env: dict[str, str]) -> None:
    files = cluster.render(cluster.Cluster.from_env(env), tmp_path)
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(files["haproxy.cfg"])], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    root = tmp_path / "minwei"  # the checkout on a target machine, with its two virtualenvs
    for venv, exe in ((".venv", "python"), (".venv-rasa", "rasa")):
        (root / venv / "bin").mkdir(parents=True)
        os.symlink(sys.executable, root / venv / "bin" / exe)
    files = cluster.render(cluster.Cluster.from_env(SEVERAL), tmp_path / "etc", root=root)
    units = tmp_path / "etc" / "systemd"
    instances = []
    for template, instance in (
        ("minwei-bot@.service", "1"),
        ("minwei-rasa@.service", "5005"),
        ("minwei-actions@.service", "5055"),
        ("minwei-console@.service", "8000"),
    ):
        target = units / template.replace("@.", f"@{instance}.")
        target.write_text(files[template].read_text(encoding="utf-8"), encoding="utf-8")
        instances.append(str(target))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *instances, str(files["minwei.target"])],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "minwei" in line and "network-online.target" not in line
    ]
    assert problems == []


def test_rasa_reads_the_endpoints(tmp_path: Path) -> None:
    rasa_python = ROOT / ".venv-rasa" / "bin" / "python"
    if not rasa_python.exists():
        rasa_python = Path("/work/main/.venv-rasa/bin/python")
    if not rasa_python.exists():
        pytest.skip("no Rasa virtualenv (.venv-rasa)")
    files = cluster.render(cluster.Cluster.from_env(SEVERAL), tmp_path)
    script = (
        "import sys\n"
        "from rasa.core.utils import read_endpoints_from_path\n"
        "e = read_endpoints_from_path(sys.argv[1])\n"
        "print(e.tracker_store.type, e.tracker_store.kwargs['dialect'], e.lock_store.type,"
        " e.lock_store.url, e.action.url)\n"
    )
    result = subprocess.run(
        [str(rasa_python), "-c", script, str(files["endpoints.yml"])],
        capture_output=True,
        text=True,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [
        "SQL",
        "postgresql",
        "redis",
        "cache.internal",
        "http://lb.internal:5055/webhook",
    ]


def test_the_stores_it_starts_follow_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no DATABASE_URL or REDIS_URL the profile starts PostgreSQL and Redis itself, even though
    the environment it hands the pieces names them (make run-cluster once started no Redis, and Rasa's
    lock store refused every message); given both, it starts neither."""
    monkeypatch.setattr(cluster, "init_local_postgres", lambda c: tmp_path / "pg")

    def service(name: str, argv: list[str], **kw: object) -> str:
        return name

    def stores(given: dict[str, str]) -> list[str]:
        layout = cluster.Cluster.from_env({**given, "CLUSTER_STATE_DIR": str(tmp_path / "state")})
        env = cluster.cluster_env(layout, dict(given))
        found, _ = cluster.services(layout, env, service, rasa="rasa", app_py="python")
        return list(found)

    assert stores({}) == ["postgres", "redis"]
    assert stores(SEVERAL) == []


@pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="HAProxy is not installed (apt-get install haproxy)"
)
def test_an_action_server_that_dies_mid_request_is_retried_on_the_other(tmp_path: Path) -> None:
    """The first action server reads the whole request and closes the connection without an answer
    (what a SIGKILL mid-action looks like to HAProxy); the request is answered by the second."""
    import http.server
    import json
    import socket
    import threading
    import time
    import urllib.request

    from tests.support.fake_telegram import free_port

    dying = socket.socket()
    dying.bind(("127.0.0.1", 0))
    dying.listen()
    seen: list[bytes] = []

    def die_on_every_request() -> None:
        while True:
            try:
                conn, _ = dying.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data or (
                data.startswith(b"POST") and not data.rstrip().endswith(b"}")
            ):  # the whole request, body included, before dying
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"POST"):
                seen.append(data)
            if data.startswith(b"GET"):  # health checks pass: the server looks alive
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            conn.close()

    class Alive(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = json.dumps({"events": [], "echo": json.loads(body)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return None

    alive = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Alive)
    threading.Thread(target=die_on_every_request, daemon=True).start()
    threading.Thread(target=alive.serve_forever, daemon=True).start()
    ports = {k: str(free_port()) for k in ("WEBHOOK", "RASA", "ACTIONS", "CONSOLE")}
    env = {
        "CLUSTER_ACTIONS": f"127.0.0.1:{dying.getsockname()[1]},127.0.0.1:{alive.server_port}",
        **{f"CLUSTER_{k}_PORT": v for k, v in ports.items()},
    }
    files = cluster.render(cluster.Cluster.from_env(env), tmp_path)
    lb = subprocess.Popen(
        ["haproxy", "-db", "-f", str(files["haproxy.cfg"])],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{ports['ACTIONS']}/webhook"
        deadline = time.monotonic() + 10
        while True:  # until HAProxy listens
            try:
                socket.create_connection(("127.0.0.1", int(ports["ACTIONS"])), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "HAProxy did not start"
                time.sleep(0.1)
        answers = []
        for n in range(4):  # round robin: at least two of them go to the dying server first
            request = urllib.request.Request(
                url,
                # Rasa sends the conversation's tracker with every action call: tens of kB
                data=json.dumps(
                    {"next_action": "action_submit_report", "n": n, "tracker": "事" * 30_000}
                ).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append(json.loads(response.read()))
        assert [a["echo"]["n"] for a in answers] == [0, 1, 2, 3]
        assert seen, "no request reached the dying server: the retry was not exercised"
    finally:
        lb.terminate()
        lb.wait(timeout=10)
        alive.shutdown()
        alive.server_close()
        dying.close()
