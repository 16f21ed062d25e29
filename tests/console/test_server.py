"""The console's server: a cap on request header size, and an access log that never writes a key."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from console.server import MAX_HEADER_BYTES, LimitedHeadersProtocol, RedactSecrets, redact
from tests.support.fake_telegram import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    """A tiny app served exactly as the console is (uvicorn, httptools, our protocol)."""
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"ok": "yes"}

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=LimitedHeadersProtocol
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield port
    instance.should_exit = True
    thread.join(10)


def raw_request(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"content-length" in b"".join(chunks).lower():
                break
        return b"".join(chunks)


def test_a_request_with_huge_headers_is_refused_with_431(server: int) -> None:
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES * 4)
    answer = raw_request(server, huge + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_ordinary_requests_still_pass(server: int) -> None:
    answer = raw_request(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Ok: yes\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (
            "/open311/v2/requests.json?api_key=mw_secret&page=2",
            "/open311/v2/requests.json?api_key=***&page=2",
        ),
        ("/p/MW-20261123-0001?k=abcdef", "/p/MW-20261123-0001?k=***"),
        ("/tickets?q=api_key", "/tickets?q=api_key"),
    ],
)
def test_secrets_in_the_query_string_are_not_logged(path: str, logged: str) -> None:
    assert redact(path) == logged
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", path, "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert record.getMessage() == f'1.2.3.4:5 - "GET {logged} HTTP/1.1" 200'
