"""``tests.support.cluster.blast``, the cluster benchmark's Telegram side: every update is posted until a
worker answers 200, over a few keep-alive connections."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from tests.support import cluster


class Webhook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as HAProxy and uvicorn speak it
    accepted: ClassVar[Counter[int]] = Counter()
    refused: ClassVar[Counter[int]] = Counter()
    connections = 0
    lock = threading.Lock()

    def setup(self) -> None:
        super().setup()
        with self.lock:
            type(self).connections += 1

    def do_POST(self) -> None:
        update = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        uid = int(update["update_id"])
        with self.lock:
            refuse = uid % 3 == 0 and not self.refused[uid]  # a third refused once: redelivered
            (self.refused if refuse else self.accepted)[uid] += 1
        body = b"busy" if refuse else b""
        self.send_response(503 if refuse else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_every_update_is_delivered_once_accepted_and_refusals_are_retried() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        updates = [{"update_id": n, "message": {"text": f"第{n}条"}} for n in range(60)]
        cluster.blast(f"http://127.0.0.1:{server.server_port}/telegram", updates, connections=4)
    finally:
        server.shutdown()
        server.server_close()
    assert Webhook.accepted == Counter(range(60))
    assert set(Webhook.refused) == set(range(0, 60, 3))
    # keep-alive: a connection is only reopened after a refusal (which closes it)
    assert Webhook.connections <= 4 + len(Webhook.refused)
