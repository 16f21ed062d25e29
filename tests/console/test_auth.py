"""Signing in: argon2 passwords, signed session cookies, CSRF on the form, lock-out, safe redirects."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.console.conftest import PASSWORD, csrf, sign_in


def test_pages_need_signing_in(client: TestClient) -> None:
    response = client.get("/tickets?tab=new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/tickets%3Ftab%3Dnew"


def test_staff_sign_in_and_see_the_list(client: TestClient) -> None:
    sign_in(client, "xingfu")
    page = client.get("/tickets")
    assert page.status_code == 200
    assert "xingfu（社区工作人员·幸福社区）" in page.text


def test_the_session_cookie_is_signed_http_only_and_same_site(client: TestClient) -> None:
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "minwei_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; HTTPS requests get Secure


def test_https_requests_get_a_secure_cookie(client: TestClient) -> None:
    page = client.get("https://testserver/login")
    assert "Secure" in page.headers["set-cookie"]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: TestClient,
) -> None:
    response = client.post(
        "/login",
        data={"username": "admin", "password": "wrong password!", "csrf_token": csrf(client)},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    unknown = client.post(
        "/login",
        data={"username": "nobody", "password": "wrong password!", "csrf_token": csrf(client)},
    )
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


def test_five_failures_lock_the_account(client: TestClient) -> None:
    for _ in range(5):
        client.post(
            "/login",
            data={"username": "street", "password": "not it at all", "csrf_token": csrf(client)},
        )
    locked = client.post(
        "/login", data={"username": "street", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert locked.status_code == 401
    unknown = client.post(
        "/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    # A locked account answers exactly as an unknown one: the answer does not say who exists.
    assert message(locked.text) == message(unknown.text)
    assert "用户名或密码错误" in message(locked.text)


def message(page: str) -> str:
    found = re.search(r'<div class="flash error"[^>]*>(.*?)</div>', page, re.S)
    assert found, page[:500]
    return found.group(1).strip()


def test_one_client_failing_again_and_again_must_wait_whatever_name_it_tries(
    client: TestClient,
) -> None:
    for n in range(10):
        client.post(
            "/login",
            data={"username": f"guess{n}", "password": "not it at all", "csrf_token": csrf(client)},
        )
    throttled = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf(client)}
    )
    assert throttled.status_code == 429
    assert "分钟后再试" in throttled.text


def test_signing_in_without_the_form_s_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403
    assert "CSRF" in response.text


def test_the_next_page_must_be_on_this_site(client: TestClient) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(
            "/login",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": csrf(client),
                "next": evil,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/tickets"
        client.cookies.clear()


def test_signing_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, "admin")
    token = csrf(client, "/tickets")
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/tickets", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_ignored(client: TestClient) -> None:
    sign_in(client, "grid1")
    value = client.cookies.get("minwei_session")
    assert value
    client.cookies.set("minwei_session", value[:-4] + "AAAA")
    assert client.get("/tickets", follow_redirects=False).status_code == 303
