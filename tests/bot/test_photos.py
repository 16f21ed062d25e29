"""Photos residents send, through the real bot and the fake Bot API on the HTTP boundary: recorded at
once, fetched with getFile and the file download, stored without EXIF, sent to the staff card; too
large or not an image → the resident is told; a fetch a dead process held is picked up by the next.
Reports are confirmed in the real Rasa dialogue and filed by the real action server."""

from __future__ import annotations

import asyncio
import re
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import texts
from bot.app import build_application, post_init, run
from bot.config import BotConfig
from bot.rasa import RasaClient
from console.app import create_app
from tests.bot.conftest import TOKEN, FakeClassifier, Harness, nowhere
from tests.conftest import STAFF_CHAT_ID
from tests.support.fake_telegram import FakeTelegram, FakeTelegramServer
from tests.support.rasa import RasaStack

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its test client; httpx (already locked) works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient
from tests.support.images import exif_of, gps_of, phone_jpeg, size_of
from tests.tickets.factories import file
from tickets import auth, photos, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person, Photo, Ticket, utcnow
from tickets.statuses import Role

RESIDENT = 501
SENDER = f"tg:{RESIDENT}"


@pytest.fixture
def bot_config(bot_config: BotConfig) -> BotConfig:
    return replace(bot_config, photo_poll_seconds=0.05)


@pytest.fixture
def chen(bot: Harness) -> dict[str, object]:
    return bot.telegram.user(RESIDENT, "陈姨", "chenyi")


async def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.03)


def _photos(bot: Harness) -> list[tuple[str, bytes | None, int]]:
    with bot.db.session() as s:
        return [(p.status, p.data, p.attempts) for p in s.scalars(select(Photo).order_by(Photo.id))]


def _last_error(bot: Harness) -> str | None:
    with bot.db.session() as s:
        return s.scalar(select(Photo.last_error))


def _stored(bot: Harness, n: int = 1) -> Callable[[], bool]:
    return lambda: [p[0] for p in _photos(bot)].count("stored") >= n


async def test_a_photo_in_a_report_is_fetched_stored_without_gps_and_shown_on_the_staff_card(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    sent = phone_jpeg((160, 120), orientation=6)
    bot.telegram.send_photo(chen, sent, caption="幸福花园3栋门口路灯唔着")
    await bot.settle(timeout=60)
    [turn] = rasa.turns(SENDER)
    file_id = turn["metadata"]["photo"]
    assert turn["text"] == "幸福花园3栋门口路灯唔着" and file_id in bot.telegram.files
    _, code = await bot.confirm_report(
        chen, ("对", "可以")
    )  # the photo came with the words: not asked for again
    bot.stack.deps.outbox_ready.set()
    await _until(_stored(bot), "the photo stored")
    await _until(lambda: bool(bot.telegram.photos_sent(STAFF_CHAT_ID)), "the photo on the card")
    await bot.settle(timeout=30)

    [(status, data, attempts)] = _photos(bot)
    assert status == "stored" and attempts == 1 and data is not None
    assert gps_of(data) == {} and exif_of(data) == {} and size_of(data) == (120, 160)
    assert [c.params["file_id"] for c in bot.telegram.calls_to("getFile")] == [file_id]

    card, photo = bot.telegram.sent(STAFF_CHAT_ID)
    assert code in card["text"]
    assert photo["reply_to_message"]["message_id"] == card["message_id"]
    assert code in photo["caption"]
    assert photo["photo_bytes"] == data  # staff get the cleaned image, never the file as sent
    assert gps_of(photo["photo_bytes"]) == {}

    bot.telegram.message(chen, "/my")
    await bot.settle(timeout=30)
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
    await bot.settle(timeout=30)
    notice = await bot.message(RESIDENT, "已受理")
    original = phone_jpeg((64, 48), orientation=1)
    assert gps_of(original)  # a file keeps what the phone wrote
    bot.telegram.send_document(chen, original, reply_to_message=notice)
    await _until(_stored(bot), "the document stored")
    await bot.settle(timeout=30)
    [(_, data, _)] = _photos(bot)
    assert data is not None and gps_of(data) == {} and exif_of(data) == {}
    # Rasa's address is a port where nothing listens: a turn sent there would be answered
    # "try later".
    assert texts.TRY_LATER not in bot.telegram.texts(RESIDENT)
    with bot.db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.code == code)).one()
        assert len(ticket.attachments) == 1


async def test_a_photo_over_the_size_limit_is_not_fetched_and_the_resident_is_told(
    bot: Harness, chen: dict[str, object], rasa: RasaStack
) -> None:
    limit = bot.domain.settings.photo_max_bytes
    bot.telegram.send_photo(chen, phone_jpeg(), file_size=limit + 1, caption="楼梯灯坏咗")
    bot.telegram.send_photo(chen, phone_jpeg(), file_size=limit + 1)
    await bot.settle(timeout=60)
    told = [t for t in bot.telegram.texts(RESIDENT) if "照片太大" in t]
    assert len(told) == 2 and "5.0 MB" in told[0]
    # The words still go on, without the photo; nothing is fetched.
    assert [(t["text"], t["metadata"].get("photo")) for t in rasa.turns(SENDER)] == [
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

    def recorded_then_claimed_by_a_bot_that_died() -> list[photos.FetchJob]:
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
            # In the same transaction, so the running bot cannot be first: another bot claims the
            # photo with a one-second lease and dies before fetching it.
            claimed = photos.claim_fetches(
                uow.session, owner="bot-that-died", lease=timedelta(seconds=1), now=utcnow()
            )
            uow.commit()
            return claimed

    [dead] = await asyncio.to_thread(recorded_then_claimed_by_a_bot_that_died)
    assert dead.attempts == 1
    await _until(_stored(bot), "the photo stored by the running bot")
    [(status, data, attempts)] = _photos(bot)
    assert status == "stored" and data is not None and gps_of(data) == {}
    assert attempts == 2  # taken over after the dead bot's lease ran out
    assert len(bot.telegram.calls_to("getFile")) == 1


async def test_a_fetch_that_failed_on_the_network_is_retried(
    bot: Harness, chen: dict[str, object]
) -> None:
    file_id, _ = bot.telegram.add_file(phone_jpeg())
    bot.telegram.fail("download", 0, "connection reset")
    await asyncio.to_thread(_ticket_with, bot, file_id)
    await _until(lambda: _last_error(bot) is not None, "tried once and rescheduled")
    with bot.db.unit_of_work() as uow:  # make the retry due now rather than in 5 s
        for p in uow.session.scalars(select(Photo)):
            assert p.last_error and "connection reset" in p.last_error
            p.next_attempt_at = utcnow()
        uow.commit()
    await _until(_stored(bot), "stored on the second attempt")
    assert _photos(bot)[0][2] == 2


@dataclass
class LoopbackHarness(Harness):
    """The same bot, talking to the fake Bot API over HTTP on 127.0.0.1 with its real HTTP client
    (multipart uploads, the file download route) instead of the in-process request layer."""

    base_url: str = ""

    async def start(self) -> None:
        settings = replace(
            self.domain.settings, telegram_bot_token=TOKEN, telegram_api_base_url=self.base_url
        )
        app = build_application(settings, self.config)
        await app.initialize()
        self.stack = await post_init(
            app,
            settings,
            self.config,
            db=self.db,
            domain=self.domain,
            rasa=RasaClient(self.rasa_url),
            classifier=self.classifier,
        )
        await app.start()
        self._stopping = asyncio.Event()
        self._running = asyncio.create_task(run(self.stack, self._stopping))


@pytest.fixture
async def loopback(
    request: pytest.FixtureRequest,
    db: Database,
    domain: Domain,
    telegram: FakeTelegram,
    bot_config: BotConfig,
    no_errors: Callable[[], None],
) -> AsyncIterator[LoopbackHarness]:
    server = FakeTelegramServer(telegram).start()
    rasa_url = request.getfixturevalue("rasa").url if "rasa" in request.fixturenames else nowhere()
    harness = LoopbackHarness(
        telegram, rasa_url, FakeClassifier(), db, domain, bot_config, base_url=server.base_url
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        server.stop()
    no_errors()


def _console(db: Database, domain: Domain) -> tuple[TestClient, str]:
    """The console on the same database, a community staff account and an Open311 API key."""
    settings = replace(domain.settings, console_secret_key="photos-console-key")
    with db.unit_of_work() as uow:
        uow.session.add(
            Person(
                username="xingfu",
                password_hash=auth.hash_password("correct horse battery"),
                role=Role.COMMUNITY_STAFF,
                unit_id=domain.units(uow.session).get("YX-SG-XF").id,
                display_name="幸福社区小李",
            )
        )
        _, key = auth.create_api_key(uow.session, name="12345热线对接")
        uow.commit()
    client = TestClient(create_app(settings, database=db, domain=domain, classifier=None))
    client.__enter__()
    return client, key


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


async def test_a_photo_from_telegram_reaches_the_console_then_the_public_page_and_open311(
    loopback: LoopbackHarness, db: Database, domain: Domain, rasa: RasaStack
) -> None:
    chen = loopback.telegram.user(RESIDENT, "陈姨", "chenyi")
    sent = phone_jpeg((160, 120), orientation=6)
    loopback.telegram.send_photo(chen, sent, caption="幸福花园3栋门口路灯唔着")
    await loopback.settle(timeout=60)
    _, code = await loopback.confirm_report(chen, ("对", "可以"))
    loopback.stack.deps.outbox_ready.set()
    await _until(_stored(loopback), "the photo stored")
    await _until(
        lambda: bool(loopback.telegram.photos_sent(STAFF_CHAT_ID)), "the photo on the card"
    )
    await loopback.settle(timeout=30)
    [(_, data, _)] = _photos(loopback)
    assert data is not None and gps_of(data) == {} and exif_of(data) == {}
    [on_card] = loopback.telegram.photos_sent(STAFF_CHAT_ID)
    assert on_card["photo_bytes"] == data  # uploaded as multipart over HTTP
    assert [c.method for c in loopback.telegram.calls if c.method in ("getFile", "download")] == [
        "getFile",
        "download",
    ]

    def through_the_console() -> None:
        client, key = _console(db, domain)
        try:
            form = {
                "username": "xingfu",
                "password": "correct horse battery",
                "csrf_token": _csrf(client, "/login"),
            }
            assert client.post("/login", data=form, follow_redirects=False).status_code == 303
            page = f"/tickets/{code}"
            html = client.get(page).text
            [photo_id] = re.findall(rf"/tickets/{code}/photos/(\d+)/thumb", html)
            thumb = client.get(f"{page}/photos/{photo_id}/thumb")
            assert thumb.status_code == 200 and gps_of(thumb.content) == {}
            public = re.search(r'href="(http://testserver/p/[^"]+)"', html)
            assert public is not None
            public_page = public.group(1).replace("&amp;", "&")
            one = f"/open311/v2/requests/{code}.json"
            assert "/p/photos/" not in client.get(public_page).text
            assert client.get(one, params={"api_key": key}).json()[0]["media_url"] is None

            approve = {"public": "true", "csrf_token": _csrf(client, page)}
            client.post(f"{page}/photos/{photo_id}/public", data=approve, follow_redirects=False)

            assert "/p/photos/" in client.get(public_page).text
            media = client.get(one, params={"api_key": key}).json()[0]["media_url"]
            assert media.startswith(domain.settings.public_base_url + "/p/photos/")
            shown = client.get(media.removeprefix(domain.settings.public_base_url))
            assert shown.status_code == 200 and shown.content == data
            assert gps_of(shown.content) == {} and exif_of(shown.content) == {}
        finally:
            client.__exit__(None, None, None)

    await asyncio.to_thread(through_the_console)


async def test_a_file_telegram_will_never_give_is_marked_failed_not_retried(
    bot: Harness, chen: dict[str, object]
) -> None:
    await asyncio.to_thread(_ticket_with, bot, "AgACunknownfileid")
    await _until(lambda: [p[0] for p in _photos(bot)] == ["failed"], "marked failed")
    await asyncio.sleep(0.3)
    assert len(bot.telegram.calls_to("getFile")) == 1
    with bot.db.session() as s:
        [photo] = s.scalars(select(Photo)).all()
        assert photo.last_error is not None and "Invalid file_id" in photo.last_error
