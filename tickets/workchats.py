"""Where a unit's messages go: its own Telegram work chat (/bindunit), else the nearest unit above it
with one, else the district's staff chat (``STAFF_CHAT_ID``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import Unit, UnitChat
from tickets.units import UnitTree


@dataclass(frozen=True)
class WorkChat:
    """A chat to post to, and the unit whose chat it is (None: the staff chat)."""

    chat_id: int
    unit: Unit | None

    @property
    def unit_code(self) -> str | None:
        return self.unit.code if self.unit is not None else None


_CACHED = "workchats.all"


@contextmanager
def cached(session: Session) -> Iterator[None]:
    """Read every work chat once for many lookups in ``session`` that bind or unbind none (a pass
    of the supervision clock)."""
    session.info[_CACHED] = dict(
        session.execute(select(UnitChat.unit_id, UnitChat.chat_id)).tuples().all()
    )
    try:
        yield
    finally:
        session.info.pop(_CACHED, None)


def chat_ids(session: Session, unit_ids: list[int]) -> dict[int, int]:
    """unit id → its work chat, for the units that have one."""
    if not unit_ids:
        return {}
    known: dict[int, int] | None = session.info.get(_CACHED)
    if known is not None:
        return {u: known[u] for u in unit_ids if u in known}
    rows = session.execute(
        select(UnitChat.unit_id, UnitChat.chat_id).where(UnitChat.unit_id.in_(unit_ids))
    )
    return {unit_id: chat_id for unit_id, chat_id in rows}


def chat_for(
    session: Session, tree: UnitTree, unit: Unit | None, staff_chat_id: int | None
) -> WorkChat | None:
    """The chat that hears about ``unit``'s tickets; None when there is none at all."""
    chain = list(tree.ancestors(unit)) if unit is not None else []
    found = chat_ids(session, [u.id for u in chain])
    for candidate in chain:
        if candidate.id in found:
            return WorkChat(found[candidate.id], candidate)
    return WorkChat(staff_chat_id, None) if staff_chat_id is not None else None


def unit_of_chat(session: Session, chat_id: int) -> int | None:
    """The unit whose work chat ``chat_id`` is."""
    return session.scalar(select(UnitChat.unit_id).where(UnitChat.chat_id == chat_id))


def above(tree: UnitTree, unit: Unit | None, levels: int = 1) -> Unit | None:
    """The unit ``levels`` steps above ``unit`` (a department's first step is the area it sits in);
    the top of the tree when there are fewer steps."""
    if unit is None:
        return tree.root
    chain = list(tree.ancestors(unit))
    return chain[min(levels, len(chain) - 1)]
