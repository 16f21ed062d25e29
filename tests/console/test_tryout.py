"""试一试: pasted group messages go through the grid group's logic with the real NLU pipeline and file real
``web`` tickets once; the resident chat talks to the real Rasa server and action server as a web resident
(tests that take the ``rasa`` fixture; for the others Rasa's address is a port where nothing listens);
sign-in, CSRF and escaping hold. The browser's view of the chat is in tests/e2e/test_tryout.py."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from sqlalchemy import func, select

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from bot.rasa import RasaClient
from console.app import create_app
from console.classifier import NluClassifier, load_classifier
from tests.bot.conftest import FakeClassifier, demand, nowhere
from tests.console.conftest import KeywordClassifier, csrf, sign_in
from tests.support.rasa import RasaStack
from tests.tickets.factories import file
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, ReviewItem, Ticket
from tickets.settings import Settings
from tickets.statuses import Role, Source

DEMANDS = [
    "幸福花园3栋电梯又坏咗，我阿妈落唔到楼",
    "康乐楼楼下垃圾堆咗三日冇人收，臭到上三楼",
]
CHATTER = ["早晨", "今日好热啊", "收到，谢谢", "听日几点去饮茶？", "大家早晨，今日落雨记得带遮"]
REPORT = DEMANDS[0]
PASTE = "\n".join(
    [
        f"陈姨：{CHATTER[0]}",
        f"陈姨：{DEMANDS[0]}",
        f"王伯：{CHATTER[1]}",
        "阿珍 10:32",
        DEMANDS[1],
        "",
        *CHATTER[2:],
    ]
)


@pytest.fixture(scope="session")
def real_nlu() -> NluClassifier:
    """The trained NLU pipeline (models/nlu), loaded once, as the console loads it at start-up."""
    classifier = load_classifier()
    if classifier is None:
        pytest.skip("the NLU pipeline or its trained model (models/nlu) is not available")
    return classifier


def make_app(
    settings: Settings,
    db: Database,
    domain: Domain,
    *,
    classifier: object,
    group_classifier: object = None,
    rasa: RasaStack | None = None,
) -> Iterator[TestClient]:
    client = RasaClient(rasa.url if rasa else nowhere())
    # Asked whether it runs when Rasa says nothing.
    settings = replace(settings, action_server_port=rasa.action_port if rasa else 1)
    kwargs = {"group_classifier": group_classifier} if group_classifier is not None else {}
    app = create_app(
        settings,
        database=db,
        domain=domain,
        classifier=classifier,
        rasa=client,
        **kwargs,  # type: ignore[arg-type]
    )
    with TestClient(app, base_url="http://testserver") as c:
        yield c
        c.portal.call(client.close)  # in the loop its connections were opened in


@pytest.fixture
def live_nlu(
    app_settings: Settings,
    db: Database,
    domain: Domain,
    real_nlu: NluClassifier,
    staff: dict[str, int],
) -> Iterator[TestClient]:
    """The console with the real NLU pipeline: the grid groups' classifier is built from it."""
    yield from make_app(app_settings, db, domain, classifier=real_nlu)


@pytest.fixture
def tryout(
    request: pytest.FixtureRequest,
    app_settings: Settings,
    db: Database,
    domain: Domain,
    staff: dict[str, int],
) -> Iterator[TestClient]:
    """The console with a table for a classifier, and the real Rasa when the test takes it."""
    rasa = request.getfixturevalue("rasa") if "rasa" in request.fixturenames else None
    table = FakeClassifier(
        {"北门垃圾堆咗三日": demand("sanitation", locations=["北门"], text="北门垃圾堆咗三日")}
    )
    yield from make_app(
        app_settings,
        db,
        domain,
        classifier=KeywordClassifier(),
        group_classifier=table,
        rasa=rasa,
    )


def paste(client: TestClient, text: str, grid: str = "YX-SG-XF-01") -> httpx.Response:
    token = csrf(client, "/tryout")
    return client.post("/tryout/paste", data={"grid": grid, "text": text, "csrf_token": token})


def say(client: TestClient, text: str, shown: str = "") -> httpx.Response:
    token = csrf(client, "/tryout")
    return client.post(
        "/tryout/chat",
        data={"text": text, "shown": shown, "csrf_token": token},
        follow_redirects=False,
    )


def said(text: str) -> str:
    """The resident's bubble in the chat."""
    return f'<div class="bubble me"><span class="said">{text}</span></div>'


@dataclass(frozen=True)
class Filed:
    code: str
    original_text: str
    source: Source
    origin_label: str | None
    category: str
    area: str | None


def tickets(db: Database) -> list[Filed]:
    with db.session() as s:
        return [
            Filed(
                t.code,
                t.original_text,
                t.source,
                t.origin_label,
                t.category,
                t.area.code if t.area else None,
            )
            for t in s.scalars(select(Ticket).order_by(Ticket.id))
        ]


def test_the_page_is_for_signed_in_staff_only(tryout: TestClient, db: Database) -> None:
    response = tryout.get("/tryout", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/tryout")
    token = csrf(tryout)  # a session with a token, but nobody signed in
    for path, data in (
        ("/tryout/paste", {"grid": "YX-SG-XF-01", "text": "北门垃圾堆咗三日"}),
        ("/tryout/chat", {"text": "3栋电梯坏咗"}),
    ):
        response = tryout.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login?next=/")
    assert tickets(db) == []


def test_every_post_needs_the_csrf_token_from_this_site(tryout: TestClient, db: Database) -> None:
    sign_in(tryout, "grid1")
    token = csrf(tryout, "/tryout")
    for path, data in (
        ("/tryout/paste", {"grid": "YX-SG-XF-01", "text": "北门垃圾堆咗三日"}),
        ("/tryout/chat", {"text": "3栋电梯坏咗"}),
        ("/tryout/chat/new", {}),
    ):
        assert tryout.post(path, data=data).status_code == 403
        assert tryout.post(path, data={**data, "csrf_token": "forged"}).status_code == 403
        cross_site = tryout.post(
            path, data={**data, "csrf_token": token}, headers={"Origin": "https://evil.example"}
        )
        assert cross_site.status_code == 403
    assert tickets(db) == []
    with db.session() as s:  # the chat would have made a web resident to speak as
        assert s.scalars(select(Person).where(Person.role == Role.RESIDENT)).all() == []


def test_pasted_chatter_and_demands_file_only_the_demands_once(
    live_nlu: TestClient, db: Database
) -> None:
    sign_in(live_nlu, "grid1")
    page = live_nlu.get("/tryout")
    assert 'value="YX-SG-XF-01" selected' in page.text  # the grid member's own grid
    response = paste(live_nlu, PASTE)
    assert response.status_code == 200, response.text
    decisions = re.findall(r'data-decision="(\w+)"', response.text)
    assert len(decisions) == len(DEMANDS) + len(CHATTER)
    assert decisions.count("filed") == len(DEMANDS)
    assert "review" not in decisions
    filed = tickets(db)
    assert [t.original_text for t in filed] == DEMANDS
    assert [(t.source, t.origin_label) for t in filed] == [
        (Source.WEB, "陈姨"),
        (Source.WEB, "阿珍"),
    ]
    assert [t.category for t in filed] == ["elevator", "sanitation"]
    mine, elsewhere = filed  # 幸福花园 is in the grid member's grid, 康乐楼 in the next one
    assert f'<a class="code" href="/tickets/{mine.code}">' in response.text
    assert (mine.area, elsewhere.area) == ("YX-SG-XF-01", "YX-SG-XF-02")
    assert (
        f'<span class="code" title="工单所在地点不在您的辖区">{elsewhere.code}</span>'
        in response.text
    )
    assert '<mark class="loc" title="地点">幸福花园3栋</mark>' in response.text
    assert "电梯" in response.text

    again = paste(live_nlu, PASTE)
    assert re.findall(r'data-decision="(\w+)"', again.text) == decisions
    assert [t.code for t in tickets(db)] == [t.code for t in filed]  # nothing filed twice

    # Real tickets: in the list, with the web source.
    listed = live_nlu.get("/tickets?source=web")
    assert mine.code in listed.text and elsewhere.code not in listed.text


def test_html_in_pasted_text_is_shown_as_text(tryout: TestClient) -> None:
    sign_in(tryout, "grid1")
    response = paste(tryout, '<script>alert("x")</script>\n<img src=x onerror=alert(1)>：你好')
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert "<img src=x" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text


def test_only_grids_within_ones_own_units_can_be_chosen(tryout: TestClient, db: Database) -> None:
    sign_in(tryout, "xingfu")  # 幸福社区: its two grids, none preselected (the unit is no grid)
    page = tryout.get("/tryout").text
    assert re.findall(r'<option value="(YX-[A-Z0-9-]+)"', page) == ["YX-SG-XF-01", "YX-SG-XF-02"]
    assert "selected" not in page.split('name="grid"')[1].split("</select>")[0]
    response = paste(tryout, "北门垃圾堆咗三日", grid="YX-SG-CH-01")  # 翠湖社区's grid
    assert (
        '<div class="flash error" role="alert">翠湖社区第一网格不在您的辖区内</div>'
        in response.text
    )
    assert "北门垃圾堆咗三日</textarea>" in response.text  # kept for another try
    assert "请选择这些消息来自哪个网格" in paste(tryout, "北门垃圾堆咗三日", grid="").text
    assert tickets(db) == []
    filed = paste(tryout, "北门垃圾堆咗三日", grid="YX-SG-XF-02")
    assert filed.status_code == 200
    [ticket] = tickets(db)
    assert ticket.source is Source.WEB
    assert ticket.area == "YX-SG-XF-02"  # 北门 alone names no place


def test_a_review_band_message_waits_in_the_review_queue_as_a_web_message(
    app_settings: Settings, db: Database, domain: Domain, staff: dict[str, int]
) -> None:
    unsure = FakeClassifier({"有冇人觉得好嘈": demand("noise", confidence=0.5)})
    for client in make_app(
        app_settings, db, domain, classifier=KeywordClassifier(), group_classifier=unsure
    ):
        sign_in(client, "grid1")
        response = paste(client, "有冇人觉得好嘈")
        assert re.findall(r'data-decision="(\w+)"', response.text) == ["review"]
        queue = client.get("/review").text
        assert "有冇人觉得好嘈" in queue and "网页" in queue
    with db.session() as s:
        item = s.scalars(select(ReviewItem)).one()
        assert item.source is Source.WEB
    assert tickets(db) == []


def test_the_chat_runs_as_a_web_resident_with_clickable_buttons(
    tryout: TestClient, db: Database, rasa: RasaStack
) -> None:
    sign_in(tryout, "xingfu")
    response = say(tryout, REPORT)
    assert (response.status_code, response.headers["location"]) == (303, "/tryout#chat")
    page = tryout.get("/tryout").text
    assert said(REPORT) in page
    [question] = re.findall(r"您反映的是：[^<]*对吗？", page)
    assert "幸福花园3栋" in question
    assert 'name="text" value="/affirm"' in page and 'name="shown" value="对"' in page
    with db.session() as s:
        resident = s.scalars(select(Person).where(Person.role == Role.RESIDENT)).one()
        assert resident.display_name == "网页居民（xingfu）"
        assert (resident.telegram_user_id, resident.username) == (None, None)
        resident_id = resident.id
    assert rasa.said(f"web:{resident_id}") == [REPORT]

    say(tryout, "/affirm", shown="对")  # the button
    assert rasa.said(f"web:{resident_id}") == [REPORT, "/affirm"]
    page = tryout.get("/tryout").text
    assert '<div class="bubble me"><span class="said">对</span></div>' in page
    assert "方便的话，拍一张现场照片发给我" in page

    # Another console user has a chat of their own; 新对话 starts another resident.
    with TestClient(tryout.app, base_url="http://testserver") as other:
        sign_in(other, "grid1")
        assert said(REPORT) not in other.get("/tryout").text
    tryout.post("/tryout/chat/new", data={"csrf_token": csrf(tryout, "/tryout")})
    assert said(REPORT) not in tryout.get("/tryout").text
    say(tryout, "你好")
    with db.session() as s:
        newest = s.scalar(select(func.max(Person.id)).where(Person.role == Role.RESIDENT))
    assert newest != resident_id
    assert rasa.said(f"web:{newest}") == ["你好"]
    assert rasa.said(f"web:{resident_id}") == [REPORT, "/affirm"]


def test_the_chats_tickets_are_listed_with_links(
    tryout: TestClient, db: Database, domain: Domain
) -> None:
    sign_in(tryout, "xingfu")
    say(tryout, "3栋电梯坏咗")
    with db.unit_of_work() as uow:
        resident = uow.session.scalars(select(Person).where(Person.role == Role.RESIDENT)).one()
        code = file(
            uow.session,
            domain,
            "幸福花园3栋电梯坏咗",
            "elevator",
            locations=["幸福花园3栋"],
            reporter=resident,
            source=Source.WEB,
        ).code
        uow.commit()
    panel = tryout.get("/tryout").text.split('data-testid="chat-tickets"')[1]
    assert f'<a class="code" href="/tickets/{code}">{code}</a>' in panel
    assert "电梯" in panel


def test_rasa_down_is_said_plainly(tryout: TestClient, db: Database) -> None:
    sign_in(tryout, "grid1")  # Rasa's address is a port where nothing listens
    response = say(tryout, REPORT)
    assert response.status_code == 303
    assert "对话服务暂不可用" in tryout.get("/tryout").text
    with db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 0
