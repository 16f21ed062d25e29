"""Whatever arrives — arbitrary Unicode, any size, JSON nested deep — the console and Open311 answer with
a clear 4xx or do the work: never a 500, never an unhandled exception, and what was accepted is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.console.conftest import Seeded, csrf, sign_in
from tickets import auth
from tickets.db import Database
from tickets.models import Ticket

ANY_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def api_key(db: Database) -> str:
    with db.unit_of_work() as uow:
        _, plain = auth.create_api_key(
            uow.session, name=f"k{uow.session.scalar(select(func.random()))}"
        )
        uow.commit()
    return plain


def tickets(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count(Ticket.id))) or 0)


@SETTINGS
@given(
    fields=st.dictionaries(
        st.sampled_from(["description", "address_string", "service_code", "media_url", "lat", "x"]),
        JSON,
        max_size=5,
    )
)
def test_open311_never_answers_500_to_a_json_body(
    client: TestClient, db: Database, fields: dict[str, Any]
) -> None:
    before = tickets(db)
    response = client.post(
        "/open311/v2/requests.json",
        content=json.dumps({**fields, "api_key": api_key(db)}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (201, 400, 413), response.text
    assert tickets(db) == before + (response.status_code == 201)
    body = response.json()
    assert (
        isinstance(body, list) and body and ("code" in body[0] or "service_request_id" in body[0])
    )


@SETTINGS
@given(description=ANY_TEXT, address=ANY_TEXT)
def test_open311_never_answers_500_to_a_form(
    client: TestClient, db: Database, description: str, address: str
) -> None:
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": api_key(db),
            "service_code": "other",
            "description": as_sent(description),
            "address_string": as_sent(address),
        },
    )
    assert response.status_code in (201, 400), response.text


def test_json_nested_deeper_than_any_parser_goes_is_a_400(client: TestClient, db: Database) -> None:
    for depth in (1_000, 100_000):
        response = client.post(
            "/open311/v2/requests.json",
            content=b"[" * depth + b"]" * depth,
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (400, 413)


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    """Signed in once for all the examples hypothesis tries."""
    return sign_in(client, "admin")


@SETTINGS
@given(note=ANY_TEXT)
def test_staff_forms_take_any_text_or_explain(admin: TestClient, seeded: Seeded, note: str) -> None:
    token = csrf(admin, f"/tickets/{seeded.xingfu}")
    response = admin.post(
        f"/tickets/{seeded.xingfu}/note",
        data={"text": as_sent(note), "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code in (303, 400), response.text[:300]


def test_bytes_that_are_no_utf8_in_a_form_are_a_clear_answer(
    client: TestClient, db: Database
) -> None:
    body = f"api_key={api_key(db)}&service_code=other&description=%ED%A0%80%FF%00%E8%B7%AF%E7%81%AF"
    response = client.post(
        "/open311/v2/requests.json",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code in (201, 400)


def as_sent(text: str) -> str:
    """What a form can carry: a lone surrogate cannot be encoded, a browser sends U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
