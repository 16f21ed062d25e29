"""试一试 in a real browser: Debian's Chromium driven by Playwright against the real console process
(``python -m console`` with the trained NLU model, a real SQLite database). A grid member pastes a grid
group's chat and sees the demands become tickets. Screenshots go to tests/artifacts/console/.

Skipped, with the reason, where Chromium or the trained NLU model is missing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.support.browser import ARTIFACTS, chromium_page, needs_chromium
from tests.support.fake_telegram import free_port
from tests.support.processes import APP_PY, ROOT, Process
from tickets import auth, migrate, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Ticket
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role, Source

PASSWORD = "browser-tryout-password"
NLU_MODEL = ROOT / "models" / "nlu" / "model.json"

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(
        not NLU_MODEL.exists(), reason=f"no trained NLU model at {NLU_MODEL} (run `make train`)"
    ),
    pytest.mark.timeout(300),
]

#: A grid group's morning, as copied from a chat app: speaker prefixes, a "name time" header, chatter.
GROUP_CHAT = """陈姨：大家早晨
陈姨：幸福花园3栋电梯又坏咗，我阿妈落唔到楼，好心快啲嚟整
王伯 08:12
幸福花园北门垃圾堆咗三日冇人收，臭到上三楼

阿珍：收到，谢谢网格员
黄生：今日好热啊，记得饮水
李太：幸福花园5栋地下车库成日有人乱停车，堵住消防通道"""
DEMANDS = 3


@dataclass
class Live:
    url: str
    db: Database
    server: Process


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The console process on a fresh SQLite database with one grid member (幸福社区第一网格)."""
    workdir = tmp_path_factory.mktemp("browser-tryout")
    url = f"sqlite:///{workdir / 'minwei.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    domain = Domain.load(Settings(database_url=url, data_dir=DATA_DIR))
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        auth.create_user(
            uow.session,
            username="xiaoli",
            password=PASSWORD,
            role=Role.GRID_MEMBER,
            unit=domain.units(uow.session).get("YX-SG-XF-01"),
            display_name="网格员小李",
        )
        uow.commit()
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CONSOLE_", "PYTEST", "RASA_", "BOT_"))
    }
    env.update(
        {
            "DATABASE_URL": url,
            "CONSOLE_PORT": str(port),
            "CONSOLE_SECRET_KEY": "browser-tryout-secret",
            "MINWEI_DATA_DIR": str(DATA_DIR),
            "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: the chat says so
        }
    )
    server = Process(
        "console",
        [APP_PY, "-m", "console"],
        env,
        workdir / "console.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    ).start(timeout=180)
    try:
        yield Live(f"http://127.0.0.1:{port}", db, server)
    finally:
        server.stop()
        db.dispose()
    assert server.errors() == [], server.log.read_text(encoding="utf-8")


@pytest.fixture
def page(live: Live) -> Iterator[object]:
    with chromium_page(timeout_ms=30_000) as tab:
        yield tab


def test_a_grid_member_pastes_the_groups_chat_and_the_demands_become_tickets(  # type: ignore[no-untyped-def]
    page, live: Live
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live.url}/tickets")
    page.fill("input[name=username]", "xiaoli")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/tickets")
    expect(page.locator("table.tickets a.code")).to_have_count(0)

    page.click("header.top nav >> text=试一试")
    expect(page.locator("select[name=grid]")).to_have_value("YX-SG-XF-01")  # their own grid
    page.fill("textarea[name=text]", GROUP_CHAT)
    page.click("form.paste-form button.primary")
    rows = page.locator("table.pasted tbody tr")
    expect(rows).to_have_count(6)
    filed = page.locator("table.pasted tr[data-decision=filed]")
    expect(filed).to_have_count(DEMANDS)
    expect(page.locator("[data-testid=paste-summary]")).to_contain_text(f"已建单 {DEMANDS}")
    expect(filed.first.locator("mark.loc")).to_have_text("幸福花园3栋")
    expect(filed.first.locator(".speaker")).to_have_text("陈姨")
    expect(page.locator("table.pasted tr[data-decision=dropped]").first).to_contain_text("大家早晨")
    page.screenshot(path=str(ARTIFACTS / "11-tryout-paste.png"), full_page=True)

    # The tickets are real: they open like any other, with their source, and are in the list.
    page.locator("table.pasted tr[data-decision=filed] a.code").first.click()
    expect(page.locator("dl.facts")).to_contain_text("网页（陈姨）")
    expect(page.locator("[data-testid=ticket-text] mark.loc")).to_have_text("幸福花园3栋")
    page.click("header.top nav >> text=工单")
    expect(page.locator("table.tickets a.code")).to_have_count(DEMANDS)

    # The chat needs the Rasa server, which is not running here: it says so plainly.
    page.click("header.top nav >> text=试一试")
    page.fill("form.say input[name=text]", "幸福花园3栋电梯又坏咗")
    page.click("form.say button")
    expect(page.locator(".flash.error")).to_contain_text("对话服务暂不可用")
    with live.db.session() as s:
        found = list(s.scalars(select(Ticket)))
        assert len(found) == DEMANDS
        assert {t.source for t in found} == {Source.WEB}
