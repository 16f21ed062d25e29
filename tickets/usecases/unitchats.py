"""Units' Telegram work chats: /bindunit in a group makes it the chat where the unit's ticket cards,
warnings and escalations go (``tickets.workchats``); the console lists and removes them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import ChatBinding, Person, StaffAction, Unit, UnitChat
from tickets.statuses import Role
from tickets.usecases.people import staff_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatChange:
    """One audited bind or removal of a work chat."""

    at: datetime
    kind: str  # unit_chat_bound | unit_chat_removed
    unit_name: str
    title: str
    chat_id: int
    actor: str
    channel: str


BOUND, REMOVED = "unit_chat_bound", "unit_chat_removed"
CHANGE_WORDS = {BOUND: "绑定", REMOVED: "移除"}
CHANNEL_WORDS = {"console": "网页后台", "telegram": "Telegram"}


def _audit(
    session: Session,
    domain: Domain,
    kind: str,
    chat: UnitChat,
    actor: Person,
    channel: str,
) -> None:
    session.add(
        StaffAction(
            at=domain.clock(),
            actor_id=actor.id,
            actor_label=(actor.display_name or actor.username or "")[:100],
            kind=kind,
            unit_id=chat.unit_id,
            channel=channel,
            data={"chat_id": chat.chat_id, "title": chat.title},
        )
    )


@dataclass(frozen=True)
class UnitChatView:
    id: int
    chat_id: int
    title: str
    unit_code: str
    unit_name: str
    bound_by: str
    bound_at: datetime


def _may_manage(person: Person, unit: Unit, domain: Domain, session: Session) -> bool:
    """The unit's own staff, staff of a unit above it, and district admins (as for /bind)."""
    tree = domain.units(session)
    if person.role is Role.DISTRICT_ADMIN and person.unit_id is None:
        return True
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    return scope is not None and tree.is_within(unit.id, scope)


def _view(chat: UnitChat, unit: Unit, person: Person | None) -> UnitChatView:
    name = (person.display_name or person.username or "") if person else ""
    return UnitChatView(
        chat.id, chat.chat_id, chat.title, unit.code, unit.name, name, chat.bound_at
    )


def bind(
    session: Session,
    domain: Domain,
    *,
    chat_id: int,
    title: str,
    unit_code: str,
    telegram_user_id: int | None,
) -> UnitChatView:
    """Make ``chat_id`` the work chat of ``unit_code`` (one chat per unit: it replaces the unit's
    previous chat; a chat serves one unit). A grid group, where residents talk, cannot be one."""
    person = staff_for(session, telegram_user_id)
    tree = domain.units(session)
    code = unit_code.strip()
    unit = tree.by_code.get(code) or tree.by_code.get(code.upper())
    if unit is None:
        raise NotFound(f"没有编码为 {code[:40]} 的单位")
    if not _may_manage(person, unit, domain, session):
        raise PermissionDenied(f"您不能为{unit.name}绑定工作群")
    if session.scalar(select(ChatBinding.id).where(ChatBinding.chat_id == chat_id)):
        raise InvalidInput(
            "本群已绑定为网格群（有居民在群里），工单卡片不能发到这里。请另建工作群。"
        )
    for old in session.scalars(
        select(UnitChat).where((UnitChat.chat_id == chat_id) | (UnitChat.unit_id == unit.id))
    ):
        session.delete(old)
    session.flush()
    chat = UnitChat(
        unit_id=unit.id,
        chat_id=chat_id,
        title=title[:255],
        bound_by_id=person.id,
        bound_at=domain.clock(),
    )
    session.add(chat)
    session.flush()
    _audit(session, domain, BOUND, chat, person, "telegram")
    log.info("unit %s work chat %s bound by person %s", unit.code, chat_id, person.id)
    return _view(chat, unit, person)


def unbind(
    session: Session, domain: Domain, *, chat_id: int, telegram_user_id: int | None
) -> str | None:
    """/unbindunit: the chat stops being a work chat; returns the unit's name (None: it was not one)."""
    person = staff_for(session, telegram_user_id)
    chat = session.scalar(select(UnitChat).where(UnitChat.chat_id == chat_id))
    if chat is None:
        return None
    return _remove(session, domain, chat, person, "telegram")


def remove(session: Session, domain: Domain, *, chat_row: int, actor: Person) -> str:
    """The console's 移除: returns the unit's name."""
    chat = session.get(UnitChat, chat_row)
    if chat is None:
        raise NotFound("没有找到该工作群")
    return _remove(session, domain, chat, actor, "console")


def _remove(session: Session, domain: Domain, chat: UnitChat, person: Person, channel: str) -> str:
    unit = domain.units(session).by_id.get(chat.unit_id)
    if unit is None or not _may_manage(person, unit, domain, session):
        raise PermissionDenied("您不能移除这个工作群")
    _audit(session, domain, REMOVED, chat, person, channel)
    session.delete(chat)
    log.info("unit %s work chat %s removed by person %s", unit.code, chat.chat_id, person.id)
    return unit.name


def listed(session: Session, domain: Domain, *, viewer: Person) -> list[UnitChatView]:
    """The work chats of the units the viewer may manage, by unit code."""
    tree = domain.units(session)
    rows = session.execute(
        select(UnitChat, Person).outerjoin(Person, Person.id == UnitChat.bound_by_id)
    ).all()
    views = [
        _view(chat, unit, person)
        for chat, person in rows
        if (unit := tree.by_id.get(chat.unit_id)) is not None
        and _may_manage(viewer, unit, domain, session)
    ]
    return sorted(views, key=lambda v: v.unit_code)


def changes(
    session: Session, domain: Domain, *, viewer: Person, limit: int = 50
) -> list[ChatChange]:
    """The latest binds and removals of the work chats of the units the viewer may manage."""
    tree = domain.units(session)
    rows = session.scalars(
        select(StaffAction)
        .where(StaffAction.kind.in_((BOUND, REMOVED)))
        .order_by(StaffAction.at.desc(), StaffAction.id.desc())
        .limit(limit * 5)
    )
    found = []
    for row in rows:
        unit = tree.by_id.get(row.unit_id) if row.unit_id is not None else None
        if unit is None or not _may_manage(viewer, unit, domain, session):
            continue
        found.append(
            ChatChange(
                at=row.at,
                kind=row.kind,
                unit_name=unit.name,
                title=str(row.data.get("title", "")),
                chat_id=int(row.data.get("chat_id", 0)),
                actor=row.actor_label,
                channel=row.channel,
            )
        )
        if len(found) >= limit:
            break
    return found
