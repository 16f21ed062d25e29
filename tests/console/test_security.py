"""Security: scopes by role (pages, direct URLs, exports, API), CSRF, escaping, injection, input sizes, PII."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.console.conftest import Seeded, csrf, post, sign_in
from tests.tickets.factories import file
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Ticket
from tickets.statuses import Status

#: Which seeded tickets each account may see.
VISIBLE = {
    "admin": {"xingfu", "kangle", "cuihu", "daling", "with_pii"},
    "street": {"xingfu", "kangle", "cuihu", "with_pii"},
    "xingfu": {"xingfu", "kangle", "with_pii"},
    "cuihu": {"cuihu"},
    "grid1": {"xingfu", "with_pii"},
}
ALL = {"xingfu", "kangle", "cuihu", "daling", "with_pii"}


def codes(text: str) -> set[str]:
    return set(re.findall(r"MW-\d{8}-\d{4}", text))


def names(seeded: Seeded, which: set[str]) -> set[str]:
    return {getattr(seeded, n) for n in which}


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_each_role_lists_and_exports_only_its_own_units_tickets(
    client: TestClient, seeded: Seeded, username: str
) -> None:
    sign_in(client, username)
    mine = names(seeded, VISIBLE[username])
    assert codes(client.get("/tickets").text) == mine
    assert codes(client.get("/export/tickets.csv").text) == mine
    api = client.get("/open311/v2/requests.json").json()
    assert {r["service_request_id"] for r in api} == mine


@pytest.mark.parametrize("username", sorted(VISIBLE))
def test_other_units_tickets_are_not_found_by_direct_url(
    client: TestClient, seeded: Seeded, username: str
) -> None:
    """Not 403: the answer for someone else's ticket is the same as for a code that does not exist."""
    sign_in(client, username)
    nowhere = "MW-20991231-9999"
    for name in sorted(ALL - VISIBLE[username]):
        code = getattr(seeded, name)
        for path in ("/tickets/{}", "/tickets/{}/poster", "/open311/v2/requests/{}.json"):
            hidden, missing = client.get(path.format(code)), client.get(path.format(nowhere))
            assert hidden.status_code == missing.status_code == 404, path
            assert hidden.text.replace(code, "?") == missing.text.replace(nowhere, "?")


@pytest.mark.parametrize("username", ["cuihu", "grid1"])
@pytest.mark.parametrize("action", ["accept", "reject", "reclassify", "note", "assign", "merge"])
def test_other_units_tickets_cannot_be_changed(
    client: TestClient, db: Database, seeded: Seeded, username: str, action: str
) -> None:
    sign_in(client, username)
    target = seeded.kangle  # 幸福社区 grid 2: neither 翠湖 nor grid 1
    data = {"reason": "x", "category": "other", "text": "x", "unit": "YX", "into": seeded.kangle}
    response = post(client, f"/tickets/{target}/{action}", data)
    assert response.status_code == 404  # type: ignore[attr-defined]
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == target)).one()
        assert ticket.status is Status.NEW and ticket.category == "sanitation"
        assert [e.kind for e in ticket.events] == ["filed"]


def test_a_ticket_cannot_be_merged_into_one_the_actor_cannot_see(
    client: TestClient, db: Database, seeded: Seeded
) -> None:
    sign_in(client, "xingfu")
    response = post(client, f"/tickets/{seeded.xingfu}/merge", {"into": seeded.cuihu})
    assert response.status_code == 404  # type: ignore[attr-defined]
    with db.session() as s:
        assert (
            s.scalars(select(Ticket.status).where(Ticket.code == seeded.xingfu)).one() is Status.NEW
        )


def test_the_api_without_a_key_or_a_session_refuses(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/open311/v2/requests.json")
    assert response.status_code == 401
    assert response.json() == [
        {"code": 401, "description": "api_key required (or sign in to the console)"}
    ]


@pytest.mark.parametrize(
    "path",
    ["/tickets/{code}/accept", "/tickets/{code}/note", "/review/tickets/{code}", "/logout"],
)
def test_posts_without_the_csrf_token_are_rejected(
    client: TestClient, db: Database, seeded: Seeded, path: str
) -> None:
    sign_in(client, "admin")
    url = path.format(code=seeded.xingfu)
    for data in ({}, {"csrf_token": "forged-token-forged-token-forged-token"}):
        response = client.post(
            url, data={**data, "text": "x", "decision": "confirm"}, follow_redirects=False
        )
        assert response.status_code == 403
        assert "CSRF" in response.text
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == seeded.xingfu)).one()
        assert [e.kind for e in ticket.events] == ["filed"]


def test_a_token_from_another_session_does_not_work(
    make_client,
    seeded: Seeded,  # type: ignore[no-untyped-def]
) -> None:
    victim, attacker = sign_in(make_client(), "admin"), sign_in(make_client(), "grid1")
    stolen_shape = csrf(attacker, "/tickets")
    response = victim.post(
        f"/tickets/{seeded.xingfu}/accept",
        data={"csrf_token": stolen_shape},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_posts_from_another_site_are_rejected_even_with_a_token(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    token = csrf(client, "/tickets")
    response = client.post(
        f"/tickets/{seeded.xingfu}/accept",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403


HOSTILE = '幸福花园<script>alert("x")</script><img src=x onerror=alert(1)>电梯坏咗'


def test_ticket_text_with_html_is_shown_as_text(
    client: TestClient, db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        code = file(uow.session, domain, HOSTILE, "elevator", locations=["幸福花园"]).code
        uow.commit()
    sign_in(client, "admin")
    for path in ("/tickets", f"/tickets/{code}", "/review", "/tickets?q=电梯"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
    detail = client.get(f"/tickets/{code}").text
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        in detail
    )
    assert "script-src 'self'" in client.get(f"/tickets/{code}").headers["content-security-policy"]


@pytest.mark.parametrize(
    "query",
    [
        "' OR 1=1 --",
        "'; DROP TABLE tickets; --",
        '" OR "1"="1',
        "电梯%' UNION SELECT password_hash FROM people --",
        "*",
        "NEAR(电梯",
    ],
)
def test_sql_looking_searches_are_harmless(
    client: TestClient, db: Database, seeded: Seeded, query: str
) -> None:
    response = sign_in(client, "admin").get("/tickets", params={"q": query})
    assert response.status_code == 200
    assert codes(response.text) <= {seeded.xingfu}  # at most the ticket that really says 电梯
    assert "argon2" not in response.text
    with db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 5


def test_an_oversized_body_is_refused_with_a_clear_error(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    token = csrf(client, "/tickets")
    response = client.post(
        f"/tickets/{seeded.xingfu}/note",
        data={"csrf_token": token, "text": "长" * 200_000},
        follow_redirects=False,
    )
    assert response.status_code == 413
    assert "提交的内容过大（上限 256 KB）" in response.text


def test_an_oversized_field_is_explained(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.xingfu}/note", {"text": "长" * 3000})
    assert "备注过长（3000 字），最多 2000 字" in client.get(f"/tickets/{seeded.xingfu}").text


def test_an_oversized_search_is_explained(client: TestClient, seeded: Seeded) -> None:
    response = sign_in(client, "admin").get("/tickets", params={"q": "电梯" * 80})
    assert response.status_code == 400
    assert "搜索内容过长（160 字），最多 100 字" in response.text


@pytest.mark.parametrize(
    ("username", "sees"), [("xingfu", True), ("admin", True), ("grid1", False), ("street", False)]
)
def test_phone_numbers_are_shown_only_to_roles_that_call_residents_back(
    client: TestClient, seeded: Seeded, username: str, sees: bool
) -> None:
    sign_in(client, username)
    for path in ("/tickets", f"/tickets/{seeded.with_pii}", "/export/tickets.csv"):
        text = client.get(path).text
        assert ("13812345678" in text) is sees, path
        assert sees or "138****5678" in text, path


def test_every_page_carries_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
