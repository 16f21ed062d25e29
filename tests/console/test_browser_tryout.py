"""试一试 in a real browser: Debian's Chromium driven by Playwright against the real console process
(``python -m console`` with the trained NLU model, a real SQLite database). A grid member pastes a grid
group's chat and sees the demands become tickets. Screenshots go to tests/artifacts/console/.

Skipped, with the reason, where Chromium or the trained NLU model is missing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.support.browser import (
    ARTIFACTS,
    chromium_page,
    console_env,
    console_server,
    needs_chromium,
    sign_in,
    staffed_database,
)
from tests.support.fake_telegram import free_port
from tests.support.processes import ROOT
from tickets.db import Database
from tickets.models import Ticket
from tickets.statuses import Role, Source

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


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The console process on a fresh SQLite database with one grid member (幸福社区第一网格) and a
    Rasa address nothing listens on (the resident chat says so)."""
    workdir = tmp_path_factory.mktemp("browser-tryout")
    db, _ = staffed_database(workdir, (("xiaoli", Role.GRID_MEMBER, "YX-SG-XF-01", "网格员小李"),))
    port = free_port()
    env = console_env(db.url, port, RASA_URL=f"http://127.0.0.1:{free_port()}")
    try:
        with console_server(workdir, db.url, port=port, env=env, timeout=180) as (url, _):
            yield Live(url, db)
    finally:
        db.dispose()


@pytest.fixture
def page(live: Live) -> Iterator[object]:
    with chromium_page(timeout_ms=30_000) as tab:
        yield tab


def test_a_grid_member_pastes_the_groups_chat_and_the_demands_become_tickets(  # type: ignore[no-untyped-def]
    page, live: Live
) -> None:
    from playwright.sync_api import expect

    sign_in(page, live.url, "xiaoli")
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
