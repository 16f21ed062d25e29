"""Web security for the console: signed session cookies, CSRF tokens, request size limits, headers and
the sign-in throttle (signed public links are the core's, ``tickets.links``).

- Sessions live in a signed cookie (itsdangerous, HMAC-SHA1 over JSON): HttpOnly, SameSite=Lax, Secure
  whenever the request came over HTTPS (directly or via ``X-Forwarded-Proto`` from a trusted proxy),
  an idle timeout of 8 hours and an absolute lifetime of 12 hours. The cookie holds the person's id, a
  fingerprint of their password hash (changing the password ends every session) and the CSRF token.
- CSRF: every unsafe request to the console must carry the session's token in the ``csrf_token`` form
  field (or the ``X-CSRF-Token`` header), and its ``Origin``, when sent, must be this site.
- Bodies over ``MAX_BODY_BYTES`` are refused with 413 before they are read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

import itsdangerous
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "minwei_session"
IDLE_SECONDS = 8 * 3600
LIFETIME_SECONDS = 12 * 3600
MAX_BODY_BYTES = 256 * 1024
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Content-Security-Policy: everything from this origin only; no inline scripts or styles.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def csp(image_origins: list[str] | None = None) -> str:
    """``CSP`` with more origins images may come from (the configured map tile server)."""
    if not image_origins:
        return CSP
    return CSP.replace("img-src 'self' data:", "img-src 'self' data: " + " ".join(image_origins))


class Session(dict[str, Any]):
    """The decoded session; ``modified`` tells the middleware to write the cookie back."""

    modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.modified = True
        return super().pop(key, *default)

    def clear(self) -> None:
        self.modified = True
        super().clear()


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


class SessionMiddleware:
    """Signed-cookie sessions with per-request Secure flag and sliding idle expiry."""

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        self.app = app
        self.serializer = itsdangerous.URLSafeTimedSerializer(secret_key, salt="minwei-session")

    def load(self, raw: str | None) -> Session:
        if not raw:
            return Session()
        try:
            data = self.serializer.loads(raw, max_age=IDLE_SECONDS)
        except itsdangerous.BadData:
            return Session()
        if not isinstance(data, dict) or time.time() - float(data.get("t", 0)) > LIFETIME_SECONDS:
            return Session()
        return Session(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        raw = connection.cookies.get(COOKIE)
        session = self.load(raw)
        scope["session"] = session
        secure = "; Secure" if is_https(scope) else ""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session:
                    if "t" not in session:
                        session["t"] = time.time()
                    value = self.serializer.dumps(dict(session))
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}={value}; Path=/; Max-Age={IDLE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
                    )
                elif raw is not None:
                    headers.append(
                        "Set-Cookie",
                        f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
                    )
            await send(message)

        await self.app(scope, receive, send_wrapper)


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: Mapping[str, Any], submitted: str | None) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


def same_origin(connection: HTTPConnection) -> bool:
    """False when the request says it comes from another site (``Origin`` or ``Referer``)."""
    origin = connection.headers.get("origin") or ""
    if not origin or origin == "null":
        referer = connection.headers.get("referer")
        if not referer:
            return origin != "null"
        origin = referer
    own = f"{connection.url.scheme}://{connection.url.netloc}"
    return origin == own or origin.startswith(own + "/")


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash stored in the session: a new password ends old sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with 413 and a clear message (before reading them).

    ``uploads`` gives paths (regular expressions) that take files, with their own larger limit (the
    project update form's photos)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = MAX_BODY_BYTES,
        uploads: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.app = app
        self.default_limit = limit
        self.uploads = tuple((re.compile(p), n) for p, n in uploads)

    def _limit_for(self, path: str) -> int:
        return next((n for p, n in self.uploads if p.fullmatch(path)), self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        mb = limit // 1024
        text = f"提交的内容过大（上限 {mb} KB），请删减后再提交。"
        path = scope.get("path", "")
        if path.startswith("/open311/"):
            body = json.dumps(
                [{"code": 413, "description": f"request body too large (limit {mb} KB)"}]
            ).encode()
            content_type = b"application/json"
        else:
            body = text.encode()
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", content_type), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass


class SecurityHeadersMiddleware:
    """CSP, no sniffing, no framing, no referrer leaks; pages are never cached by shared caches."""

    def __init__(self, app: ASGIApp, policy: str = CSP) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not scope.get("path", "").startswith("/static/"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_wrapper)


class SignInThrottle:
    """Failed sign-ins per client address: after ``limit`` within ``window`` seconds the client must
    wait, whatever username it tries (the per-account lock-out alone lets one client try every
    account). Kept in this process: behind several consoles each keeps its own count."""

    def __init__(self, limit: int = 10, window: float = 600.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, list[float]] = {}

    def wait_seconds(self, client: str, now: float) -> float:
        """How long ``client`` must wait before trying again (0: it may try now)."""
        recent = [t for t in self._failures.get(client, ()) if now - t < self.window]
        if recent:
            self._failures[client] = recent
        else:
            self._failures.pop(client, None)
        if len(recent) < self.limit:
            return 0.0
        return self.window - (now - recent[0])

    def failed(self, client: str, now: float) -> None:
        self._failures.setdefault(client, []).append(now)
        if len(self._failures) > 10_000:  # bounded: forget the quietest clients
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[:1_000]:
                del self._failures[key]

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
