"""Photos residents send, through the real bot and the fake Bot API on the HTTP boundary: recorded at
once, fetched with getFile and the file download, stored without EXIF, sent to the staff card; too
large or not an image → the resident is told; a fetch a dead process held is picked up by the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import BotConfig
from tests.bot.conftest import Harness
from tests.conftest import STAFF_CHAT_ID
from tests.support.images import exif_of, gps_of, phone_jpeg, size_of
from tests.tickets.factories import file
from tickets import photos, services
from tickets.models import Person, Photo, Ticket, utcnow
from tickets.usecases import reports
from tickets.usecases.people import Speaker

RESIDENT = 501


@pytest.fixture
def bot_config(bot_config: BotConfig) -> BotConfig:
    return replace(bot_config, photo_poll_seconds=0.05)


@pytest.fixture
def chen(bot: Harness) -> dict[str, object]:
    return bot.telegram.user(RESIDENT, "陈姨", "chenyi")


async def _until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.03)


def _photos(bot: Harness) -> list[tuple[str, bytes | None, int]]:
    with bot.db.session() as s:
        return [(p.status, p.data, p.attempts) for p in s.scalars(select(Photo).order_by(Photo.id))]


def _stored(bot: Harness, n: int = 1) -> Callable[[], bool]:
    return lambda: [p[0] for p in _photos(bot)].count("stored") >= n


async def test_a_photo_in_a_report_is_fetched_stored_without_gps_and_shown_on_the_staff_card(
    bot: Harness, chen: dict[str, object]
) -> None:
    sent = phone_jpeg((160, 120), orientation=6)
    message = bot.telegram.send_photo(chen, sent, caption="东风路口积水好深，车都过唔到")
    await bot.settle()
    [turn] = bot.rasa.turns
    file_id = turn["metadata"]["photo"]
    assert turn["message"] == "东风路口积水好深，车都过唔到" and file_id in bot.telegram.files

    # What the action server does when the resident confirms the report.
    with bot.db.unit_of_work() as uow:
        filed = reports.file_report(
            uow.session,
            bot.domain,
            reports.Report(
                speaker=Speaker(telegram_user_id=RESIDENT, name="陈姨"),
                text=turn["message"],
                nlu={"category": "drainage"},
                category="drainage",
                urgent=False,
                location="东风路口",
                chat_id=RESIDENT,
                message_id=message["message_id"],
                contact_allowed=True,
                photo=file_id,
            ),
        )
        uow.commit()
    bot.stack.deps.outbox_ready.set()
    await _until(_stored(bot), "the photo stored")
    await _until(lambda: bool(bot.telegram.photos_sent(STAFF_CHAT_ID)), "the photo on the card")
    await bot.settle()

    [(status, data, attempts)] = _photos(bot)
    assert status == "stored" and attempts == 1 and data is not None
    assert gps_of(data) == {} and exif_of(data) == {} and size_of(data) == (120, 160)
    assert [c.params["file_id"] for c in bot.telegram.calls_to("getFile")] == [file_id]

    card, photo = bot.telegram.sent(STAFF_CHAT_ID)
    assert filed.code in card["text"]
    assert photo["reply_to_message"]["message_id"] == card["message_id"]
    assert filed.code in photo["caption"]
    assert photo["photo_bytes"] == data  # staff get the cleaned image, never the file as sent
    assert gps_of(photo["photo_bytes"]) == {}

    bot.telegram.message(chen, "/my")
    await bot.settle()
    assert "您发送的照片：1 张" in bot.telegram.texts(RESIDENT)[-1]


async def test_an_image_sent_as_a_file_in_reply_to_a_notice_is_added_and_cleaned(
    bot: Harness, chen: dict[str, object]
) -> None:
    with bot.db.unit_of_work() as uow:
        me = Person(telegram_user_id=RESIDENT, display_name="陈姨")
        uow.session.add(me)
        uow.session.flush()
        ticket = file(uow.session, bot.domain, "东风路路灯唔着", "road_facility", reporter=me)
        services.accept(session=uow.session, domain=bot.domain, ticket=ticket, actor="staff")
        code = ticket.code
        uow.commit()
    await bot.settle()
    notice = await bot.message(RESIDENT, "已受理")
    original = phone_jpeg((64, 48), orientation=1)
    assert gps_of(original)  # a file keeps what the phone wrote
    bot.telegram.send_document(chen, original, reply_to_message=notice)
    await _until(_stored(bot), "the document stored")
    await bot.settle()
    [(_, data, _)] = _photos(bot)
    assert data is not None and gps_of(data) == {} and exif_of(data) == {}
    assert bot.rasa.turns == []
    with bot.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        assert len(ticket.attachments) == 1


async def test_a_photo_over_the_size_limit_is_not_fetched_and_the_resident_is_told(
    bot: Harness, chen: dict[str, object]
) -> None:
    limit = bot.domain.settings.photo_max_bytes
    bot.telegram.send_photo(chen, phone_jpeg(), file_size=limit + 1, caption="楼梯灯坏咗")
    bot.telegram.send_photo(chen, phone_jpeg(), file_size=limit + 1)
    await bot.settle()
    told = [t for t in bot.telegram.texts(RESIDENT) if "照片太大" in t]
    assert len(told) == 2 and "5.0 MB" in told[0]
    # The words still go on, without the photo; nothing is fetched.
    assert [(t["message"], t["metadata"].get("photo")) for t in bot.rasa.turns] == [
        ("楼梯灯坏咗", None)
    ]
    assert bot.telegram.calls_to("getFile") == []
    assert _photos(bot) == []


def _ticket_with(bot: Harness, file_id: str) -> None:
    with bot.db.unit_of_work() as uow:
        me = Person(telegram_user_id=RESIDENT, display_name="陈姨")
        uow.session.add(me)
        uow.session.flush()
        file(
            uow.session,
            bot.domain,
            "井盖冇咗",
            "road_facility",
            reporter=me,
            attachments=[file_id],
        )
        uow.commit()


async def test_a_file_that_is_not_an_image_is_refused_and_the_resident_is_told(
    bot: Harness, chen: dict[str, object]
) -> None:
    file_id, _ = bot.telegram.add_file(b"<html>phishing</html>", "jpg")
    _ticket_with(bot, file_id)
    bot.stack.deps.outbox_ready.set()
    await _until(lambda: [p[0] for p in _photos(bot)] == ["rejected"], "refused")
    await bot.message(RESIDENT, "不是可以识别的图片")
    assert bot.telegram.photos_sent(STAFF_CHAT_ID) == []


async def test_a_fetch_a_crashed_bot_held_is_picked_up_by_the_running_one(
    bot: Harness, chen: dict[str, object]
) -> None:
    file_id, _ = bot.telegram.add_file(phone_jpeg())
    await asyncio.to_thread(_ticket_with, bot, file_id)
    # Another bot claimed the photo and died before fetching it: its lease has run out.
    with bot.db.unit_of_work() as uow:
        claimed = photos.claim_fetches(
            uow.session, owner="bot-that-died", now=utcnow() - timedelta(minutes=5)
        )
        uow.commit()
    assert len(claimed) <= 1  # the running bot may have been quicker
    await _until(_stored(bot), "the photo stored by the running bot")
    [(status, data, attempts)] = _photos(bot)
    assert status == "stored" and data is not None and gps_of(data) == {}
    assert attempts == len(claimed) + 1


async def test_a_fetch_that_failed_on_the_network_is_retried(
    bot: Harness, chen: dict[str, object]
) -> None:
    file_id, _ = bot.telegram.add_file(phone_jpeg())
    bot.telegram.fail("download", 0, "connection reset")
    await asyncio.to_thread(_ticket_with, bot, file_id)
    await _until(lambda: _photos(bot)[0][2] == 1 and _photos(bot)[0][0] == "pending", "tried")
    with bot.db.unit_of_work() as uow:  # make the retry due now rather than in 5 s
        for p in uow.session.scalars(select(Photo)):
            assert p.last_error and "connection reset" in p.last_error
            p.next_attempt_at = utcnow()
        uow.commit()
    await _until(_stored(bot), "stored on the second attempt")
    assert _photos(bot)[0][2] == 2
