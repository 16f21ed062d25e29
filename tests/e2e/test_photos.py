"""A photo in a real report, end to end: the resident sends a phone photo (EXIF with GPS) with the
report's first words to the real bot process over the loopback Bot API; the real Rasa dialogue and
action server file the ticket with the photo's file id; the bot process fetches the file (getFile and
the download over HTTP), stores it without EXIF and sends it to the staff card."""

from __future__ import annotations

import time

from sqlalchemy import select

from tests.e2e.conftest import STAFF_CHAT, Stack
from tests.support.dialogues import ASKS_WHERE
from tests.support.images import exif_of, gps_of, phone_jpeg
from tickets.models import Person, Photo, Ticket

RESIDENT = 10051
ANSWERS = ("对", "可以", "跳过")


def _talk_until_filed(e2e: Stack, user: dict[str, object]) -> str:
    """Answer the dialogue's questions as a patient resident would; the filing reply."""
    telegram = e2e.telegram
    seen = 0
    for _ in range(8):
        if not telegram.wait_until(
            lambda seen=seen: len(telegram.sent(RESIDENT)) > seen, timeout=60
        ):
            raise AssertionError(f"the bot stopped answering: {telegram.texts(RESIDENT)}")
        time.sleep(1.0)  # the rest of the bot's answer to this turn
        sent = telegram.sent(RESIDENT)
        seen, latest = len(sent), sent[-1]
        text = latest.get("text", "")
        if "工单号" in text:
            return text
        labels = [
            b["text"]
            for row in latest.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row
        ]
        answer = next((label for label in ANSWERS if label in labels), None)
        if answer is not None:
            telegram.press(user, latest, answer)
        elif any(w in text for w in ASKS_WHERE):
            telegram.message(user, "幸福花园3栋门口")
        else:
            raise AssertionError(f"an unexpected question: {telegram.texts(RESIDENT)}")
    raise AssertionError(f"not filed: {telegram.texts(RESIDENT)}")


def test_a_photo_sent_with_a_report_is_stored_without_gps_and_shown_on_the_staff_card(
    e2e: Stack,
) -> None:
    telegram = e2e.telegram
    user = telegram.user(RESIDENT, "黄生")
    cards = len(telegram.sent(STAFF_CHAT))
    sent = phone_jpeg((320, 240), orientation=6)
    assert gps_of(sent)
    telegram.send_photo(user, sent, caption="幸福花园3栋门口嘅路灯唔着成个礼拜，夜晚好黑")
    filed = _talk_until_filed(e2e, user)

    deadline = time.monotonic() + 60
    while True:
        with e2e.db.session() as s:
            rows = s.execute(
                select(Ticket.code, Ticket.attachments, Photo.status, Photo.data)
                .join(Person, Person.id == Ticket.reporter_id)
                .join(Photo, Photo.ticket_id == Ticket.id)
                .where(Person.telegram_user_id == RESIDENT)
            ).all()
        if rows and rows[0].status == "stored":
            break
        assert time.monotonic() < deadline, f"the photo was not stored: {rows}"
        time.sleep(0.2)
    [(code, attachments, _, data)] = rows
    assert code in filed and len(attachments) == 1
    assert data is not None and gps_of(data) == {} and exif_of(data) == {}
    assert telegram.wait_until(
        lambda: any(code in m.get("caption", "") for m in telegram.photos_sent(STAFF_CHAT)),
        timeout=60,
    )
    [on_card] = [m for m in telegram.photos_sent(STAFF_CHAT) if code in m.get("caption", "")]
    assert on_card["photo_bytes"] == data
    card = on_card["reply_to_message"]
    assert code in card["text"] and telegram.sent(STAFF_CHAT).index(card) >= cards
