"""督办: one pass of the supervision clock (``tickets.clock``).

A pass claims the due items whose time has come (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has
one writer at a time) and does each in the caller's transaction: a warning to the responsible unit's
work chat, an escalation to the unit above, a progress request, a visit reminder, a publication, a
回访, an automatic close, a group's status lines, and at the end of each month and quarter every
community's and street's short 成绩单 to its grid groups (``plan_report_cards``). A done item is marked done in the same transaction as
the messages it queued, so running the pass twice, or in two processes at once, sends nothing twice;
every message also carries a unique outbox key (``due:<item id>…``).

Before acting the pass checks the item against the ticket's plan as it is now: a step no longer
planned is cancelled; a warning or visit reminder whose moment has passed while a later step is due
too is skipped; a message to residents (or about a non-urgent ticket, when the rules say so) in quiet
hours waits until they end. It runs in the bot process (``bot.supervision``) and as
``python -m tickets supervise``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tickets import clock, learning, messages, outbox, report_card, services, stats, workchats
from tickets.clock import Due, DueKind
from tickets.domain import Domain
from tickets.models import PLANNED_STATUS_SQL, DueItem, LabelFeedback, OutboxItem, Ticket, Unit
from tickets.usecases import groupstatus

#: Items one pass handles at most (one transaction; the caller runs passes until one does nothing).
PASS_LIMIT = 100
#: Wall-clock seconds after which a pass takes no further batch. On SQLite a filing waits for the
#: pass in progress (one writer): ~6 ms of CPU per item made a 200-item pass hold intake back by over
#: a second (benchmarks/bench_supervision.py), and on a loaded machine a 100-item pass still did. An
#: empty pass costs ~6 ms, so short passes cost little throughput.
PASS_SECONDS = 0.25
#: Due rows claimed (and their tickets locked) at a time within a pass.
CLAIM_BATCH = 20
#: Tickets planned with other rules (or before the clock existed) re-planned per pass.
REPLAN_BATCH = 500
#: ... in chunks of this many, so a pass out of time stops re-planning too.
REPLAN_CHUNK = 50


@dataclass(frozen=True)
class Step:
    """What the pass did with one due item (``outcome``: done, skipped, cancelled, held)."""

    kind: str
    ticket: str | None
    unit: str | None
    due_at: datetime
    outcome: str
    chat: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": DueKind(self.kind).label,
            "ticket": self.ticket,
            "unit": self.unit,
            "due_at": self.due_at.isoformat(),
            "outcome": self.outcome,
            "chat": self.chat,
            **self.detail,
        }


def run_pass(
    session: Session,
    domain: Domain,
    *,
    now: datetime | None = None,
    limit: int = PASS_LIMIT,
    seconds: float | None = PASS_SECONDS,
) -> list[Step]:
    """Do up to ``limit`` due items (steps that become due while the pass runs included), taking no
    further batch of ``CLAIM_BATCH`` once ``seconds`` have passed (the first is always taken;
    ``None``: no time limit). Callers run passes until one returns nothing."""
    now = now or domain.clock()
    deadline = None if seconds is None else time.monotonic() + seconds
    replan(session, domain, limit=REPLAN_BATCH, deadline=deadline)
    plan_retrain(session, domain, now)
    plan_report_cards(session, domain, now)
    steps: list[Step] = []
    seen: set[int] = set()
    with workchats.cached(session):  # a pass binds no chat: read them all once, not per message
        while len(seen) < limit and (not seen or deadline is None or time.monotonic() < deadline):
            items = _claim(session, now, min(CLAIM_BATCH, limit - len(seen)), seen)
            if not items:
                break
            tickets = _lock_tickets(session, {i.ticket_id for i in items if i.ticket_id})
            for item in items:
                seen.add(item.id)
                step = _handle(session, domain, item, now, tickets)
                if step is not None:
                    steps.append(step)
            session.flush()
    return steps


def replan(session: Session, domain: Domain, *, limit: int, deadline: float | None = None) -> int:
    """Plan the tickets whose steps were planned with other rules (the file changed, or they were
    filed before the clock existed), ``REPLAN_CHUNK`` at a time until ``limit`` or the ``deadline``
    (``time.monotonic()``; the first chunk is always done); returns how many."""
    digest = domain.rules.digest
    done = 0
    while done < limit:
        tickets: list[Ticket] = []
        chunk = min(REPLAN_CHUNK, limit - done)
        # Digests below and above the current one, one range each: both are empty reads of the
        # partial index ix_tickets_clock_rules_planned when every ticket is planned (its WHERE clause
        # verbatim, for SQLite; ``!=`` or an OR of the two ranges would read every open ticket).
        for other in (Ticket.clock_rules < digest, Ticket.clock_rules > digest):
            if len(tickets) < chunk:
                tickets += session.scalars(
                    select(Ticket)
                    .where(text(PLANNED_STATUS_SQL), other)
                    .limit(chunk - len(tickets))
                    .with_for_update(skip_locked=True)
                ).all()
        for ticket in tickets:
            clock.reschedule(session, domain, ticket)
        done += len(tickets)
        if len(tickets) < chunk or (deadline is not None and time.monotonic() >= deadline):
            break
    return done


def plan_retrain(session: Session, domain: Domain, now: datetime) -> None:
    """Keep one weekly retrain planned (``learning.retrain_every``) while there are staff corrections
    it has not learned from: one period after the last one, or after now when there was none. The key
    is the moment, so two passes planning it at once insert one row."""
    every = domain.rules.retrain_every
    if every is None:
        return
    kind = DueKind.RETRAIN.value
    pending = session.scalar(
        select(DueItem.id).where(DueItem.kind == kind, DueItem.status == clock.PENDING).limit(1)
    )
    if pending is not None:
        return
    last = session.scalars(
        select(DueItem)
        .where(DueItem.kind == kind, DueItem.status == "done")
        .order_by(DueItem.due_at.desc())
        .limit(1)
    ).first()
    learned = int((last.result or {}).get("feedback_id") or 0) if last else 0
    if session.scalar(select(LabelFeedback.id).where(LabelFeedback.id > learned).limit(1)) is None:
        return  # nothing new to learn from
    due_at = every.after(last.due_at if last else now, domain.calendar, domain.settings.timezone)
    row: dict[str, Any] = {
        "ticket_id": None,
        "chat_id": None,
        "kind": kind,
        "key": f"retrain:{clock._stamp(due_at)}",
        "due_at": due_at,
        "status": "pending",
        "data": {},
        "created_at": now,
        "result": {},
    }
    clock.insert_ignoring_duplicates(session, [row])


#: A 成绩单 whose moment passed while no clock ran is still posted this long after it; older ones are
#: not (a clock started in the middle of a month does not post last month's).
REPORT_CARD_CATCH_UP = timedelta(days=3)


def plan_report_cards(session: Session, domain: Domain, now: datetime) -> None:
    """Keep a row planned for the 成绩单 of the current month and quarter (``report_card`` in the
    rules), posted ``after`` the period ends, and of the one just ended while it is still due. The
    key names the period, so it is planned, and posted, once whoever runs the clock."""
    after, tz = domain.rules.report_card_after, domain.settings.timezone
    if after is None:
        return
    rows: dict[str, dict[str, Any]] = {}
    for kind in domain.rules.report_card_periods:
        current = report_card.period_of(kind, now, tz)
        previous = report_card.period_of(kind, current.start - timedelta(seconds=1), tz)
        for period in (previous, current):
            due_at = after.after(period.end, domain.calendar, tz)
            if period is previous and now >= due_at + REPORT_CARD_CATCH_UP:
                continue
            key = f"report_card:{kind}:{period.start.astimezone(tz):%Y-%m-%d}"
            rows[key] = {
                "ticket_id": None,
                "chat_id": None,
                "kind": DueKind.REPORT_CARD.value,
                "key": key,
                "due_at": due_at,
                "status": "pending",
                "data": {
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                    "label": period.label,
                },
                "created_at": now,
                "result": {},
            }
    planned = set(session.scalars(select(DueItem.key).where(DueItem.key.in_(list(rows)))))
    missing = [row for key, row in rows.items() if key not in planned]
    if missing:
        clock.insert_ignoring_duplicates(session, missing)


def _post_report_cards(session: Session, domain: Domain, item: DueItem, now: datetime) -> Step:
    """Post the period's 成绩单 of every community and street to its groups (not in quiet hours)."""
    kind, quiet, tz = DueKind.REPORT_CARD.value, domain.rules.quiet, domain.settings.timezone
    if quiet.contains(now, tz):
        item.due_at = quiet.release(now, tz)
        return Step(kind, None, None, item.due_at, "held", None, {"until": item.due_at.isoformat()})
    data = item.data
    period = stats.Period(
        datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"]), data["label"]
    )
    posted = report_card.post_to_every_area(session, domain, period)
    result = {"period": period.label, "groups": sum(posted.values()), "units": posted}
    _finish(item, "done", now, result)
    return Step(kind, None, None, item.due_at, "done", None, result)


def _claim(session: Session, now: datetime, limit: int, seen: set[int]) -> Sequence[DueItem]:
    stmt = (
        select(DueItem)
        .where(DueItem.status == clock.PENDING, DueItem.due_at <= now)
        .order_by(DueItem.due_at, DueItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if seen:
        stmt = stmt.where(DueItem.id.not_in(seen))
    return session.scalars(stmt).all()


def _lock_tickets(session: Session, ids: set[int]) -> dict[int, Ticket]:
    """The claimed items' tickets, locked in one query; a ticket another transaction is changing
    right now is left out (its items wait for the next pass)."""
    if not ids:
        return {}
    found = session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).with_for_update(skip_locked=True)
    )
    return {t.id: t for t in found}


def _handle(
    session: Session, domain: Domain, item: DueItem, now: datetime, tickets: dict[int, Ticket]
) -> Step | None:
    if item.status != "pending":  # done with another of its group's lines in this pass
        return None
    kind = DueKind(item.kind)
    if kind is DueKind.GROUP_STATUS:
        result = groupstatus.flush(session, domain, item, now)
        _finish(item, "done", now, result)
        return Step(kind.value, None, None, item.due_at, "done", item.chat_id, result)
    if kind is DueKind.RETRAIN:
        started = learning.start_retrain(
            session, domain.settings, actor=None, label="每周自动再训练", now=now
        )
        result = {
            "started": started,
            "feedback_id": session.scalar(select(func.max(LabelFeedback.id))) or 0,
        }
        _finish(item, "done", now, result)
        return Step(kind.value, None, None, item.due_at, "done", None, result)
    if kind is DueKind.REPORT_CARD:
        return _post_report_cards(session, domain, item, now)
    ticket = tickets.get(item.ticket_id) if item.ticket_id is not None else None
    if ticket is None:  # being changed by someone else right now: the next pass takes it
        return None
    tree = domain.units(session)
    unit = tree.by_id.get(ticket.unit_id) if ticket.unit_id else None

    def step(outcome: str, chat: int | None = None, **detail: Any) -> Step:
        return Step(
            kind.value, ticket.code, unit.code if unit else None, item.due_at, outcome, chat, detail
        )

    chain, due = _planned(domain, ticket, item.key)
    if due is None:
        _finish(item, "cancelled", now, {})
        return step("cancelled")
    if due.at > now:  # the rules moved it later
        item.due_at = due.at
        return step("held", until=due.at.isoformat())
    if _superseded(ticket, kind, chain, due, now):
        _finish(item, "skipped", now, {})
        clock.reschedule(session, domain, ticket)
        return step("skipped")
    if _quiet(domain, ticket, kind, now):
        item.due_at = domain.rules.quiet.release(now, domain.settings.timezone)
        return step("held", until=item.due_at.isoformat())
    result = ACTIONS[kind](Job(session, domain, ticket, unit, item, now))
    _finish(item, "done", now, result)
    clock.reschedule(session, domain, ticket)
    chat = result.pop("chat", None)
    return step("done", chat if isinstance(chat, int) else None, **result)


def _planned(domain: Domain, ticket: Ticket, key: str) -> tuple[list[Due], Due | None]:
    for chain in clock.plan_for(domain, ticket):
        for due in chain:
            if due.key == key:
                return chain, due
    return [], None


def _superseded(ticket: Ticket, kind: DueKind, chain: list[Due], due: Due, now: datetime) -> bool:
    """A warning or visit reminder whose moment has passed: a later step of its chain, at a later
    moment, is due too (or the visit time itself has passed)."""
    if kind not in (DueKind.WARN, DueKind.VISIT):
        return False
    if kind is DueKind.VISIT and ticket.visit_at is not None and ticket.visit_at <= now:
        return True
    later = chain[chain.index(due) + 1 :]
    return bool(later) and due.at < later[0].at <= now


def _quiet(domain: Domain, ticket: Ticket, kind: DueKind, now: datetime) -> bool:
    quiet = domain.rules.quiet
    if kind.audience == "none" or not quiet.contains(now, domain.settings.timezone):
        return False
    if kind.audience == "resident":
        return True
    return quiet.staff and not ticket.urgent


def _finish(item: DueItem, status: str, now: datetime, result: dict[str, Any]) -> None:
    item.status = status
    item.done_at = now
    item.result = result


# ------------------------------------------------------------------------------------- the actions


@dataclass(frozen=True)
class Job:
    """One due item being done: its ticket, the unit handling it, and the pass's transaction."""

    session: Session
    domain: Domain
    ticket: Ticket
    unit: Unit | None
    item: DueItem
    now: datetime

    def tell_unit(self, text: str, markup: dict[str, Any] | None = None) -> dict[str, Any]:
        """Post ``text`` to the work chat of the handling unit (or the nearest above, or the staff
        chat), as a reply to the ticket's card when the card is in that chat."""
        session, ticket = self.session, self.ticket
        tree = self.domain.units(session)
        chat = workchats.chat_for(
            session,
            tree,
            self.unit or (tree.by_id.get(ticket.area_id) if ticket.area_id else None),
            self.domain.settings.staff_chat_id,
        )
        if chat is None:
            return {"chat": None, "sent": False}
        card = session.scalar(
            select(OutboxItem.id)
            .where(
                OutboxItem.ticket_id == ticket.id,
                OutboxItem.chat_id == chat.chat_id,
                OutboxItem.kind.in_(services.STAFF_CARD_KINDS),
            )
            .order_by(OutboxItem.id.desc())
            .limit(1)
        )
        outbox.enqueue(
            session,
            chat_id=chat.chat_id,
            text=text,
            kind=f"clock_{self.item.kind}",
            ticket=ticket,
            reply_markup=markup,
            extra={"reply_to_of": card} if card is not None else None,
            dedupe_key=f"due:{self.item.id}",
            check_duplicate=False,  # the key names this claimed item: it cannot exist yet
        )
        return {"chat": chat.chat_id, "to": chat.unit_code}


Act = Callable[[Job], dict[str, Any]]


def _warn(job: Job) -> dict[str, Any]:
    before = str(job.item.data.get("before", "0"))
    text = messages.due_warning(job.ticket, before, job.domain.settings.timezone)
    return {**job.tell_unit(text), "before": before}


def _escalate(reason: str) -> Act:
    def act(job: Job) -> dict[str, Any]:
        level = int(job.item.data.get("level", 1))
        ticket, unit = job.ticket, job.unit
        tree = job.domain.units(job.session)
        handling = unit or (tree.by_id.get(ticket.area_id) if ticket.area_id else None)
        to = workchats.above(tree, handling, level)
        chat = services.escalate(
            session=job.session, domain=job.domain, ticket=ticket, level=level, to=to, reason=reason
        )
        if to is not None and unit is not None and to.id != unit.id:
            job.tell_unit(messages.escalated_told(ticket, to.name, reason))
        return {
            "chat": chat.chat_id if chat else None,
            "to": to.code if to else None,
            "level": level,
        }

    return act


def _progress(job: Job) -> dict[str, Any]:
    ticket = job.ticket
    text = messages.progress_request(ticket, job.domain.taxonomy.name(ticket.category))
    sent = job.tell_unit(text, messages.progress_keyboard(ticket.code))
    ticket.progress_at = job.now  # the next request counts from this one
    return sent


def _visit(job: Job) -> dict[str, Any]:
    ticket = job.ticket
    place = ticket.location_text or (ticket.area.name if ticket.area else "—")
    text = messages.visit_reminder(ticket, job.domain.settings.timezone, place)
    return {
        **job.tell_unit(text),
        "visit_at": ticket.visit_at.isoformat() if ticket.visit_at else None,
    }


def _publish(job: Job) -> dict[str, Any]:
    services.publish(session=job.session, domain=job.domain, ticket=job.ticket)
    return {"published": True}


def _callback(job: Job) -> dict[str, Any]:
    asked = services.ask_callback(session=job.session, domain=job.domain, ticket=job.ticket)
    if asked:
        return {"asked": asked}
    return {**job.tell_unit(messages.callback_unreachable(job.ticket)), "asked": 0}


def _auto_close(job: Job) -> dict[str, Any]:
    services.close(
        session=job.session, domain=job.domain, ticket=job.ticket, actor="回访期满", reason="未评价"
    )
    return {"closed": True}


ACTIONS: dict[DueKind, Act] = {
    DueKind.WARN: _warn,
    DueKind.ESCALATE: _escalate("overdue"),
    DueKind.URGENT: _escalate("urgent_not_accepted"),
    DueKind.PROGRESS: _progress,
    DueKind.VISIT: _visit,
    DueKind.PUBLISH: _publish,
    DueKind.CALLBACK: _callback,
    DueKind.AUTO_CLOSE: _auto_close,
}


def due_count(session: Session, *, now: datetime) -> int:
    """How many items are due now (monitoring, the CLI's summary)."""
    return int(
        session.scalar(
            select(func.count(DueItem.id)).where(
                DueItem.status == clock.PENDING, DueItem.due_at <= now
            )
        )
        or 0
    )
