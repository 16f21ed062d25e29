"""What residents ask about their own tickets: the list, the status of one, adding information, rating.

The questions the dialogue answers (status, the ticket awaiting a rating) take the ``Speaker``, so a web
resident asks about their own web tickets; the rest comes from Telegram only (buttons, replies, /my)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tickets import messages, services
from tickets.domain import Domain
from tickets.errors import NotFound
from tickets.models import OutboxItem, Person, Ticket
from tickets.statuses import Satisfaction, Status
from tickets.usecases.people import Speaker, person_for, resident_for
from tickets.usecases.views import StatusAnswer, TicketView

#: Public ticket codes as residents type them: MW-20261123-0001, mw20261123-0001, MW 20261123 0001.
CODE_PATTERN = re.compile(r"MW[\s-]?(\d{8})[\s-]?(\d{4})", re.IGNORECASE)
#: Words of a status question that say nothing about which ticket is meant.
_FILLER = set("我你他她的了吗嘛呢啊呀吧么没有报修好未是在个这那上下周天月和就都也还请问过")
_TIME_HINTS = {  # words → (min days ago, max days ago)
    "今天": (0, 1),
    "今日": (0, 1),
    "昨天": (1, 2),
    "尋日": (1, 2),
    "琴日": (1, 2),
    "前天": (2, 3),
    "上周": (5, 14),
    "上星期": (5, 14),
    "上个礼拜": (5, 14),
    "上礼拜": (5, 14),
    "上个月": (25, 62),
    "上月": (25, 62),
}
MAX_LIST = 10


def find_code(text: str) -> str | None:
    """The ticket code mentioned in ``text``, normalised (MW-YYYYMMDD-NNNN)."""
    m = CODE_PATTERN.search(text)
    return f"MW-{m.group(1)}-{m.group(2)}" if m else None


def _owned(session: Session, person: Person) -> list[Ticket]:
    """``person``'s tickets, newest first (their own, and those forwarded on their behalf)."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.reporter_id == person.id)
            .options(selectinload(Ticket.events), selectinload(Ticket.unit))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(50)
        )
    )


def my_tickets(
    session: Session, domain: Domain, *, telegram_user_id: int, name: str = ""
) -> list[TicketView]:
    person = resident_for(session, telegram_user_id=telegram_user_id, name=name)
    return [
        TicketView.of(t, domain.taxonomy, with_progress=True)
        for t in _owned(session, person)[:MAX_LIST]
    ]


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.strip() and c not in _FILLER and not c.isascii()]
    return {a + b for a, b in itertools.pairwise(chars)} | set(chars)


def _score(ticket: Ticket, question: str, categories: set[str], domain: Domain) -> float:
    score = 2.0 if ticket.category in categories else 0.0
    q, t = _bigrams(question), _bigrams(ticket.original_text + ticket.location_text)
    if q:
        score += len(q & t) / len(q)
    age = domain.clock() - ticket.created_at
    for word, (lo, hi) in _TIME_HINTS.items():
        if word in question and timedelta(days=lo) <= age < timedelta(days=hi):
            score += 0.5
    return score


def find_for_question(
    session: Session, domain: Domain, *, speaker: Speaker, text: str
) -> StatusAnswer:
    """The ticket a status question is about: by code, else the best match among the resident's tickets
    (category words, shared wording, 上周/昨天…), else the only open one; otherwise the list to choose from."""
    person = person_for(session, speaker)
    code = find_code(text)
    if code is not None:
        ticket = services.get_ticket(session, code)
        if ticket.reporter_id != person.id and ticket.forwarder_id != person.id:
            raise NotFound(f"没有找到工单 {code}")
        return StatusAnswer(TicketView.of(ticket, domain.taxonomy, with_progress=True))
    owned = _owned(session, person)
    if not owned:
        return StatusAnswer(None)
    categories = {
        c.code
        for c in domain.taxonomy.categories
        if c.name in text or any(k in text for k in c.keywords)
    }
    scored = sorted(
        ((_score(t, text, categories, domain), i, t) for i, t in enumerate(owned)),
        key=lambda s: (-s[0], s[1]),
    )
    best_score, _, best = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    if best_score >= 0.5 and best_score - runner_up >= 0.25:
        return StatusAnswer(TicketView.of(best, domain.taxonomy, with_progress=True))
    open_tickets = [t for t in owned if t.status.is_open]
    if len(owned) == 1 or len(open_tickets) == 1:
        only = owned[0] if len(owned) == 1 else open_tickets[0]
        return StatusAnswer(TicketView.of(only, domain.taxonomy, with_progress=True))
    return StatusAnswer(None, [TicketView.of(t, domain.taxonomy) for t in owned[:MAX_LIST]])


def ticket_for_bot_message(session: Session, *, chat_id: int, message_id: int) -> str | None:
    """The code of the ticket a message the bot sent (a notification, a status answer) was about."""
    return session.scalar(
        select(Ticket.code)
        .join(OutboxItem, OutboxItem.ticket_id == Ticket.id)
        .where(OutboxItem.chat_id == chat_id, OutboxItem.telegram_message_id == message_id)
    )


def add_info(
    session: Session,
    domain: Domain,
    *,
    telegram_user_id: int,
    code: str,
    text: str = "",
    photo: str | None = None,
) -> str:
    """Add text (and/or a photo's file id) to the resident's own open ticket; returns the code."""
    person = resident_for(session, telegram_user_id=telegram_user_id)
    ticket = services.get_ticket(session, code)
    body = text.strip()
    if photo:
        services.attach_photo(session, domain, ticket, photo, person)
        body = body or messages.PHOTO_ONLY_INFO
    services.add_resident_info(
        session=session, domain=domain, ticket=ticket, text=body, resident=person
    )
    return ticket.code


def rate(
    session: Session,
    domain: Domain,
    *,
    telegram_user_id: int,
    code: str,
    satisfaction: Satisfaction,
    note: str = "",
) -> TicketView:
    person = resident_for(session, telegram_user_id=telegram_user_id)
    ticket = services.get_ticket(session, code)
    services.rate(
        session=session,
        domain=domain,
        ticket=ticket,
        satisfaction=satisfaction,
        resident=person,
        note=note,
    )
    return TicketView.of(ticket, domain.taxonomy)


def note_unsatisfied_reason(
    session: Session, domain: Domain, *, telegram_user_id: int, code: str, reason: str
) -> None:
    """Record why the resident was not satisfied (the ticket was reopened when they rated)."""
    person = resident_for(session, telegram_user_id=telegram_user_id)
    ticket = services.get_ticket(session, code)
    ticket.satisfaction_note = reason.strip()[: services.MAX_NOTE_CHARS]
    services.add_resident_info(
        session=session,
        domain=domain,
        ticket=ticket,
        text=messages.unsatisfied_reason(reason.strip()),
        resident=person,
    )


def latest_resolved(session: Session, *, speaker: Speaker) -> str | None:
    """The code of the resident's most recently resolved ticket still waiting for a rating."""
    person = person_for(session, speaker)
    return session.scalar(
        select(Ticket.code)
        .where(
            Ticket.reporter_id == person.id,
            Ticket.status == Status.RESOLVED.value,
            Ticket.satisfaction.is_(None),
        )
        .order_by(Ticket.resolved_at.desc())
        .limit(1)
    )


def has_tickets(session: Session, *, speaker: Speaker) -> bool:
    """Whether the speaker has filed any ticket (a status question can then be about one)."""
    person = person_for(session, speaker)
    return (
        session.scalar(select(Ticket.id).where(Ticket.reporter_id == person.id).limit(1))
        is not None
    )
