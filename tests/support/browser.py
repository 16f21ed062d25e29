"""Debian's Chromium driven by Playwright for the browser tests (no browser is downloaded).

``chromium_page`` opens a fresh profile with the console's locale and time zone and yields its page;
tests are skipped with ``needs_chromium`` where Chromium is not installed (CI installs it)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ROOT

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
