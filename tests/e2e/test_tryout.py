"""试一试's resident chat against the real Rasa server and action server: the console (in this process, on
the stack's database) talks to Rasa as a web resident; the form asks for what is missing, takes a
correction and files a real ``web`` ticket; a status question answers from that resident's tickets.

Then the whole page in a real browser (the console process with the trained NLU model, Chromium): a pasted
grid chat and a chat that files a ticket, screenshot for the README (tests/artifacts/console/)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from console.app import create_app
from tests.console.test_browser_tryout import GROUP_CHAT
from tests.e2e.conftest import Stack
from tests.support.browser import (
    ARTIFACTS,
    chromium_page,
    console_env,
    console_server,
    needs_chromium,
)
from tests.support.fake_telegram import free_port
from tickets import auth
from tickets.models import Person, Ticket
from tickets.statuses import Role, Source

PASSWORD = "e2e-tryout-password"


def staff_account(e2e: Stack, username: str, unit: str) -> None:
    with e2e.db.unit_of_work() as uow:
        if uow.session.scalar(select(Person).where(Person.username == username)) is None:
            auth.create_user(
                uow.session,
                username=username,
                password=PASSWORD,
                role=Role.COMMUNITY_STAFF if unit.count("-") == 2 else Role.GRID_MEMBER,
                unit=e2e.domain().units(uow.session).get(unit),
                display_name="陈社工" if unit.count("-") == 2 else "网格员小李",
            )
        uow.commit()


@pytest.fixture
def console(e2e: Stack) -> Iterator[TestClient]:
    """The console on the stack's database and Rasa server, signed in as 幸福社区's 陈社工."""
    staff_account(e2e, "chen-e2e", "YX-SG-XF")
    settings = replace(e2e.settings, console_secret_key="e2e-console-secret")
    app = create_app(settings, database=e2e.db, classifier=None, group_classifier=None)
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed_in = client.post(
            "/login",
            data={"username": "chen-e2e", "password": PASSWORD, "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303
        yield client


def say(client: TestClient, text: str, shown: str = "") -> str:
    """One turn of the chat (typed, or a button's payload); returns the chat part of the page after."""
    page = client.get("/tryout").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/tryout/chat",
        data={"text": text, "shown": shown, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/tryout#chat")
    after = client.get("/tryout").text
    assert 'class="flash error"' not in after, after
    return after.split('id="chat"', 1)[1]


def last_reply(chat: str) -> str:
    return chat.rsplit('<div class="bubble me">', 1)[1]


def press(client: TestClient, chat: str, label: str) -> str:
    """Press the button ``label`` of the latest reply (sends its payload, as the page's form does)."""
    found = re.search(
        rf'name="shown" value="{label}">\s*<button type="submit" name="text" value="([^"]+)">',
        last_reply(chat),
    )
    assert found, f"no active button {label!r} in {last_reply(chat)}"
    return say(client, found[1], shown=label)


def test_a_web_resident_reports_corrects_and_files_a_real_web_ticket(
    e2e: Stack, console: TestClient
) -> None:
    chat = say(console, "幸福花园3栋电梯又坏咗，我阿妈落唔到楼")
    reply = last_reply(chat)
    assert "您反映的是" in reply and "3栋" in reply and "对吗" in reply
    chat = say(console, "不对，是5栋不是3栋")
    assert "幸福花园5栋" in last_reply(chat)
    chat = press(console, chat, "对")
    assert "照片" in last_reply(chat)
    chat = press(console, chat, "跳过")
    assert "联系您" in last_reply(chat)
    chat = press(console, chat, "可以")
    reply = last_reply(chat)
    assert "已为您登记" in reply and "工单号" in reply
    code = re.search(r"MW-\d{8}-\d{4}", reply)
    assert code is not None

    with e2e.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code[0])).one()
        reporter = s.get(Person, ticket.reporter_id)
        assert ticket.source is Source.WEB
        assert (ticket.category, ticket.contact_allowed) == ("elevator", True)
        assert "5栋" in ticket.location_text
        assert reporter is not None and reporter.display_name == "网页居民（chen-e2e）"
        assert (reporter.role, reporter.telegram_user_id) == (Role.RESIDENT, None)

    panel = chat.split('data-testid="chat-tickets"', 1)[1]
    assert f'<a class="code" href="/tickets/{code[0]}">' in panel  # 幸福社区's ticket: a link
    detail = console.get(f"/tickets/{code[0]}").text
    assert "网页" in detail

    chat = say(console, "我报的电梯修好了没有")
    assert code[0] in last_reply(chat)


@needs_chromium
def test_the_page_in_a_browser_with_a_pasted_chat_and_a_resident_chat(
    e2e: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect

    staff_account(e2e, "xiaoli-e2e", "YX-SG-XF-01")
    workdir = tmp_path_factory.mktemp("e2e-console")
    port = free_port()
    env = console_env(
        e2e.settings.database_url,
        port,
        RASA_URL=e2e.settings.rasa_url,
        ACTION_SERVER_PORT=str(e2e.settings.action_server_port),
        STAFF_CHAT_ID=str(e2e.settings.staff_chat_id),
        MINWEI_DATA_DIR=str(e2e.settings.data_dir),
    )
    if os.environ.get("MINWEI_E2E_NLU_MODEL"):
        env["BOT_NLU_MODEL_DIR"] = os.environ["MINWEI_E2E_NLU_MODEL"]
    console = console_server(workdir, e2e.settings.database_url, port=port, env=env, timeout=180)
    with console as (url, _), chromium_page(timeout_ms=60_000, fail_on_js_errors=False) as page:
        page.goto(f"{url}/tryout")
        page.fill("input[name=username]", "xiaoli-e2e")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/tryout")

        page.fill("textarea[name=text]", GROUP_CHAT)
        page.click("form.paste-form button.primary")
        expect(page.locator("table.pasted tr[data-decision=filed]")).to_have_count(3)

        def say(text: str) -> None:
            page.fill("form.say input[name=text]", text)
            page.click("form.say button")

        def press(label: str) -> None:
            button = f'form:has(input[name=shown][value="{label}"]) button:not([disabled])'
            page.locator(f".chat-buttons {button}").click()

        last = page.locator(".bubble.bot").last
        say("幸福花园3栋楼下啲路灯成个礼拜唔着，夜晚好黑")
        expect(last).to_contain_text("对吗")
        say("不对，是5栋不是3栋")
        expect(last).to_contain_text("幸福花园5栋")
        press("对")
        expect(last).to_contain_text("照片")
        press("跳过")
        expect(last).to_contain_text("联系您")
        press("可以")
        expect(last).to_contain_text("已为您登记")
        panel = page.locator("[data-testid=chat-tickets] a.code")
        expect(panel).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "12-tryout.png"), full_page=True)
        code = panel.inner_text()
    with e2e.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        assert (ticket.source, ticket.category) == (Source.WEB, "road_facility")
        assert "5栋" in ticket.location_text
