"""民微实事 in a real browser: Debian's Chromium driven by Playwright against the real console process on a
fresh SQLite database set up the way ``make run`` sets it up (migrate, load-units, first-run: the demo and
a first admin). Staff pages and the public project and list pages, which must show no personal data.
Screenshots go to tests/artifacts/console/; the README shows copies from docs/screenshots/."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.browser import (
    ARTIFACTS,
    chromium_page,
    console_env,
    console_server,
    needs_chromium,
)
from tests.support.fake_telegram import free_port
from tests.support.processes import APP_PY, ROOT
from tickets.db import Database
from tickets.models import Person, Project, Resource
from tickets.settings import DATA_DIR

pytestmark = [needs_chromium, pytest.mark.timeout(300)]


@dataclass
class Live:
    url: str
    db: Database
    password: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("browser-projects")
    url = f"sqlite:///{workdir / 'minwei.sqlite3'}"
    port = free_port()
    env = console_env(url, port)
    said = []
    for argv in (["migrate"], ["load-units", str(DATA_DIR / "units.yml")], ["first-run"]):
        done = subprocess.run(
            [APP_PY, "-m", "tickets", *argv],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        said.append(done.stdout)
    password = said[-1].split("密码 ", 1)[1].split("（", 1)[0]
    db = Database(url)
    try:
        with console_server(workdir, url, port=port, env=env) as (base, _):
            yield Live(base, db, password)
    finally:
        db.dispose()


@pytest.fixture
def page(live: Live) -> Iterator[object]:
    with chromium_page(timeout_ms=20_000) as tab:
        yield tab


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_staff_see_the_demo_projects_lists_and_report_card(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{live.url}/projects")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", live.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/projects")
    expect(page.locator("table.tickets")).to_contain_text("幸福花园健身器材更新")
    expect(page.locator("table.tickets")).to_contain_text("康乐楼路灯改造")
    shot(page, "20-projects")
    page.locator("tr", has_text="康乐楼路灯改造").locator("a.code").click()
    expect(page.locator("h1")).to_contain_text("实施")
    expect(page.locator("body")).to_contain_text("LED 灯具已采购")
    shot(page, "21-project")
    page.goto(f"{live.url}/lists?unit=YX-SG-XF")
    expect(page.locator("body")).to_contain_text("长者午餐配送")
    shot(page, "22-lists")
    page.goto(f"{live.url}/report-card?unit=YX-SG-XF&period=month")
    expect(page.locator(".report-card")).to_contain_text("已支出资金")
    shot(page, "23-report-card")
    with page.expect_download() as download:
        page.click("text=下载 PDF")
    assert download.value.suggested_filename.startswith("report-card-YX-SG-XF-")
    page.goto(f"{live.url}/projects")
    page.locator("tr", has_text="康乐楼路灯改造").locator("a.code").click()
    page.click("text=A5")
    expect(page.locator(".sign.a5 h1")).to_have_text("康乐楼路灯改造")
    expect(page.locator(".sign .qr-box svg")).to_be_visible()
    shot(page, "26-project-sign")
    page.goto(f"{live.url}/dashboard")
    expect(page.locator("[data-testid=projects]")).to_contain_text("14,500")
    shot(page, "27-dashboard-projects")


def test_the_public_project_and_list_pages_show_no_personal_data(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect
    from sqlalchemy import select

    with live.db.session() as s:
        code = s.scalar(select(Project.code).where(Project.title == "康乐楼路灯改造"))
        names = [n for n in s.scalars(select(Person.display_name)) if n]
        contacts = [c for c in s.scalars(select(Resource.contact)) if c]
    page.goto(f"{live.url}/p/projects/{code}")
    expect(page.locator(".lifecycle .now")).to_have_text("实施")
    expect(page.locator("body")).to_contain_text("14,500")
    shot(page, "24-public-project")
    html = page.content()
    page.goto(f"{live.url}/p/lists/YX-SG-XF")
    expect(page.locator("body")).to_contain_text("长者饭堂")
    shot(page, "25-public-lists")
    html += page.content()
    assert names and contacts
    for secret in [*names, *contacts]:
        assert secret not in html, secret
