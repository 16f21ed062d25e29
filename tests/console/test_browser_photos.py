"""Photos in a real browser: Debian's Chromium against the real console process. A staff member sees
the resident's photo (re-encoded without EXIF) on the ticket page, approves it, and the public
progress page then shows it; before approval it does not. Screenshots go to tests/artifacts/console/
(copies in docs/screenshots/)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.browser import (
    ARTIFACTS,
    chromium_page,
    console_server,
    needs_chromium,
    sign_in,
    staffed_database,
)
from tests.support.images import phone_jpeg
from tests.tickets.factories import classified
from tickets import photos, services
from tickets.models import Person
from tickets.statuses import Role, Source
from tickets.usecases import photos as photo_cases

pytestmark = [needs_chromium, pytest.mark.timeout(300)]


@dataclass
class Live:
    url: str
    code: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The console process on a SQLite database with one ticket whose photo the bot has stored."""
    workdir = tmp_path_factory.mktemp("browser-photos")
    db, domain = staffed_database(workdir)
    with db.unit_of_work() as uow:
        s = uow.session
        resident = Person(role=Role.RESIDENT, telegram_user_id=880002, display_name="黄伯")
        s.add(resident)
        s.flush()
        text = "幸福花园3栋门口嘅井盖烂咗，好危险"
        ticket = services.file_ticket(
            session=s,
            domain=domain,
            text=text,
            source=Source.PRIVATE,
            classification=classified("road_facility", locations=["幸福花园3栋"], text=text),
            reporter=resident,
            attachments=["AgACbrowserphoto"],
        )
        [job] = photos.claim_fetches(s, owner="bot")
        photo_cases.fetched(
            s, domain, photo_id=job.photo_id, owner="bot", raw=phone_jpeg((640, 480))
        )
        code = ticket.code
        uow.commit()
    try:
        with console_server(workdir, db.url) as (url, _):
            yield Live(url, code)
    finally:
        db.dispose()


def _loaded(image) -> bool:  # type: ignore[no-untyped-def]
    return bool(image.evaluate("img => img.complete && img.naturalWidth > 0"))


def test_staff_approve_a_photo_and_the_public_page_shows_it(live: Live) -> None:
    from playwright.sync_api import expect

    with chromium_page(timeout_ms=15_000) as page:
        sign_in(page, live.url, "chen")
        page.goto(f"{live.url}/tickets/{live.code}")
        thumb = page.locator("[data-testid=photos] img")
        expect(thumb).to_have_count(1)
        assert _loaded(thumb)
        public_url = page.locator("a", has_text="公开进度页").get_attribute("href")
        assert public_url is not None

        page.goto(public_url)
        expect(page.locator(".big-status")).to_be_visible()
        expect(page.locator("[data-testid=public-photos]")).to_have_count(0)

        page.goto(f"{live.url}/tickets/{live.code}")
        page.click("text=审核通过并公开")
        expect(page.locator(".flash.ok")).to_contain_text("照片已公开")
        expect(page.locator("[data-testid=photo-public]")).to_contain_text("已公开（陈社工")
        page.locator("[data-testid=photos]").screenshot(path=str(ARTIFACTS / "photos-ticket.png"))

        page.context.clear_cookies()
        page.goto(public_url)
        shown = page.locator("[data-testid=public-photos] img")
        expect(shown).to_have_count(1)
        assert _loaded(shown)
        assert "黄伯" not in page.content()
        page.screenshot(path=str(ARTIFACTS / "photos-public.png"), full_page=True)
