"""公开进度: a public page per ticket or case behind a signed link, without any personal data."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from console import qr
from tests.console.conftest import Seeded, post, sign_in
from tickets.db import Database
from tickets.models import Ticket


def public_link(client: TestClient, code: str) -> str:
    page = client.get(f"/tickets/{code}").text
    match = re.search(r'href="http://testserver(/p/[^"]+)"', page)
    assert match
    return match.group(1)


def test_the_public_page_shows_progress_without_personal_data(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.with_pii}/accept", {})
    post(client, f"/tickets/{seeded.with_pii}/note", {"text": "已约陈姨明早上门"})
    link = public_link(client, seeded.with_pii)
    client.cookies.clear()
    response = client.get(link)
    assert response.status_code == 200
    page = response.text
    assert "已受理" in page and "邻里纠纷" in page and "幸福花园5栋" in page and "幸福社区" in page
    assert "138****5678" in page and "13812345678" not in page
    assert "陈姨" not in page and "admin" not in page  # no reporter, no staff, no notes
    assert "<svg" in page  # its own QR code
    assert "set-cookie" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_case_has_a_public_page_too(client: TestClient, db: Database, seeded: Seeded) -> None:
    with db.session() as s:
        case_code = s.scalars(select(Ticket).where(Ticket.code == seeded.kangle)).one().case.code  # type: ignore[union-attr]
    page = sign_in(client, "xingfu").get(f"/cases/{case_code}").text
    link = re.search(r'href="http://testserver(/p/CS-[^"]+)"', page)
    assert link
    client.cookies.clear()
    public = client.get(link.group(1)).text
    assert "类案编号" in public and "居民反映" in public and "环境卫生" in public


def test_codes_cannot_be_walked_without_the_signature(client: TestClient, seeded: Seeded) -> None:
    for path in (
        f"/p/{seeded.xingfu}",
        f"/p/{seeded.xingfu}?k=AAAAAAAAAAAAAAAA",
        f"/p/{seeded.kangle}?k=",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "幸福花园" not in response.text


def test_the_qr_code_carries_the_canonical_link_whatever_was_appended(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    link = public_link(client, seeded.with_pii)
    client.cookies.clear()
    page = client.get(link + "&utm=" + "x" * 3_000).text
    assert qr.svg(f"http://testserver{link}", scale=4) in page
