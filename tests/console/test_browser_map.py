"""The maps in a real browser (Debian's Chromium via Playwright, the real console process, SQLite), in
the offline default: no tile server configured, so Leaflet draws the points and the communities'
labels on a plain background and the page asks nothing of any other host. The screenshot of the list's
map view is copied to docs/screenshots/console-map.png for the README."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import browser
from tests.support.browser import (
    ARTIFACTS,
    chromium_page,
    console_server,
    needs_chromium,
    staffed_database,
)
from tests.support.processes import Process
from tests.tickets.factories import classified
from tickets import services
from tickets.geo import Point
from tickets.models import Person
from tickets.statuses import Role, Source

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

#: (text, category, place the NLU found, pin): pins around the demo district's communities.
TICKETS = [
    ("呢度个渠盖冇咗，好危险", "road_facility", None, Point(23.1293, 113.2641)),
    ("门口啲垃圾成日冇人收", "sanitation", None, Point(23.1286, 113.2652)),
    ("路边啲车乱停堵住消防通道", "parking", None, Point(23.1297, 113.2636)),
    ("呢个路口晚晚有人烧烤好嘈", "noise", None, Point(23.1249, 113.2719)),
    ("公园入面啲路灯唔着", "road_facility", None, Point(23.1339, 113.2566)),
    ("幸福花园3栋电梯又坏咗", "elevator", "幸福花园3栋", None),
    ("康乐楼楼下垃圾堆咗三日", "sanitation", "康乐楼", None),
    ("大岭村市场路灯成个礼拜唔着", "road_facility", "大岭村市场", None),
]


@dataclass
class Live:
    url: str
    server: Process


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workdir = tmp_path_factory.mktemp("browser-map")
    db, domain = staffed_database(workdir)
    with db.unit_of_work() as uow:
        s = uow.session
        resident = Person(role=Role.RESIDENT, telegram_user_id=880002, display_name="黄伯")
        s.add(resident)
        s.flush()
        for text, category, place, point in TICKETS:
            services.file_ticket(
                session=s,
                domain=domain,
                text=text,
                source=Source.PRIVATE,
                classification=classified(
                    category, locations=[place] if place else [], text=text, confidence=0.9
                ),
                reporter=resident,
                point=point,
            )
        uow.commit()
    db.dispose()
    with console_server(workdir, db.url) as (url, server):
        yield Live(url, server)


def sign_in(page, live: Live, username: str) -> None:  # type: ignore[no-untyped-def]
    browser.sign_in(page, live.url, username)


def test_the_list_s_map_draws_pins_and_unit_centres_offline(live: Live) -> None:
    from playwright.sync_api import expect

    with chromium_page(timeout_ms=15_000) as page:
        hosts: list[str] = []
        page.on("request", lambda r: hosts.append(r.url))
        sign_in(page, live, "admin")
        page.click("[data-testid=map-view]")
        page.wait_for_url(f"{live.url}/tickets/map?")
        box = page.locator("#map")
        expect(box).to_have_attribute("data-drawn", "7")  # 5 pins + 2 unit centres
        expect(box).to_have_class(re.compile(r"\boffline\b"))
        expect(page.locator("#map path.pin-exact")).to_have_count(5)
        expect(page.locator("#map path.pin-unit")).to_have_count(2)  # 幸福社区 (2), 大岭村 (1)
        expect(page.locator("#map .leaflet-tooltip.unit-count")).to_have_text(
            ["幸福社区 · 2", "大岭村 · 1"]
        )
        expect(page.locator("#map .unit-label", has_text="翠湖社区")).to_have_count(1)
        expect(page.locator("#map img.leaflet-tile")).to_have_count(0)  # no tiles offline
        page.locator("#map path.pin-exact").first.click()
        expect(page.locator(".leaflet-popup-content a")).to_contain_text("MW-")
        page.locator(".leaflet-popup-close-button").click()
        page.mouse.move(0, 0)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        box.screenshot(path=str(ARTIFACTS / "map.png"))
        assert all(url.startswith(live.url) for url in hosts), [
            u for u in hosts if not u.startswith(live.url)
        ]


def test_a_community_s_staff_sees_only_their_scope_on_the_map(live: Live) -> None:
    from playwright.sync_api import expect

    with chromium_page(timeout_ms=15_000) as page:
        sign_in(page, live, "chen")
        page.goto(f"{live.url}/tickets/map")
        expect(page.locator("#map")).to_have_attribute("data-drawn", "4")
        expect(page.locator("#map path.pin-exact")).to_have_count(3)  # 幸福社区's pins only
        expect(page.locator("#map .leaflet-tooltip.unit-count")).to_have_text(["幸福社区 · 2"])


def test_the_dashboard_draws_hotspots(live: Live) -> None:
    from playwright.sync_api import expect

    with chromium_page(timeout_ms=15_000) as page:
        sign_in(page, live, "admin")
        page.goto(f"{live.url}/dashboard")
        expect(page.locator("#map path.hotspot")).to_have_count(8)
        expect(page.locator("#map path.hotspot-unit")).to_have_count(3)
        expect(page.locator("ul.legend .swatch")).to_have_count(5)
