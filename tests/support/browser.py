"""Debian's Chromium driven by Playwright for the browser tests (no browser is downloaded).

``chromium_page`` opens a fresh profile with the console's locale and time zone and yields its page;
tests are skipped with ``needs_chromium`` where Chromium is not installed (CI installs it).
``staffed_database``, ``console_server`` and ``sign_in`` are the live console the browser tests share:
a seeded SQLite database, the real console process on it, and the login."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_telegram import free_port
from tests.support.processes import APP_PY, ROOT, Process
from tickets import auth, migrate, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role

CHROMIUM = Path(os.environ.get("MINWEI_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "tests" / "artifacts" / "console"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; CI installs it)",
)


@contextmanager
def chromium_page(
    *, timeout_ms: int, accept_downloads: bool = False, fail_on_js_errors: bool = True
) -> Iterator[Any]:
    """A page of a new headless Chromium (1440×900, zh-CN, Asia/Shanghai), closed afterwards."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="minwei-chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1440, "height": 900},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=accept_downloads,
        )
        context.set_default_timeout(timeout_ms)
        page = context.pages[0] if context.pages else context.new_page()
        if fail_on_js_errors:
            page.on("pageerror", lambda e: pytest.fail(f"JavaScript error: {e}"))
        try:
            yield page
        finally:
            context.close()


#: The browser tests' console accounts: (username, role, unit code, display name).
STAFF = (
    ("chen", Role.COMMUNITY_STAFF, "YX-SG-XF", "陈社工"),
    ("admin", Role.DISTRICT_ADMIN, None, "区管理员"),
)
PASSWORD = "browser-test-password"


def staffed_database(
    workdir: Path, staff: tuple[tuple[str, Role, str | None, str], ...] = STAFF
) -> tuple[Database, Domain]:
    """A migrated SQLite database under ``workdir`` with the demo district's units and ``staff``
    (password ``PASSWORD``); the test seeds its own tickets into it."""
    url = f"sqlite:///{workdir / 'minwei.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=url, data_dir=DATA_DIR))
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        tree = domain.units(uow.session)
        for username, role, unit, name in staff:
            auth.create_user(
                uow.session,
                username=username,
                password=PASSWORD,
                role=role,
                unit=tree.get(unit) if unit else None,
                display_name=name,
            )
        uow.commit()
    return db, domain


def console_env(
    database_url: str, port: int, *, host: str = "127.0.0.1", **extra: str
) -> dict[str, str]:
    """The environment of a console process on ``database_url``: this process's environment without
    any database, console, bot, Rasa or map-tile settings of its own (no map tiles: the offline
    default), plus ``extra`` (e.g. ``RASA_URL``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DATABASE_", "CONSOLE_", "PYTEST", "MINWEI_MAP", "RASA_", "BOT_", "TELEGRAM_")
        )
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "CONSOLE_PORT": str(port),
            "CONSOLE_HOST": host,
            "CONSOLE_SECRET_KEY": "browser-test-secret",
            "MINWEI_DATA_DIR": str(DATA_DIR),
        }
    )
    env.update(extra)
    return env


@contextmanager
def console_server(
    workdir: Path,
    database_url: str,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[tuple[str, Process]]:
    """The real console process (``python -m console``) on ``database_url``, on ``port`` (a free one
    by default) of ``host`` (``CONSOLE_HOST``), with ``env`` (default: ``console_env``; give ``port`` with it); yields (its
    base URL, the process). Afterwards its log must hold no errors."""
    if env is not None and port is None:
        raise ValueError("an environment of one's own comes with the port it names")
    port = port or free_port()
    env = env or console_env(database_url, port, host=host)
    server = Process(
        "console",
        [APP_PY, "-m", "console"],
        env,
        workdir / "console.log",
        ready_url=f"http://{host}:{port}/healthz",
    ).start(timeout=timeout)
    try:
        yield f"http://{host}:{port}", server
    finally:
        server.stop()
    assert server.errors() == [], server.log.read_text(encoding="utf-8")


def sign_in(page: Any, base_url: str, username: str) -> None:
    """Sign in on the login page as one of ``STAFF``; lands on the ticket list."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/tickets")
