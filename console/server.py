"""Serving the console: uvicorn with a cap on request header size and an access log without secrets.

- uvicorn's httptools protocol buffers a request's headers without limit (a 20 MB header was accepted);
  :class:`LimitedHeadersProtocol` answers ``431 Request Header Fields Too Large`` and closes the
  connection once the request line and headers pass :data:`MAX_HEADER_BYTES`.
- Open311 clients may pass ``api_key`` in the query string (the GeoReport spec does); the access log
  writes the request line, so :class:`RedactSecrets` replaces such values with ``***``. Clients can also
  send the key in the ``X-Api-Key`` header, which is never logged.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: The request line and all headers together (browsers send a few KB; 64 KB leaves room for cookies).
MAX_HEADER_BYTES = 64 * 1024
_SECRET_PARAMS = re.compile(r"((?:^|[?&])(?:api_key|k|token|password)=)[^&\s]*", re.IGNORECASE)


class LimitedHeadersProtocol(HttpToolsProtocol):
    """httptools' protocol, refusing requests whose head is larger than ``MAX_HEADER_BYTES``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            end = data.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else end + 4
            if self._head_bytes > MAX_HEADER_BYTES:
                self._refuse()
                return
        super().data_received(data)

    def _refuse(self) -> None:
        body = "请求头过大".encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.transport.close()


def redact(path: str) -> str:
    """``path`` with the values of secret query parameters replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", path)


class RedactSecrets(logging.Filter):
    """Removes secrets from uvicorn's access log lines (the request path is its third argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def serve(app: Any, *, host: str, port: int, log_level: str = "info") -> None:
    """Run ``app`` with the header cap and the redacting access log."""
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    uvicorn.run(app, host=host, port=port, log_level=log_level, http=LimitedHeadersProtocol)
