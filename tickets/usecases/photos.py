"""Photos of tickets and project updates: storing what was fetched, showing, approving for the public.

- ``fetched``: the bot downloaded a Telegram photo it had claimed (``tickets.photos.claim_fetches``);
  it is cleaned (no EXIF) and stored once per ticket, and the ticket's staff card gets it as a reply;
  a file over the size limit or not an image is refused and the resident told why.
- ``ticket_photos`` / ``image``: what the console shows staff who may see the ticket.
- ``set_public``: staff approve a ticket photo for the public pages (or withdraw it), as an audited
  event of the ticket; ``public_image`` serves only approved photos, by their unguessable token.
- ``add_upload``: a photo uploaded with a project's progress update (public with the update: staff
  publish the update with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets import outbox, photos, services
from tickets.access import can_view, ensure_can_act
from tickets.domain import Domain
from tickets.errors import NotFound
from tickets.models import OutboxItem, Person, Photo, ProjectUpdate, Ticket
from tickets.statuses import EventKind

#: Sent to the ticket's staff chat as a reply to its card.
STAFF_CAPTION = "工单 {code} 居民发来的照片（已去除位置等拍摄信息）"


@dataclass(frozen=True)
class PhotoView:
    id: int
    token: str
    width: int
    height: int
    size: int
    approved_public: bool
    approved_by: str
    approved_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, photo: Photo, approver: Person | None = None) -> PhotoView:
        return cls(
            id=photo.id,
            token=photo.public_token,
            width=photo.width,
            height=photo.height,
            size=photo.size,
            approved_public=photo.approved_public,
            approved_by=(approver.display_name or approver.username or "") if approver else "",
            approved_at=photo.approved_at,
            created_at=photo.created_at,
        )


@dataclass(frozen=True)
class Fetched:
    """What became of a fetched photo: stored, duplicate, too_large, rejected, or lost (the row was
    no longer this worker's)."""

    outcome: str
    photo_id: int
    message: str = ""


def fetched(
    session: Session,
    domain: Domain,
    *,
    photo_id: int,
    owner: str,
    raw: bytes | None = None,
    image: photos.CleanImage | photos.PhotoError | None = None,
) -> Fetched:
    """Store what the bot downloaded for the photo row it holds: the image it cleaned outside the
    transaction (``tickets.photos.checked``), or the bytes to clean here."""
    photo = photos.held(session, photo_id, owner)
    if photo is None:
        return Fetched("lost", photo_id)
    now = domain.clock()
    if image is None:
        image = photos.checked(raw or b"", max_bytes=domain.settings.photo_max_bytes)
    if isinstance(image, photos.PhotoTooLarge):
        return _refused(session, photo, "too_large", str(image))
    if isinstance(image, photos.PhotoError):
        return _refused(session, photo, "rejected", f"照片没有保存：{image}")
    same = photos.same_image(session, photo, image.sha256)
    if same is not None:
        _duplicate(photo, same)
        return Fetched("duplicate", photo.id)
    try:
        with session.begin_nested():
            photos.keep(photo, image, now=now)
    except IntegrityError:  # another process stored the same image on this ticket meanwhile
        same = photos.same_image(session, photo, image.sha256)
        if same is None:
            raise
        _duplicate(photo, same)
        return Fetched("duplicate", photo.id)
    ticket = session.get(Ticket, photo.ticket_id) if photo.ticket_id is not None else None
    if ticket is not None:
        _to_staff_card(session, ticket, photo)
    return Fetched("stored", photo.id)


def refuse_fetched(
    session: Session, domain: Domain, *, photo_id: int, owner: str, size: int
) -> Fetched:
    """Telegram says the file is over the size limit: it is not downloaded, the resident is told."""
    photo = photos.held(session, photo_id, owner)
    if photo is None:
        return Fetched("lost", photo_id)
    text = str(photos.PhotoTooLarge(size, domain.settings.photo_max_bytes))
    return _refused(session, photo, "too_large", text)


def _duplicate(photo: Photo, same: Photo) -> None:
    photo.status = "duplicate"
    photo.duplicate_of_id = same.id
    photo.claimed_by = None
    photo.lease_until = None


def _refused(session: Session, photo: Photo, status: str, message: str) -> Fetched:
    photo.status = status
    photo.last_error = message
    photo.claimed_by = None
    photo.lease_until = None
    if photo.chat_id is not None:
        outbox.enqueue(
            session,
            chat_id=photo.chat_id,
            text=message,
            kind="photo_refused",
            ticket=session.get(Ticket, photo.ticket_id) if photo.ticket_id else None,
            dedupe_key=f"photo:{photo.id}:refused",
        )
    return Fetched(status, photo.id, message)


def _to_staff_card(session: Session, ticket: Ticket, photo: Photo) -> None:
    """The cleaned photo as a reply to the ticket's staff card (none when the ticket has no card)."""
    card = session.scalar(
        select(OutboxItem)
        .where(
            OutboxItem.ticket_id == ticket.id,
            OutboxItem.kind.in_(services.STAFF_CARD_KINDS),
        )
        .order_by(OutboxItem.id.desc())
        .limit(1)
    )
    if card is None:
        return
    outbox.enqueue(
        session,
        chat_id=card.chat_id,
        text=STAFF_CAPTION.format(code=ticket.code),
        kind="staff_photo",
        ticket=ticket,
        method="sendPhoto",
        extra={"photo_id": photo.id, "reply_to_of": card.id},
        dedupe_key=f"photo:{photo.id}:staff",
    )


def outbox_image(session: Session, photo_id: int) -> bytes:
    """The stored image an outbox ``sendPhoto`` row sends (a Telegram ``BadRequest`` when gone)."""
    data = session.scalar(select(Photo.data).where(Photo.id == photo_id))
    if data is None:
        raise NotFound(f"photo {photo_id} has no stored image")
    return data


def refuse_before_fetch(
    session: Session, domain: Domain, *, chat_id: int, size: int, message_key: str
) -> str:
    """A photo Telegram says is over the limit is not fetched at all: the resident is told why."""
    text = str(photos.PhotoTooLarge(size, domain.settings.photo_max_bytes))
    outbox.enqueue(
        session, chat_id=chat_id, text=text, kind="photo_refused", dedupe_key=message_key
    )
    return text


def ticket_photos(session: Session, ticket: Ticket) -> list[PhotoView]:
    """The stored photos of ``ticket``, oldest first."""
    rows = session.execute(
        select(Photo, Person)
        .outerjoin(Person, Person.id == Photo.approved_by_id)
        .where(Photo.ticket_id == ticket.id, Photo.status == "stored")
        .order_by(Photo.id)
    ).all()
    return [PhotoView.of(p, a) for p, a in rows]


def pending_count(session: Session, ticket: Ticket) -> int:
    """Photos of ``ticket`` still being fetched from Telegram."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Photo)
            .where(Photo.ticket_id == ticket.id, Photo.status == "pending")
        )
        or 0
    )


def image(session: Session, ticket: Ticket, photo_id: int, *, thumb: bool) -> tuple[bytes, str]:
    """The stored image (or thumbnail) of a photo of ``ticket``; the caller checked the viewer."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.ticket_id != ticket.id or photo.status != "stored":
        raise NotFound("没有这张照片")
    data = photo.thumb if thumb else photo.data
    if data is None:
        raise NotFound("没有这张照片")
    return data, photo.content_type


def visible_image(
    session: Session,
    domain: Domain,
    *,
    code: str,
    photo_id: int,
    viewer: Person,
    thumb: bool,
) -> tuple[bytes, str]:
    """A ticket photo for a staff member who may see the ticket (NotFound otherwise)."""
    ticket = services.get_ticket(session, code)
    if not can_view(viewer, ticket, domain.units(session)):
        raise NotFound(f"没有找到工单 {code[:40]}")
    return image(session, ticket, photo_id, thumb=thumb)


def set_public(
    session: Session,
    domain: Domain,
    *,
    ticket: Ticket,
    photo_id: int,
    actor: Person,
    public: bool,
) -> str:
    """Approve a ticket photo for the public pages and Open311, or withdraw it (an audited event)."""
    ensure_can_act(actor, ticket, domain.units(session))
    photo = session.get(Photo, photo_id, with_for_update=True)
    if photo is None or photo.ticket_id != ticket.id or photo.status != "stored":
        raise NotFound("没有这张照片")
    if photo.approved_public == public:
        return "照片已公开" if public else "照片未公开"
    photo.approved_public = public
    photo.approved_by_id = actor.id if public else None
    photo.approved_at = domain.clock() if public else None
    services.record_event(
        session,
        domain,
        ticket,
        actor,
        EventKind.PHOTO_PUBLIC if public else EventKind.PHOTO_WITHDRAWN,
        photo=photo.id,
    )
    return "照片已公开，公开进度页和 Open311 可见" if public else "照片已撤回，不再公开"


def public_photos(session: Session, ticket: Ticket) -> list[PhotoView]:
    """The photos of ``ticket`` staff approved for the public."""
    return [p for p in ticket_photos(session, ticket) if p.approved_public]


def public_tokens(session: Session, ticket_ids: list[int]) -> dict[int, str]:
    """The first approved photo of each ticket (Open311 ``media_url``)."""
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(Photo.ticket_id, Photo.public_token)
        .where(
            Photo.ticket_id.in_(ticket_ids),
            Photo.status == "stored",
            Photo.approved_public.is_(True),
        )
        .order_by(Photo.id)
    ).all()
    found: dict[int, str] = {}
    for ticket_id, token in rows:
        if ticket_id is not None:
            found.setdefault(ticket_id, token)
    return found


def public_image(session: Session, token: str, *, thumb: bool) -> tuple[bytes, str]:
    """A photo the public may see (approved), by its token; NotFound for anything else."""
    photo = session.scalar(select(Photo).where(Photo.public_token == token[:40]))
    if photo is None or photo.status != "stored" or not photo.approved_public:
        raise NotFound("没有这张照片")
    data = photo.thumb if thumb else photo.data
    if data is None:
        raise NotFound("没有这张照片")
    return data, photo.content_type


def add_upload(
    session: Session,
    domain: Domain,
    *,
    update: ProjectUpdate,
    image: photos.CleanImage,
    actor: Person | str,
) -> Photo | None:
    """A photo uploaded with a project update (cleaned by the caller, ``tickets.photos.clean_image``),
    stored once per update and public with it; None when the update has the same image already."""
    session.flush()
    if (
        session.scalar(
            select(Photo.id).where(
                Photo.project_update_id == update.id, Photo.sha256 == image.sha256
            )
        )
        is not None
    ):
        return None
    now = domain.clock()
    person_id = actor.id if isinstance(actor, Person) else None
    photo = Photo(
        project_update_id=update.id,
        source="console",
        status="stored",
        public_token=photos.new_token(),
        approved_public=True,
        approved_by_id=person_id,
        approved_at=now,
        sent_by_id=person_id,
        created_at=now,
        attempts=0,
    )
    photos.keep(photo, image, now=now)
    session.add(photo)
    session.flush()
    return photo


def update_tokens(session: Session, update_ids: list[int]) -> dict[int, list[str]]:
    """The public photos of each project update, oldest first."""
    if not update_ids:
        return {}
    found: dict[int, list[str]] = {}
    for update_id, token in session.execute(
        select(Photo.project_update_id, Photo.public_token)
        .where(
            Photo.project_update_id.in_(update_ids),
            Photo.status == "stored",
            Photo.approved_public.is_(True),
        )
        .order_by(Photo.id)
    ):
        if update_id is not None:
            found.setdefault(update_id, []).append(token)
    return found


def own_photo_count(session: Session, ticket_id: int) -> int:
    """How many photos of a ticket are kept (what the resident is told in the ticket's status)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Photo)
            .where(Photo.ticket_id == ticket_id, Photo.status.in_(("stored", "pending")))
        )
        or 0
    )


def latest_project_photos(session: Session, project_ids: list[int]) -> dict[int, str]:
    """The token of each project's latest public photo (the public board's thumbnail)."""
    if not project_ids:
        return {}
    found: dict[int, str] = {}
    for project_id, token in session.execute(
        select(ProjectUpdate.project_id, Photo.public_token)
        .join(Photo, Photo.project_update_id == ProjectUpdate.id)
        .where(
            ProjectUpdate.project_id.in_(project_ids),
            Photo.status == "stored",
            Photo.approved_public.is_(True),
        )
        .order_by(Photo.id.desc())
    ):
        found.setdefault(project_id, token)
    return found
