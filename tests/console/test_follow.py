"""督办台 and the follow-through actions on the ticket page: 退单 with a reason, 改派, 协办 (helpers may
only note and finish their part), 预约上门, 电话回访, the ticket's supervision timeline; every action
audit-logged, scoped and CSRF-checked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.console.conftest import Seeded, csrf, post, sign_in
from tickets import services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Ticket, TicketEvent, TicketHelper
from tickets.statuses import EventKind, Status


def section(page: str, name: str) -> str:
    """The HTML of one 督办台 list."""
    match = re.search(rf'data-testid="follow-{name}">(.*?)</section>', page, re.S)
    assert match, f"no list {name}"
    return match.group(1)


def codes_in(html: str) -> list[str]:
    return re.findall(r'<a href="/tickets/(MW-[0-9-]+)">', html)


def ticket(db: Database, code: str) -> Ticket:
    with db.session() as s:
        found = s.scalar(select(Ticket).where(Ticket.code == code))
        assert found is not None
        s.expunge(found)
        return found


def events(db: Database, code: str, kind: EventKind) -> list[TicketEvent]:
    with db.session() as s:
        rows = list(
            s.scalars(
                select(TicketEvent)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(Ticket.code == code, TicketEvent.kind == kind.value)
                .order_by(TicketEvent.id)
            )
        )
        for row in rows:
            s.expunge(row)
        return rows


def act(db: Database, domain: Domain, code: str, who: int, change) -> None:  # type: ignore[no-untyped-def]
    """Do ``change(session, ticket, actor)`` through the services as staff member ``who``."""
    with db.unit_of_work() as uow:
        s = uow.session
        t = s.scalar(select(Ticket).where(Ticket.code == code))
        change(s, t, s.get(Person, who))
        uow.commit()


def test_the_board_lists_what_a_unit_must_follow_up(
    client: TestClient,
    db: Database,
    domain: Domain,
    seeded: Seeded,
    staff: dict[str, int],
    clock: Clock,
) -> None:
    admin = staff["admin"]
    tree_get = lambda s, code: domain.units(s).get(code)  # noqa: E731
    # 幸福社区's ticket due at 09:00 local on the 26th; its PII ticket made due later that day.
    clock.advance(days=2, hours=23)  # 2026-11-26 08:00 local
    with db.unit_of_work() as uow:
        t = uow.session.scalar(select(Ticket).where(Ticket.code == seeded.with_pii))
        assert t is not None
        t.due_at = clock() + timedelta(hours=5)
        uow.commit()
    clock.advance(hours=2)  # 10:00 local: the elevator ticket is an hour overdue
    # 翠湖's noise ticket (the street's) gets 幸福社区 as a helper; the street escalates its own.
    act(
        db,
        domain,
        seeded.cuihu,
        admin,
        lambda s, t, a: services.add_helper(
            session=s, domain=domain, ticket=t, unit=tree_get(s, "YX-SG-XF"), actor=a
        ),
    )
    act(
        db,
        domain,
        seeded.xingfu,
        admin,
        lambda s, t, a: services.escalate(
            session=s,
            domain=domain,
            ticket=t,
            level=1,
            to=tree_get(s, "YX-SG"),
            reason="overdue",
        ),
    )
    # The PII ticket: dispatched to 幸福社区, which books a visit for tomorrow.
    act(
        db,
        domain,
        seeded.with_pii,
        admin,
        lambda s, t, a: services.assign(
            session=s, domain=domain, ticket=t, unit=tree_get(s, "YX-SG-XF"), actor=a
        ),
    )
    sign_in(client, "xingfu")
    r = post(
        client,
        f"/tickets/{seeded.with_pii}/visit",
        {"when": "2026-11-27T15:00"},
        page=f"/tickets/{seeded.with_pii}",
    )
    assert r.status_code == 303  # type: ignore[attr-defined]

    page = client.get("/follow").text
    assert "督办台" in page and "幸福社区" in page
    assert codes_in(section(page, "due_today")) == [seeded.with_pii]
    assert codes_in(section(page, "overdue")) == [seeded.xingfu]
    assert codes_in(section(page, "escalated")) == [seeded.xingfu]
    assert "一级督办 → 石岗街道" in section(page, "escalated")
    assert "已超过办理时限" in section(page, "escalated")
    assert codes_in(section(page, "helping")) == [seeded.cuihu]
    assert "协办中" in section(page, "helping")
    assert codes_in(section(page, "visits")) == [seeded.with_pii]
    assert "2026-11-27 15:00" in section(page, "visits")
    assert codes_in(section(page, "sent_back")) == []

    # 幸福社区 sends the PII ticket back; it lands on the street's board with the reason.
    r = post(
        client,
        f"/tickets/{seeded.with_pii}/send_back",
        {"reason": "地址不在本辖区", "reason_detail": "漏水的是翠湖花园5栋"},
        page=f"/tickets/{seeded.with_pii}",
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert codes_in(section(client.get("/follow").text, "sent_back")) == []
    street = sign_in(client, "street")
    board = street.get("/follow?unit=YX-SG").text
    assert codes_in(section(board, "sent_back")) == [seeded.with_pii]
    assert "幸福社区退回：地址不在本辖区：漏水的是翠湖花园5栋" in section(board, "sent_back")
    # The street sees its communities' tickets too: the overdue elevator ticket is there.
    assert seeded.xingfu in codes_in(section(board, "overdue"))


def test_the_unit_chooser_is_limited_to_the_viewer_s_units(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    page = client.get("/follow").text
    options = re.findall(r'<option value="([A-Z0-9-]+)"', page)
    assert options[0] == "YX-SG-XF"
    assert all(o.startswith("YX-SG-XF") for o in options)
    assert client.get("/follow?unit=YX-SG-CH").status_code == 404
    assert client.get("/follow?unit=YX-SG").status_code == 404
    assert client.get("/follow?unit=YX-SG-XF-01").status_code == 200
    street = sign_in(client, "street").get("/follow").text
    assert 'value="YX-SG-CH"' in street and 'value="YX-NL"' not in street


def test_the_board_needs_a_sign_in(client: TestClient) -> None:
    r = client.get("/follow", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_send_back_needs_a_reason_and_is_audit_logged(
    client: TestClient, db: Database, domain: Domain, seeded: Seeded, staff: dict[str, int]
) -> None:
    act(
        db,
        domain,
        seeded.xingfu,
        staff["street"],
        lambda s, t, a: services.assign(
            session=s, domain=domain, ticket=t, unit=domain.units(s).get("YX-SG-XF"), actor=a
        ),
    )
    sign_in(client, "xingfu")
    page = client.get(f"/tickets/{seeded.xingfu}").text
    assert 'action="/tickets/' + seeded.xingfu + '/send_back"' in page
    assert "不属于本单位职责" in page and "地址不在本辖区" in page
    assert "派单单位" in page and "石岗街道" in page

    # No reason at all: refused, nothing changes.
    post(client, f"/tickets/{seeded.xingfu}/send_back", {"reason": "", "reason_detail": " "})
    assert "退单原因" in client.get("/tickets").text
    assert ticket(db, seeded.xingfu).sent_back_count == 0

    r = post(
        client,
        f"/tickets/{seeded.xingfu}/send_back",
        {"reason": "不属于本单位职责"},
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    t = ticket(db, seeded.xingfu)
    assert (t.sent_back_count, t.unit_id is not None) == (1, True)
    (event,) = events(db, seeded.xingfu, EventKind.SEND_BACK)
    assert event.data["reason"] == "不属于本单位职责"
    assert event.actor_id == staff["xingfu"]
    assert event.data["to"] == "YX-SG"

    # The street now offers 改派 (it was dispatched before) and shows the count.
    street = sign_in(client, "street").get(f"/tickets/{seeded.xingfu}").text
    assert ">改派</button>" in street and "退单次数" in street
    r = post(client, f"/tickets/{seeded.xingfu}/assign", {"unit": "YX-SG-CH"})
    (assigned,) = [e for e in events(db, seeded.xingfu, EventKind.ASSIGN) if e.data["redispatch"]]
    assert assigned.data["unit"] == "YX-SG-CH" and assigned.actor_id == staff["street"]
    assert ticket(db, seeded.xingfu).sent_back_at is None


def test_a_community_cannot_act_on_another_community_s_ticket(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "cuihu")
    for action, data in (
        ("send_back", {"reason": "不属于本单位职责"}),
        ("visit", {"when": "2026-11-25T10:00"}),
        ("help", {"units": "YX-SG-CH"}),
    ):
        r = post(client, f"/tickets/{seeded.xingfu}/{action}", data)
        assert r.status_code == 404  # type: ignore[attr-defined]
    t = ticket(db, seeded.xingfu)
    assert (t.sent_back_count, t.visit_at) == (0, None)
    with db.session() as s:
        assert s.scalars(select(TicketHelper)).all() == []


def test_actions_without_the_csrf_token_are_refused(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    r = client.post(
        f"/tickets/{seeded.xingfu}/visit",
        data={"when": "2026-11-25T10:00"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert ticket(db, seeded.xingfu).visit_at is None


def test_helpers_may_only_note_and_finish_their_part(
    client: TestClient, db: Database, seeded: Seeded, staff: dict[str, int]
) -> None:
    sign_in(client, "street")
    token = csrf(client, f"/tickets/{seeded.cuihu}")
    r = client.post(
        f"/tickets/{seeded.cuihu}/help",
        data={"units": ["YX-SG-XF", "YX-SG-CG"], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    added = events(db, seeded.cuihu, EventKind.HELPER_ADDED)
    assert sorted(e.data["unit"] for e in added) == ["YX-SG-CG", "YX-SG-XF"]
    assert {e.actor_id for e in added} == {staff["street"]}

    # 幸福社区 helps with 翠湖's ticket: it sees it, with only 备注 and 协办完成.
    sign_in(client, "xingfu")
    page = client.get(f"/tickets/{seeded.cuihu}").text
    assert "/helped" in page and "/note" in page
    for other in ("/accept", "/resolve", "/send_back", "/assign", "/reject", "/visit"):
        assert f'action="/tickets/{seeded.cuihu}{other}"' not in page
    assert "协办中" in page

    post(client, f"/tickets/{seeded.cuihu}/accept", {}, page=f"/tickets/{seeded.cuihu}")
    post(
        client,
        f"/tickets/{seeded.cuihu}/resolve",
        {"note": "已处理"},
        page=f"/tickets/{seeded.cuihu}",
    )
    assert ticket(db, seeded.cuihu).status is Status.NEW
    assert events(db, seeded.cuihu, EventKind.ACCEPT) == []

    post(
        client,
        f"/tickets/{seeded.cuihu}/helped",
        {"note": "已派人劝导广场舞队"},
        page=f"/tickets/{seeded.cuihu}",
    )
    (done,) = events(db, seeded.cuihu, EventKind.HELPER_DONE)
    assert (done.actor_id, done.data["note"]) == (staff["xingfu"], "已派人劝导广场舞队")
    page = client.get(f"/tickets/{seeded.cuihu}").text
    assert "已完成" in page and "已派人劝导广场舞队" in page
    # Twice is refused.
    post(client, f"/tickets/{seeded.cuihu}/helped", {}, page=f"/tickets/{seeded.cuihu}")
    assert len(events(db, seeded.cuihu, EventKind.HELPER_DONE)) == 1
    # 翠湖社区 is not a helper: it cannot mark anything done on 幸福社区's tickets.
    sign_in(client, "cuihu")
    assert client.get(f"/tickets/{seeded.xingfu}").status_code == 404


def test_a_visit_and_a_phone_callback_show_on_the_timeline(
    client: TestClient, db: Database, seeded: Seeded, staff: dict[str, int]
) -> None:
    sign_in(client, "xingfu")
    code = seeded.xingfu
    post(client, f"/tickets/{code}/accept", {}, page=f"/tickets/{code}")
    post(client, f"/tickets/{code}/visit", {"when": "2026-11-24T10:30"}, page=f"/tickets/{code}")
    t = ticket(db, code)
    assert t.visit_at is not None
    assert t.visit_at.isoformat() == "2026-11-24T02:30:00+00:00"
    (visit,) = events(db, code, EventKind.VISIT_SET)
    assert visit.actor_id == staff["xingfu"]
    page = client.get(f"/tickets/{code}").text
    timeline = page[page.index('data-testid="due-items"') :]
    timeline = timeline[: timeline.index("</table>")]
    assert "上门提醒" in timeline and "临期预警" in timeline and "待执行" in timeline
    assert "预约上门" in page and "2026-11-24 10:30" in page

    # A visit in the past is refused with a reason.
    post(client, f"/tickets/{code}/visit", {"when": "2026-11-01T10:00"}, page=f"/tickets/{code}")
    assert "上门时间需要晚于现在" in client.get("/tickets").text

    post(client, f"/tickets/{code}/resolve", {"note": "电梯已修复"}, page=f"/tickets/{code}")
    page = client.get(f"/tickets/{code}").text
    assert "/callback" in page
    timeline = page[page.index('data-testid="due-items"') :]
    timeline = timeline[: timeline.index("</table>")]
    assert "已取消" in timeline and "回访" in timeline  # warnings cancelled, 回访 planned
    post(
        client,
        f"/tickets/{code}/callback",
        {"satisfaction": "satisfied", "note": "居民说电梯正常了"},
        page=f"/tickets/{code}",
    )
    t = ticket(db, code)
    assert t.callback_at is not None and t.status is Status.CLOSED
    (call,) = events(db, code, EventKind.CALLBACK)
    assert call.data == {"by": "phone", "satisfaction": "satisfied", "note": "居民说电梯正常了"}
    assert call.actor_id == staff["xingfu"]


@pytest.mark.parametrize("when", ["明天下午3点", "2026-13-40T10:00", ""])
def test_a_bad_visit_time_is_explained(
    client: TestClient, db: Database, seeded: Seeded, when: str
) -> None:
    sign_in(client, "xingfu")
    code = seeded.xingfu
    post(client, f"/tickets/{code}/visit", {"when": when}, page=f"/tickets/{code}")
    page = client.get(f"/tickets/{code}").text
    if when == "明天下午3点":  # the Telegram card's words work here too
        assert ticket(db, code).visit_at is not None
    else:
        assert 'class="flash error"' in page
        assert ticket(db, code).visit_at is None
