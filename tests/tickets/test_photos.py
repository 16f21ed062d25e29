"""Photos kept by MinWei: cleaned of EXIF, refused when too large or not images, fetched from Telegram
through rows with a due time and a lease, stored once per ticket (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import STAFF_CHAT_ID, Clock
from tests.support.images import ORIENTATION, exif_of, gps_of, phone_jpeg, png, size_of
from tests.tickets.factories import file, person
from tickets import photos, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import OutboxItem, Person, Photo, Ticket, TicketEvent
from tickets.settings import Settings
from tickets.statuses import Role
from tickets.usecases import photos as photo_cases

LIMIT = 5 * 1024 * 1024


def test_a_phone_photo_loses_its_exif_and_gps_and_keeps_its_orientation() -> None:
    sent = phone_jpeg((160, 120), orientation=6)
    assert gps_of(sent) and exif_of(sent)[ORIENTATION] == 6

    kept = photos.clean_image(sent, max_bytes=LIMIT)

    assert exif_of(kept.data) == {}
    assert gps_of(kept.data) == {}
    assert exif_of(kept.thumb) == {}
    assert (kept.width, kept.height) == size_of(kept.data) == (120, 160)  # turned as shown
    with Image.open(io.BytesIO(kept.data)) as image:
        top, bottom = image.getpixel((60, 10)), image.getpixel((60, 150))
    assert top[0] > 150 and top[1] < 100  # the red half is on top after the turn
    assert bottom == pytest.approx((255, 255, 255), abs=8)
    assert kept.content_type == "image/jpeg"
    assert len(kept.sha256) == 64


def test_a_png_with_transparency_is_kept_as_a_jpeg() -> None:
    kept = photos.clean_image(png((40, 30)), max_bytes=LIMIT)
    assert size_of(kept.data) == (40, 30)
    assert kept.data[:3] == b"\xff\xd8\xff"


def test_a_file_over_the_limit_is_refused_with_a_chinese_reason() -> None:
    with pytest.raises(photos.PhotoTooLarge, match="照片太大") as refused:
        photos.clean_image(phone_jpeg(), max_bytes=500)
    assert "上限" in str(refused.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not a picture at all", b"\xff\xd8\xff\xe0" + b"\0" * 200, b"%PDF-1.4\n%%EOF"],
    ids=["empty", "text", "broken-jpeg", "pdf"],
)
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(photos.NotAnImage):
        photos.clean_image(data, max_bytes=LIMIT)


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")  # 400 megapixels in a few kB
    bomb = out.getvalue()
    assert len(bomb) < 200_000
    with pytest.raises(photos.NotAnImage, match="像素过多"):
        photos.clean_image(bomb, max_bytes=LIMIT)


def _ticket_with_photo(db: Database, domain: Domain, file_id: str = "AgACfile1") -> tuple[int, int]:
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=555001)
        ticket = file(
            s,
            domain,
            "幸福小区5栋门口路灯不亮",
            "road_facility",
            reporter=resident,
            attachments=[file_id],
        )
        uow.commit()
        return ticket.id, resident.id


def test_a_photo_on_a_filed_ticket_is_recorded_for_fetching_at_once(
    db: Database, domain: Domain
) -> None:
    ticket_id, resident_id = _ticket_with_photo(db, domain)
    with db.session() as s:
        row = s.scalar(select(Photo).where(Photo.ticket_id == ticket_id))
        assert row is not None
        assert (row.status, row.telegram_file_id, row.sent_by_id, row.chat_id) == (
            "pending",
            "AgACfile1",
            resident_id,
            555001,
        )
        assert row.data is None and not row.approved_public


def test_a_fetch_held_by_a_process_that_died_is_taken_over_after_its_lease(
    db: Database, domain: Domain, clock: Clock
) -> None:
    _ticket_with_photo(db, domain)
    with db.unit_of_work() as uow:
        [job] = photos.claim_fetches(uow.session, owner="bot-a", now=clock())
        uow.commit()
    assert job.attempts == 1 and not job.taken_over
    with db.unit_of_work() as uow:  # bot-a died holding it: nobody else may take it yet
        assert photos.claim_fetches(uow.session, owner="bot-b", now=clock()) == []
        uow.commit()
    later = clock.advance(minutes=3)
    with db.unit_of_work() as uow:
        [again] = photos.claim_fetches(uow.session, owner="bot-b", now=later)
        uow.commit()
    assert (again.photo_id, again.attempts, again.taken_over) == (job.photo_id, 2, True)
    with db.unit_of_work() as uow:  # bot-a wakes up late: the row is no longer its to store
        late = photo_cases.fetched(
            uow.session, domain, photo_id=job.photo_id, owner="bot-a", raw=phone_jpeg()
        )
        uow.commit()
    assert late.outcome == "lost"
    with db.unit_of_work() as uow:
        done = photo_cases.fetched(
            uow.session, domain, photo_id=job.photo_id, owner="bot-b", raw=phone_jpeg()
        )
        uow.commit()
    assert done.outcome == "stored"
    with db.session() as s:
        row = s.get(Photo, job.photo_id)
        assert row is not None and row.status == "stored" and row.data is not None
        assert gps_of(row.data) == {} and exif_of(row.data) == {}
        assert row.sha256 is not None and row.size == len(row.data)


def test_a_stored_photo_goes_to_the_staff_card_as_a_reply(db: Database, domain: Domain) -> None:
    ticket_id, _ = _ticket_with_photo(db, domain)
    with db.unit_of_work() as uow:
        [job] = photos.claim_fetches(uow.session, owner="bot", now=domain.clock())
        photo_cases.fetched(
            uow.session, domain, photo_id=job.photo_id, owner="bot", raw=phone_jpeg()
        )
        uow.commit()
    with db.session() as s:
        card, sent = s.scalars(
            select(OutboxItem).where(OutboxItem.ticket_id == ticket_id).order_by(OutboxItem.id)
        ).all()
        assert card.kind == "staff_card" and card.chat_id == STAFF_CHAT_ID
        assert (sent.method, sent.chat_id, sent.kind) == (
            "sendPhoto",
            STAFF_CHAT_ID,
            "staff_photo",
        )
        assert sent.payload["photo_id"] == job.photo_id and sent.payload["reply_to_of"] == card.id
        assert "已去除位置" in sent.payload["text"]


def test_the_same_photo_sent_twice_is_stored_once(db: Database, domain: Domain) -> None:
    ticket_id, resident_id = _ticket_with_photo(db, domain, "AgACfirst")
    with db.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        resident = uow.session.get(Person, resident_id)
        assert ticket is not None and resident is not None
        services.attach_photo(uow.session, domain, ticket, "AgACsecond", resident)
        services.attach_photo(
            uow.session, domain, ticket, "AgACsecond", resident
        )  # the same update again
        uow.commit()
    same = phone_jpeg()
    with db.unit_of_work() as uow:
        jobs = photos.claim_fetches(uow.session, owner="bot", now=domain.clock())
        outcomes = [
            photo_cases.fetched(
                uow.session, domain, photo_id=j.photo_id, owner="bot", raw=same
            ).outcome
            for j in jobs
        ]
        uow.commit()
    assert outcomes == ["stored", "duplicate"]
    with db.session() as s:
        rows = s.scalars(select(Photo).where(Photo.ticket_id == ticket_id).order_by(Photo.id)).all()
        assert [(r.status, r.duplicate_of_id) for r in rows] == [
            ("stored", None),
            ("duplicate", rows[0].id),
        ]
        assert rows[1].data is None


@pytest.mark.parametrize(
    ("raw", "status", "told"),
    [
        (b"<html>not a photo</html>", "rejected", "不是可以识别的图片"),
        (b"\xff" * 600, "too_large", "照片太大"),
    ],
    ids=["not-an-image", "over-the-limit"],
)
def test_a_photo_that_cannot_be_kept_is_refused_and_the_resident_told(
    db: Database, domain: Domain, raw: bytes, status: str, told: str
) -> None:
    small = replace(domain, settings=replace(domain.settings, photo_max_bytes=500))
    _ticket_with_photo(db, small)
    with db.unit_of_work() as uow:
        [job] = photos.claim_fetches(uow.session, owner="bot", now=domain.clock())
        result = photo_cases.fetched(
            uow.session, small, photo_id=job.photo_id, owner="bot", raw=raw
        )
        uow.commit()
    assert result.outcome == status
    with db.session() as s:
        row = s.get(Photo, job.photo_id)
        assert row is not None and row.status == status and row.data is None
        [notice] = s.scalars(select(OutboxItem).where(OutboxItem.kind == "photo_refused")).all()
        assert notice.chat_id == 555001 and told in notice.payload["text"]


def test_a_temporary_failure_is_retried_later_and_given_up_after_the_last_attempt(
    db: Database, domain: Domain, clock: Clock
) -> None:
    _ticket_with_photo(db, domain)
    for attempt in range(1, photos.MAX_ATTEMPTS + 1):
        now = clock.advance(minutes=11)
        with db.unit_of_work() as uow:
            [job] = photos.claim_fetches(uow.session, owner="bot", now=now)
            assert job.attempts == attempt
            photos.retry_fetch(uow.session, job.photo_id, owner="bot", error="TimedOut", now=now)
            uow.commit()
        with db.session() as s:
            row = s.get(Photo, job.photo_id)
            assert row is not None
            if attempt < photos.MAX_ATTEMPTS:
                assert row.status == "pending" and row.next_attempt_at > now
            else:
                assert row.status == "failed" and row.last_error == "TimedOut"


def test_staff_approve_and_withdraw_a_photo_for_the_public_as_audited_events(
    db: Database, domain: Domain
) -> None:
    ticket_id, _ = _ticket_with_photo(db, domain)
    with db.unit_of_work() as uow:
        [job] = photos.claim_fetches(uow.session, owner="bot", now=domain.clock())
        photo_cases.fetched(
            uow.session, domain, photo_id=job.photo_id, owner="bot", raw=phone_jpeg()
        )
        staff = person(uow.session, Role.DISTRICT_ADMIN, name="王主任")
        uow.commit()
    with db.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        assert photo_cases.public_tokens(uow.session, [ticket_id]) == {}
        photo_cases.set_public(
            uow.session, domain, ticket=ticket, photo_id=job.photo_id, actor=staff, public=True
        )
        uow.commit()
    with db.session() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        [view] = photo_cases.public_photos(s, ticket)
        assert view.approved_by == "王主任"
        data, kind = photo_cases.public_image(s, view.token, thumb=False)
        assert kind == "image/jpeg" and gps_of(data) == {}
    with db.unit_of_work() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        photo_cases.set_public(
            uow.session, domain, ticket=ticket, photo_id=job.photo_id, actor=staff, public=False
        )
        uow.commit()
    with db.session() as s:
        kinds = s.scalars(
            select(TicketEvent.kind)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.id)
        ).all()
        assert kinds[-2:] == ["photo_public", "photo_withdrawn"]
        with pytest.raises(LookupError):
            photo_cases.public_image(s, view.token, thumb=False)


def test_a_photo_is_not_fetched_before_its_due_time(
    db: Database, domain: Domain, clock: Clock
) -> None:
    _ticket_with_photo(db, domain)
    with db.unit_of_work() as uow:
        assert (
            photos.claim_fetches(uow.session, owner="bot", now=clock() - timedelta(seconds=1)) == []
        )
        uow.commit()


@pytest.mark.parametrize(
    ("environ", "file_base", "limit"),
    [
        ({}, "https://api.telegram.org/file/bot", 5 * 1024 * 1024),
        (
            {"TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot", "PHOTO_MAX_BYTES": "1000000"},
            "http://127.0.0.1:8081/file/bot",
            1_000_000,
        ),
        (
            {"TELEGRAM_FILE_BASE_URL": "http://files.local/file/bot"},
            "http://files.local/file/bot",
            5 * 1024 * 1024,
        ),
    ],
    ids=["telegram", "local-bot-api", "explicit"],
)
def test_where_files_are_downloaded_from_and_the_size_limit_are_configurable(
    environ: dict[str, str], file_base: str, limit: int, tmp_path: Path
) -> None:
    settings = Settings.from_env(environ=environ, env_file=tmp_path / "none.env")
    assert (settings.file_base_url, settings.photo_max_bytes) == (file_base, limit)
