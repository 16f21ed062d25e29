"""The console's 民微实事 pages: lists, projects and their lifecycle actions, the 成绩单; roles and
scopes, CSRF, observers, and public pages without personal data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.console.conftest import PASSWORD, csrf, post, sign_in
from tests.tickets.factories import file, person
from tickets import demo
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import ListEvent, Person, Project, ProjectEvent, ProjectVote
from tickets.projectstatus import ProjectStatus
from tickets.statuses import Role
from tickets.usecases import projects, votes


@pytest.fixture
def demo_data(db: Database, domain: Domain, staff: dict[str, int]) -> dict[str, str]:
    """The demo (two projects) plus a phone number in a demo resident's ticket; project codes by stage."""
    with db.unit_of_work() as uow:
        demo.load(uow.session, domain)
        resident = person(uow.session, tg=7777, name="张三丰")
        file(
            uow.session,
            domain,
            "幸福花园健身器材又坏了，打我电话13812345678",
            "greening_space",
            locations=["幸福花园"],
            reporter=resident,
        )
        uow.commit()
    with db.session() as s:
        return {p.status.value: p.code for p in s.scalars(select(Project))}


@pytest.fixture
def observer(db: Database, domain: Domain, password_hash: str) -> int:
    with db.unit_of_work() as uow:
        p = Person(
            username="guancha",
            password_hash=password_hash,
            role=Role.OBSERVER,
            unit_id=domain.units(uow.session).get("YX-SG-XF").id,
            display_name="观察员老王",
        )
        uow.session.add(p)
        uow.commit()
        return p.id


def test_staff_see_their_projects_and_others_see_none(
    make_client: Any, demo_data: dict[str, str]
) -> None:
    xingfu = sign_in(make_client(), "xingfu")
    page = xingfu.get("/projects")
    assert page.status_code == 200
    assert "幸福花园健身器材更新" in page.text and "康乐楼路灯改造" in page.text
    cuihu = sign_in(make_client(), "cuihu")
    assert "幸福花园健身器材更新" not in cuihu.get("/projects").text
    code = demo_data["voting"]
    assert cuihu.get(f"/projects/{code}").status_code == 404
    assert sign_in(make_client(), "street").get(f"/projects/{code}").status_code == 200
    anonymous = make_client()
    response = anonymous.get("/projects", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_project_goes_through_its_whole_lifecycle_from_the_console(
    client: TestClient, db: Database, demo_data: dict[str, str]
) -> None:
    sign_in(client, "xingfu")
    code = demo_data["voting"]
    page = f"/projects/{code}"
    assert post(client, f"{page}/approve", {"budget": "36000"}, page=page).status_code == 303  # type: ignore[attr-defined]
    for action, data in (
        ("start", {}),
        ("update", {"milestone": "安装", "text": "器材已安装", "spent": "30000"}),
        ("accept", {"result": "更换了 12 件器材", "close_tickets": "true"}),
        ("evaluate", {}),
    ):
        response = post(client, f"{page}/{action}", data, page=page)
        assert response.status_code == 303, (action, response)  # type: ignore[attr-defined]
    html = client.get(page).text
    assert "通知反映诉求的居民" in html  # the audit log
    assert "验收通过" in html and "更换了 12 件器材" in html
    with db.session() as s:
        project = projects.get_project(s, code)
        assert project.status is ProjectStatus.EVALUATING
        assert (project.approved_fen, project.spent_fen) == (3_600_000, 3_000_000)
        actors = {
            e.actor_label
            for e in s.scalars(select(ProjectEvent).where(ProjectEvent.project_id == project.id))
            if e.kind in ("approve", "start", "update", "accept", "evaluate")
        }
        assert actors == {"xingfu"}


def test_refused_steps_are_shown_and_change_nothing(
    client: TestClient, db: Database, demo_data: dict[str, str]
) -> None:
    sign_in(client, "xingfu")
    code = demo_data["implementing"]
    page = f"/projects/{code}"
    response = post(client, f"{page}/approve", {}, page=page)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "不能执行「立项」" in client.get(page).text
    with db.session() as s:
        assert projects.get_project(s, code).status is ProjectStatus.IMPLEMENTING


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, demo_data: dict[str, str]
) -> None:
    sign_in(client, "xingfu")
    code = demo_data["voting"]
    response = client.post(f"/projects/{code}/approve", data={}, follow_redirects=False)
    assert response.status_code == 403
    response = client.post(
        "/lists/needs", data={"unit": "YX-SG-XF", "category": "other", "title": "x"}
    )
    assert response.status_code == 403
    with db.session() as s:
        assert projects.get_project(s, code).status is ProjectStatus.VOTING


def test_a_grid_member_and_an_observer_read_but_may_not_act(
    make_client: Any, db: Database, demo_data: dict[str, str], observer: int
) -> None:
    code = demo_data["voting"]
    grid = sign_in(make_client(), "grid1")
    page = grid.get(f"/projects/{code}")
    assert page.status_code == 200 and "立项</button>" not in page.text
    assert post(grid, f"/projects/{code}/approve", {}, page=f"/projects/{code}").status_code == 303  # type: ignore[attr-defined]
    guancha = sign_in(make_client(), "guancha")
    assert guancha.get(f"/projects/{code}").status_code == 200
    assert "幸福花园健身器材又坏了" not in guancha.get("/tickets").text  # observers see no tickets
    with db.session() as s:
        assert projects.get_project(s, code).status is ProjectStatus.VOTING


def test_an_observer_scores_a_finished_project_on_the_criteria(
    make_client: Any, db: Database, demo_data: dict[str, str], observer: int
) -> None:
    code = demo_data["implementing"]
    staff = sign_in(make_client(), "xingfu")
    post(staff, f"/projects/{code}/accept", {"result": "路灯全部换好"}, page=f"/projects/{code}")
    guancha = sign_in(make_client(), "guancha")
    page = guancha.get(f"/projects/{code}").text
    assert "民情扎实" in page and "提交评价" in page
    scores = {
        f"score_{c}": "4"
        for c in ("grounded", "concentrated", "funded", "timely", "reach", "satisfaction")
    }
    response = post(
        guancha, f"/projects/{code}/score", {**scores, "note": "好"}, page=f"/projects/{code}"
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "观察员 1 人" in guancha.get(f"/projects/{code}").text


def test_staff_build_the_three_lists(
    client: TestClient, db: Database, demo_data: dict[str, str]
) -> None:
    sign_in(client, "xingfu")
    page = client.get("/lists?unit=YX-SG-XF")
    assert page.status_code == 200
    assert "020-1234 5678" in page.text  # contacts are for staff
    needs = re.findall(r'<td class="code">(XQ-[0-9-]+)</td>', page.text)
    assert len(needs) == 3
    data = {"unit": "YX-SG-XF"}
    token = csrf(client, "/lists?unit=YX-SG-XF")

    def form(path: str, fields: dict[str, str]) -> int:
        return client.post(
            path, data={**data, **fields, "csrf_token": token}, follow_redirects=False
        ).status_code

    assert (
        form("/lists/needs", {"category": "elder_care", "title": "老人助浴", "reporters": "4"})
        == 303
    )
    assert form(f"/lists/needs/{needs[0]}/rank", {"rank": "1"}) == 303
    assert form("/lists/needs/merge", {"into": needs[0], "others": needs[1]}) == 303
    assert (
        form(f"/lists/needs/{needs[0]}/split", {"title": "拆出的一部分", "reporters": "1"}) == 303
    )
    assert (
        form(
            "/lists/resources", {"provider": "义工队", "provider_kind": "volunteer", "what": "助浴"}
        )
        == 303
    )
    assert form("/lists/services", {"title": "助浴服务", "schedule": "每周三"}) == 303
    resources = re.findall(
        r'<td class="code">(ZY-[0-9-]+)</td>', client.get("/lists?unit=YX-SG-XF").text
    )
    assert form("/lists/match", {"need": needs[0], "resource": resources[-1]}) == 303
    html = client.get("/lists?unit=YX-SG-XF").text
    assert "老人助浴" in html and "拆出的一部分" in html and "助浴服务" in html
    with db.session() as s:
        kinds = {
            e.kind for e in s.scalars(select(ListEvent).where(ListEvent.actor_label == "xingfu"))
        }
    assert kinds == {
        "need_added",
        "need_ranked",
        "need_merged",
        "need_split",
        "resource_added",
        "service_added",
        "matched",
    }
    cuihu_token = token
    other = client  # the same client signed in as another community cannot edit 幸福社区's lists
    other.post("/logout", data={"csrf_token": cuihu_token})
    sign_in(other, "cuihu")
    assert other.get("/lists?unit=YX-SG-XF").status_code == 403


def test_the_report_card_page_is_printable_and_counts_the_demo(
    client: TestClient, demo_data: dict[str, str], clock: Clock
) -> None:
    sign_in(client, "xingfu")
    month = clock.now.astimezone().strftime("%Y-%m")
    page = client.get(f"/report-card?unit=YX-SG-XF&period={month}")
    assert page.status_code == 200
    assert "成绩单" in page.text and "data-print" in page.text
    assert "收集诉求</th><td>7 件" in page.text
    assert page.text.count("生成时间：") == 1
    assert "落实资金</th><td>14,500 元" in page.text and "已支出资金</th><td>6,200 元" in page.text


def test_the_report_card_pdf_is_for_staff_of_the_unit_and_carries_the_page_s_figures(
    make_client: Any, demo_data: dict[str, str], clock: Clock
) -> None:
    import io

    import pypdf

    month = clock.now.astimezone().strftime("%Y-%m")
    path = f"/report-card.pdf?unit=YX-SG-XF&period={month}"
    anonymous = make_client()
    assert anonymous.get(path, follow_redirects=False).status_code in (302, 303, 401)
    assert sign_in(make_client(), "cuihu").get(path).status_code == 403
    staff = sign_in(make_client(), "xingfu")
    assert (
        'href="/report-card.pdf?unit=YX-SG-XF&amp;period='
        in staff.get(f"/report-card?unit=YX-SG-XF&period={month}").text
    )
    response = staff.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    # The demo's figures, as the web page shows them (test above).
    assert "收集诉求7件" in text and "落实资金14,500元" in text and "已支出资金6,200元" in text
    assert "康乐楼路灯改造" in text and "13812345678" not in text


def test_a_project_s_site_sign_carries_the_qr_code_of_its_public_page(
    make_client: Any,
    demo_data: dict[str, str],
    app_settings: Any,
    db: Database,
    domain: Domain,
    classifier: Any,
) -> None:
    from dataclasses import replace

    from console import qr
    from console.app import create_app

    code = demo_data["implementing"]  # 康乐楼路灯改造, 14,500 yuan approved
    staff = sign_in(make_client(), "xingfu")
    assert f'href="/projects/{code}/sign?size=a5"' in staff.get(f"/projects/{code}").text
    page = staff.get(f"/projects/{code}/sign")
    assert page.status_code == 200
    url = f"http://testserver/p/projects/{code}"
    # The QR code is the one segno draws for exactly the public page's address.
    assert qr.svg(url) in page.text and f'class="poster-url">{url}<' in page.text
    for shown in (
        "康乐楼路灯改造",
        "幸福社区",
        "立项预算",
        "14,500 元",
        "<b>实施</b>",
        'class="sign a4"',
    ):
        assert shown in page.text
    assert "监督电话" not in page.text
    assert 'class="sign a5"' in staff.get(f"/projects/{code}/sign?size=a5").text
    assert sign_in(make_client(), "cuihu").get(f"/projects/{code}/sign").status_code == 404
    assert make_client().get(f"/projects/{code}/sign", follow_redirects=False).status_code in (
        302,
        303,
        401,
    )
    with_hotline = create_app(
        replace(app_settings, public_hotline="020-12345"),
        database=db,
        domain=domain,
        classifier=classifier,
    )
    with TestClient(with_hotline, base_url="http://testserver") as other:
        assert "监督电话：020-12345" in sign_in(other, "xingfu").get(f"/projects/{code}/sign").text


def test_the_dashboard_shows_the_projects_the_viewer_may_see(
    make_client: Any, demo_data: dict[str, str], db: Database
) -> None:
    """The demo's two projects in 幸福社区: one in 表决, one in 实施 (14,500 approved, 6,200 spent)."""
    with db.session() as s:
        rows = s.scalars(select(Project)).all()
        committed = sum(p.approved_fen or 0 for p in rows)
        spent = sum(p.spent_fen for p in rows)
    assert (len(rows), committed, spent) == (2, 1_450_000, 620_000)

    def section(username: str) -> str:
        page = sign_in(make_client(), username).get("/dashboard?period=30d").text
        start = page.index('data-testid="projects"')
        return page[start : page.index("</section>", start)]

    mine = section("xingfu")
    cells = re.findall(r'<td class="num">(?:<b>)?([\d,]+)', mine)
    # By stage in lifecycle order (提议 … 销号, 不立项), then the total; then per area and in total.
    assert cells[:10] == ["0", "0", "1", "0", "1", "0", "0", "0", "0", "2"]
    assert "<td>幸福社区</td>" in mine
    assert cells[10:] == ["2", "14,500", "6,200", "2", "14,500", "6,200"]
    other = section("cuihu")
    assert "没有项目" in other and "14,500" not in other


def test_public_project_and_list_pages_show_no_personal_data(
    make_client: Any, db: Database, demo_data: dict[str, str]
) -> None:
    anonymous = make_client()
    code = demo_data["implementing"]
    page = anonymous.get(f"/p/projects/{code}")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    assert "康乐楼路灯改造" in page.text and "14,500" in page.text and "6,200" in page.text
    lists_page = anonymous.get("/p/lists/YX-SG-XF")
    assert lists_page.status_code == 200 and "长者午餐配送" in lists_page.text
    # The community's public board carries the same three lists, its projects linked.
    board = anonymous.get("/p/board/YX-SG-XF")
    assert board.status_code == 200 and "长者午餐配送" in board.text
    assert f'href="/p/projects/{code}"' in board.text
    with db.session() as s:
        names = [p.display_name for p in s.scalars(select(Person)) if p.display_name]
    for html in (
        page.text,
        lists_page.text,
        board.text,
        anonymous.get(f"/p/projects/{demo_data['voting']}").text,
    ):
        for secret in (
            "020-1234 5678",
            "138",
            "13812345678",
            "幸福社区（演示）",
            "社区党委、居民代表",
        ):
            assert secret not in html
        for name in names:
            assert name not in html, name
    assert anonymous.get("/p/lists/YX-SG-XF-01").status_code == 404
    assert anonymous.get("/p/projects/XM-19990101-0001").status_code == 404


def test_a_resident_votes_once_through_a_signed_web_link(
    make_client: Any, db: Database, domain: Domain, demo_data: dict[str, str]
) -> None:
    code = demo_data["voting"]
    with db.session() as s:
        resident = s.scalar(select(Person.id).where(Person.telegram_user_id == 9_900_000_000_001))
    assert resident is not None
    token = votes.vote_token(domain, code, resident)
    web = make_client()
    assert web.get(f"/p/projects/{code}/vote?v={resident}&k=wrong").status_code == 404
    page = web.get(f"/p/projects/{code}/vote?v={resident}&k={token}")
    assert page.status_code == 200 and "赞成" in page.text
    for choice in ("for", "against", "for"):
        response = web.post(
            f"/p/projects/{code}/vote",
            data={"v": str(resident), "k": token, "choice": choice},
            headers={"origin": "http://testserver"},
        )
        assert response.status_code == 200 and "您的投票已记录" in response.text
    forged = web.post(
        f"/p/projects/{code}/vote",
        data={"v": str(resident), "k": token, "choice": "against"},
        headers={"origin": "http://evil.example"},
    )
    assert forged.status_code == 403
    with db.session() as s:
        rows = s.scalars(select(ProjectVote)).all()
        assert [(v.choice.value, v.counted, v.channel) for v in rows] == [("for", True, "web")]
        assert s.scalar(select(func.count(ProjectVote.id))) == 1


def test_proposing_from_the_console_needs_a_staff_member_of_the_area(
    make_client: Any, db: Database, demo_data: dict[str, str]
) -> None:
    xingfu = sign_in(make_client(), "xingfu")
    response = post(
        xingfu,
        "/projects",
        {"title": "东门加装雨棚", "unit": "YX-SG-XF", "estimated": "8000", "place": "幸福花园东门"},
        page="/projects",
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/projects/XM-")  # type: ignore[attr-defined]
    cuihu = sign_in(make_client(), "cuihu")
    post(cuihu, "/projects", {"title": "越权", "unit": "YX-SG-XF"}, page="/projects")
    with db.session() as s:
        titles = set(s.scalars(select(Project.title)))
    assert "东门加装雨棚" in titles and "越权" not in titles
    assert PASSWORD  # the accounts all share the test password


def test_staff_post_the_report_card_and_the_services_list_to_their_groups(
    client: TestClient, db: Database, domain: Domain, demo_data: dict[str, str]
) -> None:
    from tickets.models import ChatBinding, OutboxItem

    with db.unit_of_work() as uow:
        grid = domain.units(uow.session).get("YX-SG-XF-01")
        uow.session.add(ChatBinding(chat_id=-100555, title="幸福花园业主群", grid_id=grid.id))
        uow.commit()
    sign_in(client, "xingfu")
    page = "/report-card?unit=YX-SG-XF&period=month"
    response = post(client, "/report-card/post", {"unit": "YX-SG-XF", "period": "month"}, page=page)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "成绩单已发到 1 个网格群" in client.get(page).text
    response = post(client, "/lists/services/post", {"unit": "YX-SG-XF"}, page="/lists")
    assert response.status_code == 303  # type: ignore[attr-defined]
    with db.session() as s:
        kinds = sorted(s.scalars(select(OutboxItem.kind).where(OutboxItem.chat_id == -100555)))
    assert kinds == ["report_card", "services_list"]
