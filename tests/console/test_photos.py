"""Photos on the console: thumbnails on the ticket page for staff in scope (no EXIF), the public
progress page and Open311 ``media_url`` only after staff approve (an audited action), and photos
uploaded with a project update shown on the public project page and board."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.console.conftest import Seeded, csrf, post, sign_in
from tests.support.images import exif_of, gps_of, phone_jpeg, png, size_of
from tickets import demo, photos
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Photo, Project, ProjectUpdate, Ticket, TicketEvent
from tickets.usecases import photos as photo_cases

API = "/open311/v2"


def _photo_on(db: Database, domain: Domain, code: str, data: bytes | None = None) -> Photo:
    """A photo the resident of ``code`` sent, fetched and stored as the bot does."""
    with db.unit_of_work() as uow:
        ticket = uow.session.scalars(select(Ticket).where(Ticket.code == code)).one()
        photos.record_telegram(
            uow.session,
            ticket=ticket,
            file_id="AgACfile",
            sent_by_id=None,
            chat_id=None,
            now=domain.clock(),
        )
        [job] = photos.claim_fetches(uow.session, owner="bot", now=domain.clock())
        photo_cases.fetched(
            uow.session, domain, photo_id=job.photo_id, owner="bot", raw=data or phone_jpeg()
        )
        uow.commit()
    with db.session() as s:
        photo = s.get(Photo, job.photo_id)
        assert photo is not None and photo.status == "stored"
        s.expunge(photo)
        return photo


def test_staff_in_scope_see_the_photo_without_gps_and_others_do_not(
    make_client: Any, db: Database, domain: Domain, seeded: Seeded
) -> None:
    photo = _photo_on(db, domain, seeded.xingfu)
    thumb = f"/tickets/{seeded.xingfu}/photos/{photo.id}/thumb"
    full = f"/tickets/{seeded.xingfu}/photos/{photo.id}"
    xingfu = sign_in(make_client(), "xingfu")
    page = xingfu.get(f"/tickets/{seeded.xingfu}").text
    assert thumb in page and "审核通过并公开" in page
    small = xingfu.get(thumb)
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    assert gps_of(small.content) == {} and max(size_of(small.content)) <= photos.THUMB_SIDE
    large = xingfu.get(full)
    assert exif_of(large.content) == {} and size_of(large.content) == (120, 160)
    # Another community's staff, and nobody signed in, get nothing.
    cuihu = sign_in(make_client(), "cuihu")
    assert cuihu.get(thumb).status_code == 404 and cuihu.get(full).status_code == 404
    anonymous = make_client().get(full, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    # A photo of another ticket is not reachable through this one's address.
    assert xingfu.get(f"/tickets/{seeded.kangle}/photos/{photo.id}").status_code == 404


def test_the_public_sees_a_photo_only_after_staff_approve_it_and_open311_returns_it(
    client: TestClient, db: Database, domain: Domain, seeded: Seeded, key: str
) -> None:
    photo = _photo_on(db, domain, seeded.xingfu)
    public_file = f"/p/photos/{photo.public_token}.jpg"
    sign_in(client, "xingfu")
    ticket_page = client.get(f"/tickets/{seeded.xingfu}").text
    public_url = re.search(r'href="(http://testserver/p/[^"]+)"', ticket_page)
    assert public_url is not None
    public_page = public_url.group(1).replace("&amp;", "&")

    def open311() -> Any:
        return client.get(f"{API}/requests/{seeded.xingfu}.json", params={"api_key": key}).json()

    assert "/p/photos/" not in client.get(public_page).text
    assert client.get(public_file).status_code == 404
    assert open311()[0]["media_url"] is None

    page = f"/tickets/{seeded.xingfu}"
    done = post(client, f"{page}/photos/{photo.id}/public", {"public": "true"}, page=page)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert f"/p/photos/{photo.public_token}/thumb.jpg" in client.get(public_page).text
    served = client.get(public_file)
    assert served.status_code == 200 and gps_of(served.content) == {}
    assert exif_of(served.content) == {}
    assert open311()[0]["media_url"] == f"http://127.0.0.1:8000{public_file}"
    assert "已公开（xingfu" in client.get(page).text

    post(client, f"{page}/photos/{photo.id}/public", {"public": "false"}, page=page)
    assert "/p/photos/" not in client.get(public_page).text
    assert client.get(public_file).status_code == 404
    assert open311()[0]["media_url"] is None
    with db.session() as s:
        audit = [
            (e.kind, e.actor_label, e.data["photo"])
            for e in s.scalars(select(TicketEvent).where(TicketEvent.kind.like("photo_%")))
        ]
    assert audit == [("photo_public", "xingfu", photo.id), ("photo_withdrawn", "xingfu", photo.id)]


def test_staff_out_of_scope_cannot_publish_a_photo(
    make_client: Any, db: Database, domain: Domain, seeded: Seeded
) -> None:
    photo = _photo_on(db, domain, seeded.xingfu)
    cuihu = sign_in(make_client(), "cuihu")
    refused = cuihu.post(
        f"/tickets/{seeded.xingfu}/photos/{photo.id}/public",
        data={"public": "true", "csrf_token": csrf(cuihu, "/tickets")},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    with db.session() as s:
        kept = s.get(Photo, photo.id)
        assert kept is not None and not kept.approved_public
        assert s.scalars(select(TicketEvent).where(TicketEvent.kind.like("photo_%"))).all() == []


@pytest.fixture
def key(db: Database) -> str:
    from tickets import auth

    with db.unit_of_work() as uow:
        _, plain = auth.create_api_key(uow.session, name="12345热线对接")
        uow.commit()
    return plain


@pytest.fixture
def implementing(db: Database, domain: Domain, staff: dict[str, int], client: TestClient) -> str:
    """A demo project taken to 实施 from the console; its code."""
    with db.unit_of_work() as uow:
        demo.load(uow.session, domain)
        uow.commit()
    with db.session() as s:
        code = next(p.code for p in s.scalars(select(Project)) if p.status.value == "voting")
    sign_in(client, "xingfu")
    page = f"/projects/{code}"
    for action in ("approve", "start"):
        assert post(client, f"{page}/{action}", {}, page=page).status_code == 303  # type: ignore[attr-defined]
    return code


def _update(client: TestClient, code: str, files: list[tuple[str, bytes, str]]) -> Any:
    page = f"/projects/{code}"
    return client.post(
        f"{page}/update",
        data={"text": "器材已安装完毕", "milestone": "安装", "csrf_token": csrf(client, page)},
        files=[("uploads", f) for f in files],
        follow_redirects=False,
    )


def test_photos_uploaded_with_a_project_update_show_on_the_public_project_page_and_board(
    client: TestClient, db: Database, implementing: str
) -> None:
    response = _update(
        client,
        implementing,
        [("site.jpg", phone_jpeg(), "image/jpeg"), ("plan.png", png(), "image/png")],
    )
    assert response.status_code == 303
    staff_page = client.get(f"/projects/{implementing}").text
    assert "附照片 2 张" in staff_page
    with db.session() as s:
        rows = s.scalars(select(Photo).order_by(Photo.id)).all()
        assert [(r.source, r.status, r.approved_public) for r in rows] == [
            ("console", "stored", True),
            ("console", "stored", True),
        ]
        tokens = [r.public_token for r in rows]
        assert all(r.project_update_id is not None for r in rows)
    assert all(f"/p/photos/{t}/thumb.jpg" in staff_page for t in tokens)
    anonymous = TestClient(client.app)
    project_page = anonymous.get(f"/p/projects/{implementing}").text
    assert all(f"/p/photos/{t}/thumb.jpg" in project_page for t in tokens)
    served = anonymous.get(f"/p/photos/{tokens[0]}.jpg")
    assert served.status_code == 200 and gps_of(served.content) == {}
    assert exif_of(served.content) == {}
    board = anonymous.get("/p/board/YX-SG-XF").text
    assert f"/p/photos/{tokens[1]}/thumb.jpg" in board  # the latest one


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (("notes.jpg", b"<html>not a photo</html>", "image/jpeg"), "不是可以识别的图片"),
        (("huge.jpg", b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg"), "照片太大"),
    ],
    ids=["not-an-image", "over-the-limit"],
)
def test_an_upload_that_cannot_be_kept_records_nothing_and_says_why(
    client: TestClient,
    db: Database,
    implementing: str,
    upload: tuple[str, bytes, str],
    reason: str,
) -> None:
    with db.session() as s:
        updates_before = len(s.scalars(select(ProjectUpdate)).all())
    assert _update(client, implementing, [upload]).status_code == 303
    assert reason in client.get(f"/projects/{implementing}").text
    with db.session() as s:
        assert s.scalars(select(Photo)).all() == []
        assert len(s.scalars(select(ProjectUpdate)).all()) == updates_before
