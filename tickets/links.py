"""Signed links to the public progress pages (公开进度), made by the core so every notice to a resident,
every group status line and every printed QR code carries one.

Ticket codes are sequential, so a link carries an HMAC of the code: nobody can walk through every
ticket. The key is ``CONSOLE_SECRET_KEY``, or when that is not set a random key kept in
``MINWEI_SECRET_FILE`` (``var/secret.key``), so that the bot, the console and a restart all sign alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from tickets.settings import Settings


class PublicLinks:
    """Tokens and URLs of the public progress pages."""

    def __init__(self, secret_key: str, base_url: str = "") -> None:
        self._key = hashlib.sha256(("minwei-public:" + secret_key).encode()).digest()
        self.base_url = base_url.rstrip("/")

    def token(self, code: str) -> str:
        digest = hmac.new(self._key, code.upper().encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")

    def check(self, code: str, token: str) -> bool:
        return hmac.compare_digest(self.token(code).encode(), token.encode())

    def url(self, code: str) -> str:
        """The public progress page of a ticket or case, with its token."""
        return f"{self.base_url}/p/{code.upper()}?k={self.token(code)}"


def secret_key(settings: Settings) -> str:
    """``CONSOLE_SECRET_KEY``, or the key kept in the secret file (created on first use, mode 0600)."""
    if settings.console_secret_key:
        return settings.console_secret_key
    return _kept_secret(settings.secret_file)


def _kept_secret(path: Path) -> str:
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_urlsafe(48)
    try:  # O_EXCL: of two processes starting together, one writes and both read its key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip() or fresh
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(fresh + "\n")
    return fresh


def for_settings(settings: Settings) -> PublicLinks:
    return PublicLinks(secret_key(settings), settings.public_base_url)
