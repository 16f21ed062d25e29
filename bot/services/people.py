"""People as Telegram sees them: residents are created on first contact; staff are linked accounts."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import texts
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import Person, ReviewItem, Ticket
from tickets.statuses import Role


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
        raise PermissionDenied(texts.STAFF_ONLY)
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
