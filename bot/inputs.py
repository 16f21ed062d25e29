"""What kind of message a resident sent, before anything is done with it."""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from telegram import Message

from tickets.cleaning import scrub

#: Telegram's own limit for a text message; longer input (possible through other clients or the Bot API
#: server) is refused politely rather than cut.
MAX_TEXT = 4096


class Kind(StrEnum):
    TEXT = "text"
    TOO_LONG = "too_long"
    EMPTY = "empty"
    EMOJI_ONLY = "emoji_only"
    STICKER = "sticker"
    VOICE = "voice"
    PHOTO = "photo"
    LOCATION = "location"
    UNSUPPORTED = "unsupported"


def is_emoji_only(text: str) -> bool:
    """True for text made only of emoji, symbols, punctuation and spaces (e.g. "👍👍", "🙏 !")."""
    meaningful = False
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in ("L", "N"):
            return False
        if category in ("So", "Sk", "Sm", "Sc") or ch in "\u200d\ufe0f\ufe0e":
            meaningful = True
    return meaningful


def kind_of(message: Message) -> Kind:
    if message.sticker is not None:
        return Kind.STICKER
    if message.voice is not None or message.audio is not None or message.video_note is not None:
        return Kind.VOICE
    if message.location is not None or message.venue is not None:
        return Kind.LOCATION
    if photo_of(message) is not None:
        return Kind.PHOTO
    raw = message.text if message.text is not None else message.caption
    if raw is None:
        return Kind.UNSUPPORTED
    text = scrub(raw)
    if len(text) > MAX_TEXT:
        return Kind.TOO_LONG
    if not text.strip():
        return Kind.EMPTY
    if is_emoji_only(text):
        return Kind.EMOJI_ONLY
    return Kind.TEXT


def photo_of(message: Message) -> tuple[str, int | None] | None:
    """The file id and size (when Telegram gave it) of the photo in ``message``: its largest size, or
    an image sent as a document (a file keeps its EXIF, which ``tickets.photos`` strips)."""
    if message.photo:
        largest = message.photo[-1]
        return largest.file_id, largest.file_size
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document.file_id, document.file_size
    return None


def text_of(message: Message) -> str:
    """The message's text (or caption), cleaned as every input is (``tickets.cleaning.scrub``)."""
    return scrub((message.text if message.text is not None else message.caption) or "")


def display_name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in (first, last) if p).strip()
