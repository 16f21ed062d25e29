"""Photos MinWei keeps itself: checked, re-encoded without EXIF, and fetched from Telegram through rows.

What staff and the public see is never the file as sent: ``clean_image`` decodes it with Pillow
(refusing what is not an image and decompression bombs), applies the EXIF orientation to the pixels,
and encodes a new JPEG that carries no EXIF at all (so no GPS position, camera or time), plus a
thumbnail. The bytes as sent are not stored.

A photo a resident sends on Telegram is only a ``file_id`` at first. It is recorded at once, in the
transaction that puts it on the ticket (``record_telegram``), as a ``photos`` row with status
``pending`` and a due time; whichever bot process runs claims due rows with a lease
(``claim_fetches``, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), downloads the file and stores it
(``tickets.usecases.photos.fetched``). A process that dies holding a row loses nothing: its lease runs
out and the next one claims the row again. Nothing waits in a process's memory.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.errors import TicketError
from tickets.models import Photo, Ticket, utcnow

#: Longest side of the stored image and of its thumbnail, in pixels.
MAX_SIDE = 2560
THUMB_SIDE = 320
#: Images with more pixels than this are refused before they are decoded (decompression bombs).
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"
#: Fetch attempts before a Telegram photo is given up (network errors back off exponentially).
MAX_ATTEMPTS = 8
#: How long a claimed fetch is held before another process may take it over.
FETCH_LEASE = timedelta(minutes=2)


class PhotoError(TicketError):
    """A photo that cannot be kept; the message is for the person who sent it."""


class PhotoTooLarge(ValueError, PhotoError):
    """The file is over the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"照片太大（{megabytes(size)}），超过了 {megabytes(limit)} 的上限，没有保存。"
            "请压缩后或截图后重新发送。"
        )
        self.size = size
        self.limit = limit


class NotAnImage(ValueError, PhotoError):
    """The file is not an image Pillow can read, or is a decompression bomb."""


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class CleanImage:
    """An image as MinWei keeps it: JPEG without EXIF, orientation applied, and its thumbnail."""

    data: bytes
    thumb: bytes
    width: int
    height: int
    sha256: str
    content_type: str = CONTENT_TYPE

    @property
    def size(self) -> int:
        return len(self.data)


def clean_image(raw: bytes, *, max_bytes: int) -> CleanImage:
    """Check ``raw`` and re-encode it without metadata; raises ``PhotoTooLarge`` or ``NotAnImage``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(raw) > max_bytes:
        raise PhotoTooLarge(len(raw), max_bytes)
    if not raw:
        raise NotAnImage("文件是空的，不是图片。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise NotAnImage(
                        f"图片像素过多（{width}×{height}），无法处理，请缩小后重新发送。"
                    )
                opened.load()
                image = ImageOps.exif_transpose(opened)
                if image.mode not in ("RGB", "L"):
                    rgba = image.convert("RGBA")
                    image = Image.new("RGB", rgba.size, (255, 255, 255))
                    image.paste(rgba, mask=rgba.getchannel("A"))
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                data = _jpeg(image)
                thumb_image = image.copy()
                thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE))
                thumb = _jpeg(thumb_image)
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise NotAnImage("图片像素过多，无法处理，请缩小后重新发送。") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise NotAnImage("这个文件不是可以识别的图片（支持 JPEG、PNG、WebP、GIF 等）。") from e
    return CleanImage(
        data=data,
        thumb=thumb,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def checked(raw: bytes, *, max_bytes: int) -> CleanImage | PhotoError:
    """``clean_image``, with the refusal returned rather than raised: callers clean outside their
    transaction (a 12-megapixel photo takes a few tenths of a second) and record either outcome in it."""
    try:
        return clean_image(raw, max_bytes=max_bytes)
    except PhotoError as e:
        return e


def _jpeg(image: object) -> bytes:
    """Encode as a new JPEG: no ``exif``, ``icc_profile`` or comment is passed, so none is written."""
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)  # type: ignore[attr-defined]
    return out.getvalue()


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_telegram_file_id(value: object) -> bool:
    """Attachments hold Telegram file ids; an Open311 ``media_url`` is a URL and is not fetched."""
    return isinstance(value, str) and bool(value) and "://" not in value and len(value) <= 255


def record_telegram(
    session: Session,
    *,
    ticket: Ticket,
    file_id: str,
    sent_by_id: int | None,
    chat_id: int | None,
    now: datetime | None = None,
) -> Photo | None:
    """Record a photo a resident sent to ``ticket`` for fetching now (once per ticket and file id)."""
    if not is_telegram_file_id(file_id):
        return None
    session.flush()
    existing = session.scalar(
        select(Photo.id).where(Photo.ticket_id == ticket.id, Photo.telegram_file_id == file_id)
    )
    if existing is not None:
        return None
    now = now or utcnow()
    photo = Photo(
        ticket_id=ticket.id,
        source="telegram",
        status="pending",
        telegram_file_id=file_id,
        chat_id=chat_id,
        public_token=new_token(),
        approved_public=False,
        sent_by_id=sent_by_id,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        size=0,
        width=0,
        height=0,
        content_type="",
    )
    session.add(photo)
    return photo


@dataclass(frozen=True)
class FetchJob:
    """A Telegram photo to download: the row and the file id to ask ``getFile`` for."""

    photo_id: int
    file_id: str
    attempts: int
    taken_over: bool


def claim_fetches(
    session: Session,
    *,
    owner: str,
    lease: timedelta = FETCH_LEASE,
    limit: int = 5,
    now: datetime | None = None,
) -> list[FetchJob]:
    """Claim due pending fetches, and those whose holder's lease ran out (it died)."""
    now = now or utcnow()
    stmt = (
        select(Photo)
        .where(
            Photo.status == "pending",
            Photo.next_attempt_at <= now,
            (Photo.lease_until.is_(None)) | (Photo.lease_until <= now),
        )
        .order_by(Photo.next_attempt_at, Photo.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    jobs = []
    for photo in session.scalars(stmt):
        taken_over = photo.claimed_by is not None
        photo.claimed_by = owner
        photo.lease_until = now + lease
        photo.attempts += 1
        jobs.append(FetchJob(photo.id, photo.telegram_file_id or "", photo.attempts, taken_over))
    return jobs


def held(session: Session, photo_id: int, owner: str) -> Photo | None:
    """The pending row ``owner`` still holds (None when its lease went to another process)."""
    photo = session.get(Photo, photo_id, with_for_update=True)
    if photo is None or photo.status != "pending" or photo.claimed_by != owner:
        return None
    return photo


def retry_fetch(
    session: Session, photo_id: int, *, owner: str, error: str, now: datetime | None = None
) -> None:
    """A temporary failure (network, Telegram busy): due again after a backoff, or given up."""
    photo = held(session, photo_id, owner)
    if photo is None:
        return
    now = now or utcnow()
    photo.last_error = error[:2000]
    photo.claimed_by = None
    photo.lease_until = None
    if photo.attempts >= MAX_ATTEMPTS:
        photo.status = "failed"
        return
    photo.next_attempt_at = now + timedelta(seconds=min(600, 5 * 2 ** max(0, photo.attempts - 1)))


def fail_fetch(session: Session, photo_id: int, *, owner: str, error: str) -> Photo | None:
    """Telegram will never give this file (unknown file id, over its own size limit)."""
    photo = held(session, photo_id, owner)
    if photo is None:
        return None
    photo.status = "failed"
    photo.last_error = error[:2000]
    photo.claimed_by = None
    photo.lease_until = None
    return photo


def keep(photo: Photo, image: CleanImage, *, now: datetime | None = None) -> None:
    """Put the cleaned image on its row."""
    photo.status = "stored"
    photo.data = image.data
    photo.thumb = image.thumb
    photo.content_type = image.content_type
    photo.size = image.size
    photo.sha256 = image.sha256
    photo.width = image.width
    photo.height = image.height
    photo.stored_at = now or utcnow()
    photo.claimed_by = None
    photo.lease_until = None
    photo.last_error = None


def same_image(session: Session, photo: Photo, sha256: str) -> Photo | None:
    """A stored photo with the same image on the same ticket (or project update)."""
    owner_column, owner_id = (
        (Photo.ticket_id, photo.ticket_id)
        if photo.ticket_id is not None
        else (Photo.project_update_id, photo.project_update_id)
    )
    return session.scalar(
        select(Photo).where(owner_column == owner_id, Photo.sha256 == sha256, Photo.id != photo.id)
    )
