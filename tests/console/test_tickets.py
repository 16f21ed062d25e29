"""工单 pages: the filtered list, the detail page and every action on it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.console.conftest import Seeded, post, sign_in
from tickets import learning, services
from tickets.db import Database
from tickets.models import LabelFeedback, OutboxItem, Ticket
from tickets.statuses import HandlingMode, Status


def codes_on(page: str) -> list[str]:
    return re.findall(r'<a class="code" href="/tickets/(MW-[0-9-]+)">', page)


def test_the_list_shows_the_newest_first_with_a_total(client: TestClient, seeded: Seeded) -> None:
    page = sign_in(client, "admin").get("/tickets").text
    assert codes_on(page) == [
        seeded.with_pii,
        seeded.daling,
        seeded.cuihu,
        seeded.kangle,
        seeded.xingfu,
    ]
    assert 'data-total="5"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=elevator", ["xingfu"]),
        ("tab=new&category=noise", ["cuihu"]),
        ("area=YX-SG-XF", ["with_pii", "kangle", "xingfu"]),
        ("q=电梯", ["xingfu"]),
        ("q=康乐楼门口", ["kangle"]),
        (
            "source=private&sort=created",
            ["xingfu", "kangle", "cuihu", "daling", "with_pii"],
        ),
        (
            "from=2026-11-23&to=2026-11-23&urgent=0",
            ["with_pii", "daling", "cuihu", "kangle", "xingfu"],
        ),
        ("from=2026-11-24", []),
        ("overdue=1", []),
    ],
)
def test_the_list_filters(
    client: TestClient, seeded: Seeded, query: str, expected: list[str]
) -> None:
    page = sign_in(client, "admin").get(f"/tickets?{query}").text
    assert codes_on(page) == [getattr(seeded, name) for name in expected]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("category=bogus", "未知类别"),
        ("from=yesterday", "开始日期格式应为"),
        ("from=2026-11-24&to=2026-11-01", "结束日期早于开始日期"),
        ("sort=password_hash", "不支持的排序"),
        ("size=100000", "每页条数"),
        ("area=NOWHERE", "没有编码为 NOWHERE 的单位"),
    ],
)
def test_bad_filters_get_a_clear_error(
    client: TestClient, seeded: Seeded, query: str, message: str
) -> None:
    response = sign_in(client, "admin").get(f"/tickets?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_the_counts_per_filter_option_arrive_with_the_sidebar(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    assert 'data-facets="/tickets/facets?' in client.get("/tickets").text
    side = client.get("/tickets/facets?category=elevator").text
    assert re.search(r"待受理<b>1</b>", side)  # elevator tickets waiting, in 幸福社区
    assert re.search(r"电梯<b>1</b>", side)
    assert re.search(r"环境卫生<b>1</b>", side)  # what choosing 环境卫生 instead would show
    assert re.search(r"噪音扰民<b>0</b>", side)  # 翠湖's noise ticket is not xingfu's


def test_urgent_tickets_stand_out(client: TestClient, db: Database, domain, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    from tests.tickets.factories import file

    with db.unit_of_work() as uow:
        code = file(uow.session, domain, "幸福花园2栋电梯困人！", "elevator", urgent=True).code
        uow.commit()
    page = sign_in(client, "admin").get("/tickets").text
    row = page[page.index(f"/tickets/{code}") - 200 : page.index(f"/tickets/{code}") + 400]
    assert 'class="urgent' in row and "紧急" in row


def test_the_detail_page_shows_the_text_the_nlu_result_and_the_history(
    client: TestClient, seeded: Seeded
) -> None:
    page = sign_in(client, "xingfu").get(f"/tickets/{seeded.xingfu}").text
    assert '<mark class="loc" title="地点">幸福花园3栋</mark>电梯坏咗' in page
    assert "智能识别结果" in page and "90%" in page
    assert "建单" in page and "所属类案" in page
    assert ">受理</button>" in page and ">改类别</button>" in page and ">不予受理</button>" in page
    assert "办结说明" not in page  # a new ticket is accepted before it can be resolved


def test_accepting_records_an_event_and_tells_the_resident(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    response = post(client, f"/tickets/{seeded.xingfu}/accept", {})
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"/tickets/{seeded.xingfu}").text
    assert "已受理" in page and "受理通知" in page
    with db.session() as s:
        assert (
            s.scalars(select(Ticket.status).where(Ticket.code == seeded.xingfu)).one()
            is Status.ACCEPTED
        )


def test_reclassifying_is_recorded_as_label_feedback(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    post(client, f"/tickets/{seeded.kangle}/reclassify", {"category": "property_mgmt"})
    assert "已记录为标注反馈" in client.get(f"/tickets/{seeded.kangle}").text
    with db.session() as s:
        feedback = s.scalars(select(LabelFeedback)).one()
        assert feedback.corrected["category"] == "property_mgmt"
        assert feedback.predicted["category"] == "sanitation"


def test_resolving_queues_the_resident_s_notification(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    post(client, f"/tickets/{seeded.xingfu}/accept", {})
    post(client, f"/tickets/{seeded.xingfu}/resolve", {"note": "已更换门机板，电梯恢复运行"})
    page = client.get(f"/tickets/{seeded.xingfu}").text
    assert "办结通知（请居民评价）" in page and "待发送" in page
    with db.session() as s:
        kinds = s.scalars(
            select(OutboxItem.kind)
            .join(Ticket)
            .where(Ticket.code == seeded.xingfu, OutboxItem.chat_id == 777001)
        ).all()
        assert kinds == ["accepted", "resolved"]


@pytest.mark.parametrize(
    ("action", "data", "check"),
    [
        ("mode", {"mode": "tracked"}, lambda t: t.handling_mode is HandlingMode.TRACKED),
        (
            "assign",
            {"unit": "YX-SG-XF-02"},
            lambda t: t.status is Status.ASSIGNED and t.unit.code == "YX-SG-XF-02",
        ),
        ("urgent", {"urgent": "true"}, lambda t: t.urgent),
        ("note", {"text": "已电话联系物业"}, lambda t: t.events[-1].kind == "note"),
        (
            "reject",
            {"reason": "重复反映", "not_demand": "true"},
            lambda t: t.status is Status.REJECTED,
        ),
        ("merge", {"into": "__kangle__"}, lambda t: t.status is Status.MERGED),
    ],
)
def test_each_action_changes_the_ticket_through_the_services(
    client: TestClient,
    db: Database,
    seeded: Seeded,
    action: str,
    data: dict[str, str],
    check,  # type: ignore[no-untyped-def]
) -> None:
    data = {k: (seeded.kangle if v == "__kangle__" else v) for k, v in data.items()}
    sign_in(client, "xingfu")
    post(client, f"/tickets/{seeded.xingfu}/{action}", data)
    assert 'class="flash ok"' in client.get(f"/tickets/{seeded.xingfu}").text
    with db.session() as s:
        assert check(s.scalars(select(Ticket).where(Ticket.code == seeded.xingfu)).one())


def test_reopening_a_resolved_ticket_needs_a_reason(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.daling}/accept", {})
    post(client, f"/tickets/{seeded.daling}/resolve", {"note": "已修复"})
    post(client, f"/tickets/{seeded.daling}/reopen", {"reason": ""})
    assert "重新打开原因不能为空" in client.get(f"/tickets/{seeded.daling}").text
    post(client, f"/tickets/{seeded.daling}/reopen", {"reason": "居民说又唔着"})
    with db.session() as s:
        assert (
            s.scalars(select(Ticket.status).where(Ticket.code == seeded.daling)).one()
            is Status.REOPENED
        )


def test_an_illegal_transition_is_explained_and_changes_nothing(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.cuihu}/close", {})
    page = client.get(f"/tickets/{seeded.cuihu}").text
    assert "当前状态为「待受理」，不能执行「关闭」" in page


def test_a_case_page_lists_its_tickets(client: TestClient, seeded: Seeded, db: Database) -> None:
    with db.session() as s:
        case_code = s.scalars(select(Ticket).where(Ticket.code == seeded.xingfu)).one().case.code  # type: ignore[union-attr]
    page = sign_in(client, "xingfu").get(f"/cases/{case_code}").text
    assert seeded.xingfu in page and "反映次数" in page


def test_the_poster_carries_a_qr_code_of_the_signed_public_link(
    client: TestClient, seeded: Seeded
) -> None:
    page = sign_in(client, "xingfu").get(f"/tickets/{seeded.xingfu}/poster").text
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert re.search(rf"http://testserver/p/{seeded.xingfu}\?k=[A-Za-z0-9_-]{{16}}", page)


def test_an_advancing_clock_makes_open_tickets_overdue(
    client: TestClient, seeded: Seeded, clock: Clock
) -> None:
    clock.advance(days=30)
    page = sign_in(client, "admin").get("/tickets?overdue=1").text
    assert len(codes_on(page)) == 5
    assert 'class="tag overdue"' in page


def test_staff_correct_a_place_and_it_is_routed_and_becomes_a_training_example(
    client: TestClient, seeded: Seeded, db: Database
) -> None:
    """改地点: the corrected place moves the ticket to the right area, is in the timeline, and is a
    place span in the label feedback (what the NLU learns from)."""
    sign_in(client, "admin")
    page = client.get(f"/tickets/{seeded.cuihu}").text
    assert "改地点" in page
    response = post(client, f"/tickets/{seeded.cuihu}/place", {"place": "湖景楼"})
    assert response.status_code == 303
    with db.session() as session:
        ticket = services.get_ticket(session, seeded.cuihu)
        assert ticket.location_text == "湖景楼"
        assert ticket.area is not None and ticket.area.code == "YX-SG-CH-02"
        assert [e.data["to"] for e in ticket.events if e.kind == "place_corrected"] == ["湖景楼"]
        examples = learning.correction_examples(session)
    # 湖景楼 is not in the message: the example keeps the label and has no span to learn from.
    assert [(ex.intent, ex.locations) for ex in examples] == [("demand_noise", ())]
    post(client, f"/tickets/{seeded.cuihu}/place", {"place": "翠湖花园广场"})
    with db.session() as session:
        (example,) = learning.correction_examples(session)
    start, end = example.locations[0]
    assert example.text[start:end] == "翠湖花园广场"
    assert "更正地点" in client.get(f"/tickets/{seeded.cuihu}").text
    # Empty and over-long places are refused with the reason, nothing changed.
    post(client, f"/tickets/{seeded.cuihu}/place", {"place": " "})
    post(client, f"/tickets/{seeded.cuihu}/place", {"place": "长" * 500})
    with db.session() as session:
        assert services.get_ticket(session, seeded.cuihu).location_text == "翠湖花园广场"
