"""People as the bot sees them: residents are created on first contact; staff are linked accounts; a
``Speaker`` says who is talking in the resident dialogue (a Telegram user or a web resident)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets import messages
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import Person, ReviewItem, Ticket
from tickets.statuses import Role, Source

TELEGRAM_PREFIX = "tg:"
WEB_PREFIX = "web:"


@dataclass(frozen=True)
class Speaker:
    """Who is talking in the resident dialogue, as the Rasa sender id says.

    - ``tg:<telegram user id>``: a Telegram user (the bot); a resident created on first contact, whose
      reports are filed as ``private`` and who is told of every change on Telegram.
    - ``web:<person id>``: a web resident the console created for its 试一试 chat (``tickets.usecases.web``);
      the person must exist, and reports are filed as ``web``.
    """

    telegram_user_id: int | None = None
    person_id: int | None = None
    #: The Telegram user's name and username (used when the resident is created).
    name: str = ""
    username: str | None = None

    def __post_init__(self) -> None:
        if (self.telegram_user_id is None) == (self.person_id is None):
            raise ValueError("a speaker is either a Telegram user or a web resident")

    @classmethod
    def from_sender(
        cls, sender: str, *, name: str = "", username: str | None = None
    ) -> Speaker | None:
        """The speaker behind a Rasa sender id; None for any other sender."""
        if sender.startswith(TELEGRAM_PREFIX):
            number = sender.removeprefix(TELEGRAM_PREFIX)
            if number.lstrip("-").isdigit():
                return cls(telegram_user_id=int(number), name=name, username=username)
        elif sender.startswith(WEB_PREFIX):
            number = sender.removeprefix(WEB_PREFIX)
            if number.isdigit() and int(number) > 0:
                return cls(person_id=int(number))
        return None

    @property
    def sender(self) -> str:
        """The Rasa sender id (one conversation per speaker)."""
        if self.telegram_user_id is not None:
            return f"{TELEGRAM_PREFIX}{self.telegram_user_id}"
        return f"{WEB_PREFIX}{self.person_id}"

    @property
    def on_telegram(self) -> bool:
        """Whether the speaker can be told of progress on Telegram."""
        return self.telegram_user_id is not None

    @property
    def source(self) -> Source:
        """The source of the tickets the speaker files."""
        return Source.PRIVATE if self.on_telegram else Source.WEB


def by_telegram_id(session: Session, telegram_user_id: int) -> Person | None:
    return session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))


def resident_for(
    session: Session, *, telegram_user_id: int, name: str = "", username: str | None = None
) -> Person:
    """The person behind a Telegram user, created as a resident on first contact.

    Safe against a concurrent first contact (the bot and the action server may both see a new user): the
    insert runs in a savepoint and a lost race re-reads the winner's row.
    """
    person = by_telegram_id(session, telegram_user_id)
    if person is not None:
        if person.role is Role.RESIDENT and name and person.display_name != name[:100]:
            person.display_name = name[:100]
        return person
    person = Person(
        role=Role.RESIDENT,
        telegram_user_id=telegram_user_id,
        telegram_username=(username or None),
        display_name=(name or f"居民{telegram_user_id}")[:100],
    )
    try:
        with session.begin_nested():
            session.add(person)
    except IntegrityError:
        existing = by_telegram_id(session, telegram_user_id)
        if existing is None:
            raise
        return existing
    return person


def web_resident(session: Session, person_id: int) -> Person:
    """The web resident ``person_id``: an active resident with no Telegram account and no sign-in (so a
    ``web:`` sender can never speak for a Telegram resident or a staff member)."""
    person = session.get(Person, person_id)
    if (
        person is None
        or not person.active
        or person.role is not Role.RESIDENT
        or person.telegram_user_id is not None
        or person.username is not None
    ):
        raise NotFound(f"没有编号为 {person_id} 的网页居民")
    return person


def person_for(session: Session, speaker: Speaker) -> Person:
    """The resident behind ``speaker`` (a Telegram user is created as a resident on first contact)."""
    if speaker.telegram_user_id is not None:
        return resident_for(
            session,
            telegram_user_id=speaker.telegram_user_id,
            name=speaker.name,
            username=speaker.username,
        )
    assert speaker.person_id is not None
    return web_resident(session, speaker.person_id)


def residents_for(session: Session, users: dict[int, tuple[str, str | None]]) -> dict[int, Person]:
    """``resident_for`` for many users at once: {telegram id: (name, username)} → {telegram id: person}."""
    found = {
        p.telegram_user_id: p
        for p in session.scalars(select(Person).where(Person.telegram_user_id.in_(list(users))))
        if p.telegram_user_id is not None
    }
    for uid, (name, username) in users.items():
        if uid not in found:
            found[uid] = resident_for(session, telegram_user_id=uid, name=name, username=username)
    return found


def staff_for(session: Session, telegram_user_id: int | None) -> Person:
    """The active staff member (any role but resident) linked to ``telegram_user_id``."""
    person = by_telegram_id(session, telegram_user_id) if telegram_user_id is not None else None
    if person is None or not person.active or not person.role.is_staff:
        raise PermissionDenied(messages.STAFF_ONLY)
    return person


def link_telegram(session: Session, person: Person, telegram_user_id: int) -> int:
    """Link a console account to a Telegram user (who then acts as staff or grid member in Telegram).

    When the user already talked to the bot as a resident, that resident record is merged into the
    account: their tickets and review items move over. Returns how many tickets moved. A Telegram user
    linked to another account is refused.
    """
    existing = by_telegram_id(session, telegram_user_id)
    moved = 0
    if existing is not None and existing.id != person.id:
        if existing.username is not None or existing.role is not Role.RESIDENT:
            raise InvalidInput(
                f"Telegram 帐号 {telegram_user_id} 已关联到 {existing.username or existing.display_name}"
            )
        moved = int(
            getattr(
                session.execute(
                    update(Ticket)
                    .where(Ticket.reporter_id == existing.id)
                    .values(reporter_id=person.id)
                ),
                "rowcount",
                0,
            )
            or 0
        )
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.reporter_id == existing.id)
            .values(reporter_id=person.id)
        )
        existing.telegram_user_id = None
        existing.active = False
        session.flush()
    person.telegram_user_id = telegram_user_id
    session.flush()
    return moved


def role_label(session: Session, telegram_user_id: int) -> str | None:
    person = by_telegram_id(session, telegram_user_id)
    return person.role.label if person is not None and person.role.is_staff else None
