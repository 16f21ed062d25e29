"""Status lines in grid groups: residents who said something in a group and never started the bot
cannot be messaged in private, so their group hears, in one short de-identified line with the public
progress link, that the demand was filed (when the group has replies on) or that it moved on (when the
private notice was refused).

At most one message per group per ``group_status.every`` (``data/supervision.yml``): each line is a
``DueItem`` (its unique key ``gs:<code>:<what>`` tells each thing once); lines due sooner, or in quiet
hours, wait for the group's next free moment and go out together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets import clock, messages, outbox
from tickets.domain import Domain
from tickets.models import ChatBinding, DueItem, OutboxItem, Ticket
from tickets.statuses import Source

#: Resident notices whose refusal is told in the group instead, and how the line says it.
TOLD_INSTEAD = {
    "accepted": "已受理",
    "assigned": "已派单办理",
    "in_progress": "正在处理",
    "resolved": "已办结",
    "rejected": "未予受理",
    "reopened": "已重新打开",
    "merged": "已与同类问题合并办理",
    "note": "有新的办理进展",
    "visit": "已预约上门",
}
FILED = "已登记，工作人员会跟进"


def tell(session: Session, domain: Domain, ticket: Ticket, what: str) -> bool:
    """Tell the group ``ticket`` was said in that it is ``what``: now, or with the group's next line.
    Each (ticket, what) is told once. False when the ticket did not come from a bound group."""
    return bool(tell_many(session, domain, [ticket], what))


def tell_many(session: Session, domain: Domain, tickets: Sequence[Ticket], what: str) -> int:
    """``tell`` for several tickets (a group batch's), a few statements per group instead of four
    per ticket: it runs while the batch holds the day's counter rows, just before its commit.
    Returns how many were told or queued (or had been already)."""
    by_chat: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        if ticket.source is Source.GROUP and ticket.chat_id is not None:
            by_chat.setdefault(ticket.chat_id, []).append(ticket)
    told = 0
    for chat_id in sorted(by_chat):  # one lock order for the bindings
        told += _tell_group(session, domain, chat_id, by_chat[chat_id], what)
    return told


def _tell_group(
    session: Session, domain: Domain, chat_id: int, tickets: list[Ticket], what: str
) -> int:
    binding = session.scalar(
        select(ChatBinding).where(ChatBinding.chat_id == chat_id).with_for_update()
    )
    if binding is None:
        return 0
    keys = {t.id: f"gs:{t.code}:{what}" for t in tickets}
    known = set(session.scalars(select(DueItem.key).where(DueItem.key.in_(set(keys.values())))))
    now = domain.clock()
    tz = domain.settings.timezone
    waiting = session.scalar(
        select(DueItem.due_at)
        .where(
            DueItem.chat_id == binding.chat_id,
            DueItem.kind == clock.DueKind.GROUP_STATUS.value,
            DueItem.status == clock.PENDING,
        )
        .limit(1)
    )
    rows: list[dict[str, Any]] = []
    told = 0
    for ticket in tickets:
        key = keys[ticket.id]
        if key in known:
            told += 1
            continue
        known.add(key)
        line = messages.group_status_line(
            ticket.code, domain.taxonomy.name(ticket.category), what, domain.links.url(ticket.code)
        )
        free_at = (
            domain.rules.group_status_every.after(binding.status_sent_at, domain.calendar, tz)
            if binding.status_sent_at is not None
            else now
        )
        send_at = waiting or domain.rules.quiet.release(max(now, free_at), tz)
        row = {
            "ticket_id": ticket.id,
            "chat_id": binding.chat_id,
            "kind": clock.DueKind.GROUP_STATUS.value,
            "key": key,
            "due_at": send_at,
            "status": "pending",
            "data": {"line": line},
            "created_at": now,
            "done_at": None,
            "result": {},
        }
        if send_at <= now:  # the group is free: one line now, recorded as done
            row.update(status="done", done_at=now, result={"lines": 1})
            _send(session, binding, [line], now, key=key)
        else:  # the lines after it wait for this one
            waiting = send_at
        rows.append(row)
        told += 1
    if rows:
        clock.insert_ignoring_duplicates(session, rows)
    return told


def flush(session: Session, domain: Domain, item: DueItem, now: datetime) -> dict[str, object]:
    """Send the group's waiting lines (``item`` and the others due for its chat) as one message;
    the others are marked done here (the supervision pass marks ``item``)."""
    binding = session.scalar(
        select(ChatBinding).where(ChatBinding.chat_id == item.chat_id).with_for_update()
    )
    others = session.scalars(
        select(DueItem)
        .where(
            DueItem.chat_id == item.chat_id,
            DueItem.kind == clock.DueKind.GROUP_STATUS.value,
            DueItem.status == clock.PENDING,
            DueItem.id != item.id,
            DueItem.due_at <= now,
        )
        .order_by(DueItem.id)
        .with_for_update(skip_locked=True)
    ).all()
    lines = [str(i.data.get("line", "")) for i in (item, *others) if i.data.get("line")]
    for other in others:
        other.status, other.done_at, other.result = "done", now, {"with": item.id}
    if binding is None or not lines:
        return {"chat": item.chat_id, "lines": 0}
    _send(session, binding, lines, now, key=f"due:{item.id}")
    return {"chat": binding.chat_id, "lines": len(lines)}


def _send(
    session: Session, binding: ChatBinding, lines: list[str], now: datetime, *, key: str
) -> None:
    outbox.enqueue(
        session,
        chat_id=binding.chat_id,
        text=messages.group_status(lines),
        kind="group_status",
        dedupe_key=key,
    )
    binding.status_sent_at = now


def refused(session: Session, domain: Domain, row_ids: list[int]) -> int:
    """Private notices Telegram refused (the resident never started the bot, or blocked it): tell
    their tickets' groups instead. Returns how many lines were told or queued."""
    told = 0
    rows = session.execute(
        select(OutboxItem.kind, OutboxItem.ticket_id).where(
            OutboxItem.id.in_(row_ids), OutboxItem.ticket_id.is_not(None)
        )
    ).all()
    for kind, ticket_id in rows:
        what = TOLD_INSTEAD.get(kind)
        ticket = session.get(Ticket, ticket_id) if what else None
        if ticket is not None and what is not None and tell(session, domain, ticket, what):
            told += 1
    return told
