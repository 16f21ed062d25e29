"""Grid groups: binding a group to a grid, filing what its members say, and the grid's digest."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, exc, func, or_, select
from sqlalchemy.orm import Session, selectinload

from nlu.pii import redact
from tickets import codes, messages, review, services, stats
from tickets.classification import Classification
from tickets.cleaning import scrub
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied, TicketError
from tickets.geo import Point
from tickets.models import ChatBinding, Person, ReviewItem, Ticket, Unit
from tickets.statuses import OPEN_STATUSES, Role, Source, Status
from tickets.usecases import groupstatus
from tickets.usecases.people import residents_for, staff_for
from tickets.usecases.views import Digest, GroupMessage, GroupOutcome, TicketView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Binding:
    chat_id: int
    grid_id: int
    grid_code: str
    grid_name: str
    reply_in_group: bool


@dataclass(frozen=True)
class Thresholds:
    """A group message is filed at ``file`` and above, reviewed from ``review``, otherwise dropped."""

    file: float
    review: float


def demand_probability(result: Classification) -> float:
    """How likely the NLU thinks a message is a demand (its ``demand_confidence`` is P(demand))."""
    return result.demand_confidence


def verdict(result: Classification, thresholds: Thresholds) -> str:
    """What happens to a classified group message: ``file``, ``review`` (待复核) or ``drop``."""
    p = demand_probability(result)
    if result.is_demand and p >= thresholds.file:
        return "file"
    if p >= thresholds.review:
        return "review"
    return "drop"


def bindings(session: Session) -> dict[int, Binding]:
    rows = session.execute(
        select(ChatBinding.chat_id, Unit.id, Unit.code, Unit.name, ChatBinding.reply_in_group).join(
            Unit, Unit.id == ChatBinding.grid_id
        )
    )
    return {r[0]: Binding(*r) for r in rows}


def _may_bind(person: Person, grid: Unit, domain: Domain, session: Session) -> bool:
    tree = domain.units(session)
    if person.role is Role.DISTRICT_ADMIN and person.unit_id is None:
        return True
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    return scope is not None and tree.is_within(grid.id, scope)


def bind(
    session: Session,
    domain: Domain,
    *,
    chat_id: int,
    title: str,
    grid_code: str,
    telegram_user_id: int | None,
    reply_in_group: bool | None = None,
) -> Binding:
    """Bind a group to a grid: grid members of that grid and staff/admins above it only."""
    person = staff_for(session, telegram_user_id)
    try:
        grid = domain.units(session).get(grid_code.strip().upper())
    except NotFound:
        grid = domain.units(session).get(grid_code.strip())
    if grid.level != "grid":
        raise InvalidInput(f"{grid.code}（{grid.name}）不是网格，请用网格编码绑定")
    if not _may_bind(person, grid, domain, session):
        raise PermissionDenied(f"您不能绑定{grid.name}")
    binding = session.scalar(select(ChatBinding).where(ChatBinding.chat_id == chat_id))
    if binding is None:
        binding = ChatBinding(chat_id=chat_id, grid_id=grid.id, bound_at=domain.clock())
        session.add(binding)
    binding.grid_id = grid.id
    binding.title = title[:255]
    binding.bound_by_id = person.id
    if reply_in_group is not None:
        binding.reply_in_group = reply_in_group
    session.flush()
    return Binding(chat_id, grid.id, grid.code, grid.name, binding.reply_in_group)


def unbind(session: Session, domain: Domain, *, chat_id: int, telegram_user_id: int | None) -> bool:
    staff_for(session, telegram_user_id)
    binding = session.scalar(select(ChatBinding).where(ChatBinding.chat_id == chat_id))
    if binding is None:
        return False
    session.delete(binding)
    return True


def set_reply_in_group(
    session: Session, domain: Domain, *, chat_id: int, telegram_user_id: int | None, on: bool
) -> None:
    staff_for(session, telegram_user_id)
    binding = session.scalar(select(ChatBinding).where(ChatBinding.chat_id == chat_id))
    if binding is None:
        raise NotFound("本群还没有绑定网格")
    binding.reply_in_group = on


@dataclass(frozen=True)
class Recorded:
    """What became of one classified group message (inside a unit of work)."""

    decision: str  # file | review | drop
    ticket: Ticket | None = None
    review_item: ReviewItem | None = None


def record_group_message(
    session: Session,
    domain: Domain,
    *,
    text: str,
    result: Classification,
    thresholds: Thresholds,
    source: Source,
    chat_id: int,
    message_id: int,
    grid_id: int,
    reporter: Person | None,
    origin_label: str | None,
    actor: Person | str = "system",
) -> Recorded:
    """File, queue for review, or drop one classified message said in the grid ``grid_id``'s group.

    The one decision for every group message, from a bound Telegram group (``record_group_messages``) or
    pasted into the console's 试一试 page (``tickets.usecases.web``): ``verdict`` with the group thresholds;
    a ticket is placed where the NLU's locations say, else in the grid. Idempotent by (chat, message):
    the same message is filed, or queued, once.
    """
    decision = verdict(result, thresholds)
    if decision == "file" and len(text) > services.MAX_TEXT_CHARS:
        # Too long to be a ticket: a person files it (cut) from the review queue, which keeps it whole.
        item = _review(
            session,
            domain,
            text=text,
            result=result,
            source=source,
            chat_id=chat_id,
            message_id=message_id,
            grid_id=grid_id,
            reporter=reporter,
            origin_label=origin_label,
            reason=review.TOO_LONG,
        )
        return Recorded("review", review_item=item)
    if decision == "file":
        classification = result
        locations = [loc["text"] for loc in classification.locations if loc.get("text")]
        tree = domain.units(session)
        ticket = services.file_ticket(
            session=session,
            domain=domain,
            text=text,
            source=source,
            classification=classification,
            reporter=reporter,
            origin_label=origin_label,
            chat_id=chat_id,
            message_id=message_id,
            area=tree.locate(locations) or tree.by_id.get(grid_id),
            actor=actor,
        )
        return Recorded(decision, ticket=ticket)
    if decision == "review":
        item = _review(
            session,
            domain,
            text=text,
            result=result,
            source=source,
            chat_id=chat_id,
            message_id=message_id,
            grid_id=grid_id,
            reporter=reporter,
            origin_label=origin_label,
        )
        return Recorded(decision, review_item=item)
    return Recorded(decision)


def record_group_messages(
    session: Session,
    domain: Domain,
    messages: Sequence[GroupMessage],
    results: Sequence[Classification],
    *,
    thresholds: Thresholds,
) -> list[GroupOutcome]:
    """File, queue for review, or drop each classified group message (one transaction for the batch).

    Filing is idempotent by (chat, message), so an edited or redelivered message is filed once; a
    group with replies on is told in a status line (``groupstatus``, rate limited per group). The
    batch's tickets and cases get their codes when it ends (``codes.numbered_last``): the day's
    counter rows are locked only for the last moments of the transaction, not from its first filing,
    so two workers' batches do not queue on them. The status lines (they carry a signed link) and the
    outcomes are made after the numbering, with the final codes.
    """
    bound = bindings(session)
    senders = residents_for(
        session,
        {m.user_id: (m.user_name, m.username) for m in messages if m.user_id is not None},
    )
    outcomes: list[GroupOutcome | Ticket] = []
    filed: list[tuple[Ticket, Binding]] = []
    with codes.numbered_last(session):
        for message, result in zip(messages, results, strict=True):
            binding = bound.get(message.chat_id)
            if binding is None:
                outcomes.append(GroupOutcome("unbound"))
                continue
            reporter = senders.get(message.user_id) if message.user_id is not None else None
            try:
                with session.begin_nested():  # one message's problem stays that message's problem
                    recorded = record_group_message(
                        session,
                        domain,
                        text=message.text,
                        result=result,
                        thresholds=thresholds,
                        source=Source.GROUP,
                        chat_id=message.chat_id,
                        message_id=message.message_id,
                        grid_id=binding.grid_id,
                        reporter=reporter,
                        origin_label=message.user_name or None,
                    )
            except (TicketError, exc.DataError, exc.IntegrityError, exc.ProgrammingError) as e:
                log.warning(
                    "group message %s/%s not filed: %r", message.chat_id, message.message_id, e
                )
                outcomes.append(_set_aside(session, domain, message, result, binding, reporter, e))
                continue
            if recorded.ticket is not None:
                filed.append((recorded.ticket, binding))
                outcomes.append(recorded.ticket)
            elif recorded.decision == "review":
                outcomes.append(GroupOutcome("review"))
            else:
                outcomes.append(GroupOutcome("dropped"))
    replies = {id(ticket): binding.reply_in_group for ticket, binding in filed}
    told = [ticket for ticket, binding in filed if binding.reply_in_group]
    groupstatus.tell_many(session, domain, told, groupstatus.FILED)
    session.flush()
    return [
        GroupOutcome("filed", o.code, domain.taxonomy.name(o.category), replies[id(o)])
        if isinstance(o, Ticket)
        else o
        for o in outcomes
    ]


def _set_aside(
    session: Session,
    domain: Domain,
    message: GroupMessage,
    result: Classification,
    binding: Binding,
    reporter: Person | None,
    error: Exception,
) -> GroupOutcome:
    """A message that could not be recorded goes to the review queue (never dropped); if even that
    fails, its outcome says so and the update stays failed in the inbox."""
    try:
        with session.begin_nested():
            _review(
                session,
                domain,
                text=scrub(message.text),
                result=result,
                source=Source.GROUP,
                chat_id=message.chat_id,
                message_id=message.message_id,
                grid_id=binding.grid_id,
                reporter=reporter,
                origin_label=message.user_name or None,
                reason=review.FAILED,
            )
    except (TicketError, exc.DataError, exc.IntegrityError, exc.ProgrammingError) as e:
        log.warning(
            "group message %s/%s not set aside either: %r", message.chat_id, message.message_id, e
        )
        return GroupOutcome("error", error=f"{type(error).__name__}: {error}"[:500])
    return GroupOutcome("review")


def _review(
    session: Session,
    domain: Domain,
    *,
    text: str,
    result: Classification,
    source: Source,
    chat_id: int,
    message_id: int,
    grid_id: int,
    reporter: Person | None,
    origin_label: str | None,
    reason: str = "low_confidence",
) -> ReviewItem:
    existing = session.scalar(
        select(ReviewItem).where(ReviewItem.chat_id == chat_id, ReviewItem.message_id == message_id)
    )
    if existing is not None:
        return existing
    item = ReviewItem(
        source=source,
        chat_id=chat_id,
        message_id=message_id,
        reporter_id=reporter.id if reporter else None,
        origin_label=origin_label,
        area_id=grid_id,
        text=text,
        redacted_text=redact(text),
        nlu=result.as_dict(),
        reason=reason,
        created_at=domain.clock(),
    )
    session.add(item)
    return item


def _area_filter(session: Session, domain: Domain, area: Unit) -> ColumnElement[bool]:
    ids = domain.units(session).subtree_ids(area)
    return or_(Ticket.unit_id.in_(ids), Ticket.area_id.in_(ids))


def digest_area(
    session: Session, domain: Domain, *, chat_id: int | None, telegram_user_id: int | None
) -> Unit:
    """The area a /digest is about: the bound grid of a group, else the asker's own unit."""
    person = staff_for(session, telegram_user_id)
    tree = domain.units(session)
    if chat_id is not None:
        binding = bindings(session).get(chat_id)
        if binding is not None:
            return tree.by_id[binding.grid_id]
    if person.unit_id is not None and person.unit_id in tree.by_id:
        return tree.by_id[person.unit_id]
    root = tree.root
    if root is None:
        raise NotFound("没有可以汇总的辖区")
    return root


def digest(
    session: Session, domain: Domain, *, chat_id: int | None, telegram_user_id: int | None
) -> Digest:
    """Open tickets (urgent and overdue first), counts by status, 30-day hotspots and the review queue."""
    area = digest_area(session, domain, chat_id=chat_id, telegram_user_id=telegram_user_id)
    where = _area_filter(session, domain, area)
    is_open = Ticket.status.in_([s.value for s in OPEN_STATUSES])
    now = domain.clock()
    counts: dict[Status, int] = {
        status: n
        for status, n in session.execute(
            select(Ticket.status, func.count(Ticket.id))
            .where(where, is_open)
            .group_by(Ticket.status)
        )
    }
    overdue = session.scalar(
        select(func.count(Ticket.id)).where(where, is_open, Ticket.due_at < now)
    )
    tickets = session.scalars(
        select(Ticket)
        .where(where, is_open)
        .options(selectinload(Ticket.unit))
        .order_by(
            Ticket.urgent.desc(),
            case((Ticket.due_at < now, 0), else_=1),
            Ticket.created_at,
        )
        .limit(8)
    )
    period = stats.parse_period("30d", domain.settings.timezone, now)
    spots = stats.hotspots(session, period=period, limit=5, scope=where)
    ids = domain.units(session).subtree_ids(area)
    pending = session.scalar(
        select(func.count(ReviewItem.id)).where(
            ReviewItem.status == "pending", ReviewItem.area_id.in_(ids)
        )
    )
    ordered = [s for s in Status if s in OPEN_STATUSES and s in counts]
    return Digest(
        area_name=area.name,
        open_count=sum(counts.values()),
        overdue_count=int(overdue or 0),
        by_status=[(s.label, counts[s]) for s in ordered],
        tickets=[TicketView.of(t, domain.taxonomy) for t in tickets],
        hotspots=[
            messages.hotspot(domain.taxonomy.name(s.category), s.title, s.reports) for s in spots
        ],
        pending_review=int(pending or 0),
    )


def pin_group_message(
    session: Session,
    domain: Domain,
    *,
    chat_id: int,
    message_id: int,
    telegram_user_id: int,
    name: str,
    latitude: float,
    longitude: float,
) -> str | None:
    """A location shared in a grid group in reply to a message that was filed: the ticket's pin (from
    its reporter, a grid member or staff). The ticket's code, or None when the message was not filed,
    the ticket is closed or the sender may not place it."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.chat_id == chat_id, Ticket.message_id == message_id)
    )
    if ticket is None:
        return None
    person = residents_for(session, {telegram_user_id: (name, None)})[telegram_user_id]
    try:
        services.add_pin(
            session=session,
            domain=domain,
            ticket=ticket,
            point=Point.parse(latitude, longitude),
            actor=person,
        )
    except (NotFound, InvalidInput) as e:
        log.info("pin for %s from %s not taken: %s", ticket.code, telegram_user_id, e)
        return None
    return ticket.code
