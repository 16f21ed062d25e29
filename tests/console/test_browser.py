"""The console in a real browser: Debian's Chromium driven by Playwright against the real server process
(``python -m console`` on a free loopback port, a real SQLite database). Screenshots go to
tests/artifacts/console/; the README shows copies from docs/screenshots/.

Skipped, with the reason, where Chromium is not installed (scripts/test.sh installs it in CI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

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
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, ReviewItem
from tickets.settings import DATA_DIR, Settings
from tickets.statuses import Role, Source

pytestmark = [
    needs_chromium,
    pytest.mark.timeout(300),
]

MESSAGES = [
    ("幸福花园3栋电梯又坏咗，我阿妈落唔到楼，好心快啲嚟整", "elevator", ["幸福花园3栋"], False),
    ("幸福花园北门电梯困人！入面有个小朋友", "elevator", ["幸福花园北门"], True),
    ("康乐楼楼下垃圾堆咗三日冇人收，臭到上三楼", "sanitation", ["康乐楼"], False),
    ("石岗市场门口啲档口摆到出马路，车都过唔到", "illegal_construction", ["石岗市场"], False),
    ("翠湖花园广场舞晚晚跳到十一点，细路都瞓唔着", "noise", ["翠湖花园"], False),
    ("东风路第三盏路灯成个礼拜唔着，夜晚好黑", "road_facility", ["东风路"], False),
    ("湖景楼天台漏水漏到落屋企，楼上唔肯修", "dispute", ["湖景楼"], False),
    ("幸福花园5栋地下车库成日有人乱停车，堵住消防通道", "parking", ["幸福花园5栋"], False),
]


@dataclass
class Live:
    url: str
    db: Database
    server: Process


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The console process on a seeded SQLite database: staff accounts, tickets from a resident who
    can be reached on Telegram, one unsure group message."""
    workdir = tmp_path_factory.mktemp("browser")
    db, domain = staffed_database(workdir)
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        resident = Person(role=Role.RESIDENT, telegram_user_id=880001, display_name="黄伯")
        s.add(resident)
        s.flush()
        for text, category, places, urgent in MESSAGES:
            services.file_ticket(
                session=s,
                domain=domain,
                text=text,
                source=Source.PRIVATE,
                classification=classified(
                    category, urgent=urgent, locations=places, text=text, confidence=0.86
                ),
                reporter=resident,
            )
        services.file_ticket(
            session=s,
            domain=domain,
            text="幸福花园门口嗰度有啲嘢想问下",
            source=Source.GROUP,
            classification=classified(
                "property_mgmt", confidence=0.31, text="幸福花园门口", locations=["幸福花园"]
            ),
        )
        s.add(
            ReviewItem(
                source=Source.GROUP,
                chat_id=-100200,
                message_id=5,
                area_id=tree.get("YX-SG-XF-01").id,
                text="北门啲灯今晚又闪闪吓",
                redacted_text="北门啲灯今晚又闪闪吓",
                nlu={
                    "is_demand": True,
                    "demand_confidence": 0.51,
                    "category": "road_facility",
                    "category_confidence": 0.44,
                    "ranking": [["road_facility", 0.44], ["property_mgmt", 0.3]],
                },
                reason="low_confidence",
            )
        )
        uow.commit()
    try:
        with console_server(workdir, db.url) as (url, server):
            yield Live(url, db, server)
    finally:
        db.dispose()


@pytest.fixture
def page(live: Live) -> Iterator[object]:
    with chromium_page(timeout_ms=15_000, accept_downloads=True) as tab:
        yield tab


def shot(page, name: str, *, full: bool = False) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def sign_in(page, live: Live, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/tickets")
    assert "/login" in page.url
    shot(page, "01-login")
    browser.sign_in(page, live.url, username)


def test_a_staff_member_works_a_ticket_from_list_to_resolution(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, live, "chen")
    expect(page.locator("table.tickets tbody tr")).to_have_count(6)  # 幸福社区's tickets only
    expect(page.locator("aside.side")).to_have_attribute("data-loaded", "1")  # counts arrived
    expect(page.locator("table.tickets tr.urgent")).to_have_count(1)
    shot(page, "02-list")

    # Filter: a category from the sidebar, then a search.
    page.locator("aside.side ul.cats a", has_text="电梯").click()
    expect(page.locator("table.tickets tbody tr")).to_have_count(2)
    page.fill("input.q", "落唔到楼")
    page.click("form.filters button.primary")
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    shot(page, "03-filtered")

    # Open it, reclassify, accept, resolve.
    page.locator("table.tickets a.code").first.click()
    expect(page.locator("[data-testid=ticket-text] mark.loc")).to_have_text("幸福花园3栋")
    shot(page, "04-detail", full=True)
    page.select_option("form.act-reclassify select[name=category]", "property_mgmt")
    page.click("form.act-reclassify button")
    expect(page.locator(".flash.ok")).to_contain_text("已记录为标注反馈")
    page.click("form.act-accept button")
    expect(page.locator(".flash.ok")).to_contain_text("已受理")
    page.fill("form.act-resolve textarea[name=note]", "已联系维保单位更换门机板，电梯恢复运行")
    page.click("form.act-resolve button")
    expect(page.locator(".flash.ok")).to_contain_text("已办结")
    expect(page.locator("h1 .status")).to_have_text("已办结")

    # The resident is told: the outbox holds the 办结 message with the rating buttons' prompt.
    outbox = page.locator("[data-testid=outbox]")
    expect(outbox).to_contain_text("办结通知（请居民评价）")
    expect(outbox).to_contain_text("待发送")
    expect(outbox).to_contain_text("已联系维保单位更换门机板")
    page.locator("#notifications").scroll_into_view_if_needed()
    shot(page, "05-resolved", full=True)

    # The dashboard.
    page.click("header.top nav >> text=数据看板")
    expect(page.locator(".kpis")).to_contain_text("诉求量")
    expect(page.locator("svg.chart").first).to_be_visible()
    shot(page, "06-dashboard", full=True)

    # Export the list as CSV.
    page.goto(f"{live.url}/tickets?category=elevator")
    with page.expect_download() as download_info:
        page.click("text=CSV")
    path = download_info.value.path()
    rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "工单号"
    assert len(rows) == 2  # one elevator ticket left after the reclassification
    shot(page, "07-export-source")


def test_the_review_queue_is_decided_with_the_keyboard(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, live, "chen")
    page.goto(f"{live.url}/review")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(2)
    shot(page, "08-review")
    page.keyboard.press("y")  # confirm the first (the low-confidence ticket)
    expect(page.locator(".flash.ok")).to_contain_text("已确认为「物业管理」")
    expect(rows).to_have_count(1)
    page.keyboard.press("y")  # the group message: file it with the model's category
    expect(page.locator(".flash.ok")).to_contain_text("已立案为工单")
    expect(rows).to_have_count(0)


def test_the_public_progress_page_and_its_poster(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, live, "admin")
    page.goto(f"{live.url}/tickets?q=困人")
    page.locator("table.tickets a.code").first.click()
    page.click("text=打印二维码")
    expect(page.locator(".qr-box svg")).to_be_visible()
    shot(page, "09-poster")
    public_url = page.locator(".poster-url").inner_text()
    page.context.clear_cookies()
    page.goto(public_url)
    expect(page.locator(".big-status")).to_have_text("待受理")
    assert "黄伯" not in page.content()
    shot(page, "10-public")


def test_the_follow_board_and_the_public_board(page, live: Live) -> None:  # type: ignore[no-untyped-def]
    """A community sends a ticket back and books a visit in the browser; the street's 督办台 shows
    them with the overdue, escalated and co-handled tickets; the public board shows a 公开办 ticket
    without the resident's name."""
    from playwright.sync_api import expect
    from sqlalchemy import select

    from tickets.models import Ticket
    from tickets.statuses import HandlingMode

    domain = Domain.load(Settings(database_url=live.db.url, data_dir=DATA_DIR))
    with live.db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)

        def by_text(words: str) -> Ticket:
            found = s.scalar(select(Ticket).where(Ticket.original_text.contains(words)))
            assert found is not None
            return found

        parking = by_text("乱停车")
        # Set-up only: the parking ticket ran past its due time and the clock escalated it.
        parking.due_at = domain.clock() - timedelta(hours=3)
        services.escalate(
            session=s,
            domain=domain,
            ticket=parking,
            level=1,
            to=tree.get("YX-SG"),
            reason="overdue",
        )
        services.add_helper(
            session=s,
            domain=domain,
            ticket=by_text("广场舞"),
            unit=tree.get("YX-SG-XF"),
            actor="测试",
        )
        market = by_text("石岗市场")
        services.set_handling_mode(
            session=s, domain=domain, ticket=market, mode=HandlingMode.PUBLIC, actor="测试"
        )
        services.accept(session=s, domain=domain, ticket=market, actor="测试")
        services.publish(session=s, domain=domain, ticket=market)
        uow.commit()

    sign_in(page, live, "chen")
    page.goto(f"{live.url}/tickets?q=乱停车")
    page.locator("table.tickets a.code").first.click()
    tomorrow = (domain.clock().astimezone(domain.settings.timezone) + timedelta(days=1)).date()
    page.fill("form.act-visit input[name=when]", f"{tomorrow}T15:00")
    page.click("form.act-visit button")
    expect(page.locator(".flash.ok")).to_contain_text("已预约")
    expect(page.locator("[data-testid=due-items]")).to_contain_text("上门提醒")
    page.goto(f"{live.url}/tickets?q=康乐楼")
    page.locator("table.tickets a.code").first.click()
    page.select_option("form.act-send_back select[name=reason]", "不属于本单位职责")
    page.fill("form.act-send_back input[name=reason_detail]", "应由物业处理")
    page.click("form.act-send_back button")
    expect(page.locator(".flash.ok")).to_contain_text("已退回")
    expect(page.locator("[data-testid=sent-back-count]")).to_contain_text("1 次")
    shot(page, "11-ticket-sent-back", full=True)

    page.click("header.top nav >> text=督办台")
    expect(page.locator("[data-testid=follow-overdue]")).to_contain_text("幸福花园5栋")
    expect(page.locator("[data-testid=follow-helping]")).to_contain_text("协办中")
    page.context.clear_cookies()
    sign_in(page, live, "admin")  # the district picks the street's 督办台
    page.goto(f"{live.url}/follow")
    page.select_option("select[name=unit]", "YX-SG")
    page.click("form.periods button")
    expect(page.locator("h1")).to_contain_text("石岗街道")
    expect(page.locator("[data-testid=follow-sent_back]")).to_contain_text(
        "不属于本单位职责：应由物业处理"
    )
    expect(page.locator("[data-testid=follow-escalated]")).to_contain_text("一级督办")
    expect(page.locator("[data-testid=follow-visits]")).to_contain_text(f"{tomorrow} 15:00")
    shot(page, "11-follow", full=True)

    page.context.clear_cookies()
    page.goto(f"{live.url}/p/board")
    expect(page.locator("[data-testid=board-tickets] article")).to_have_count(1)
    expect(page.locator("[data-testid=board-tickets]")).to_contain_text("石岗市场")
    assert "黄伯" not in page.content()
    page.click(".board-areas >> text=石岗街道")
    expect(page.locator("h1")).to_contain_text("石岗街道")
    expect(page.locator("[data-testid=board-tickets] article")).to_have_count(1)
    shot(page, "12-board", full=True)
