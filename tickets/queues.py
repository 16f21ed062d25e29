"""The bot's side of the inbox and the outbox (``tickets.inbox`` / ``tickets.outbox``): storing updates,
claiming them in a safe order, finishing them, and queueing replies.

Order is kept by construction. An update of a conversation (kinds in ``ORDERED_KINDS``) is claimable only
when no earlier update of the same chat is still unfinished, and an outbox row only when no unsent row of
the same chat comes before it — one of higher priority, or an earlier one of the same priority (an urgent
card overtakes a duty chat's backlog; a row that edits or replies to an unsent one has its priority, so it
never overtakes it); so one chat is handled one step at a time while different chats run side by side.
Plain group chatter and forwards are independent of each other and are claimed freely.

Several bot processes share the queues. A claim carries its owner (the worker id) and a lease that the
owner's heartbeat renews (``renew_leases``); a row whose lease ran out belongs to a worker that died or
lost the database, and any worker may claim it again (``taken_over``). Nobody releases other workers'
claims: at start a worker releases only its own (``release_own_claims``; worker ids are stable). A
late result of a worker that lost its lease does not undo the new owner's work: "done" and "sent" are
recorded whoever reports them (the work behind them is idempotent), retries and failures only by the
current owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from tickets import inbox, outbox
from tickets.models import ForwardBurst, InboxItem, OutboxItem, Ticket, utcnow

#: How long a claim holds without its owner's heartbeat.
LEASE = timedelta(seconds=30)
#: The owner of claims made without one (tests, tools).
LOCAL = "local"
#: The owner of a burst waiting to be tried again (no worker's heartbeat renews it).
RETRY = "(retry)"

#: Update kinds that belong to a conversation and must be handled in order, one at a time per chat.
ORDERED_KINDS = (
    "private",
    "callback",
    "command",
    "reply",
    "edited",
    "member",
    "poll_answer",
    "other",
)
#: Kinds handled independently: chatter in grid groups, and forwards (coalesced by the bot itself).
FREE_KINDS = ("group", "forward")


@dataclass(frozen=True)
class Outgoing:
    """A message for the outbox: ``sendMessage`` by default, or an edit of an earlier message."""

    text: str
    reply_markup: dict[str, Any] | None = None
    method: str = "sendMessage"
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "reply"
    #: The ticket the message is about (a reply to it then adds information to that ticket).
    ticket_code: str | None = None


@dataclass(frozen=True)
class InboxRow:
    id: int
    update_id: int
    kind: str
    chat_id: int | None
    payload: dict[str, Any]
    attempts: int
    #: Claimed after another worker's lease ran out.
    taken_over: bool = False


@dataclass(frozen=True)
class OutboxRow:
    id: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    kind: str
    attempts: int
    #: Claimed after another worker's lease ran out: it may have been delivered already.
    taken_over: bool = False


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    payload: dict[str, Any]
    kind: str
    chat_id: int | None


def store_updates(
    session: Session, updates: Iterable[StoredUpdate], *, now: datetime | None = None
) -> int:
    """Write updates to the inbox (a redelivered update id is ignored); returns how many were new.

    The same rows as ``tickets.inbox.store``, written with one statement for the whole batch."""
    now = now or utcnow()
    rows = [
        {
            "update_id": u.update_id,
            "payload": u.payload,
            "kind": u.kind,
            "chat_id": u.chat_id,
            "status": "pending",
            "attempts": 0,
            "received_at": now,
        }
        for u in updates
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = InboxItem.__table__  # type: ignore[assignment]
    # One multi-row INSERT: a batch given as executemany parameters is one statement a row on psycopg
    result = session.connection().execute(
        insert(table).values(rows).on_conflict_do_nothing(index_elements=[table.c.update_id])
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release_own_claims(session: Session, owner: str) -> tuple[int, int]:
    """At start: give back what this worker (same id) held when it died, (inbox, outbox). Other
    workers' claims are left to their leases."""
    a = session.execute(
        update(InboxItem)
        .where(InboxItem.status == "processing", InboxItem.claimed_by == owner)
        .values(status="pending", lease_until=None)
    )
    b = session.execute(
        update(OutboxItem)
        .where(OutboxItem.status == "sending", OutboxItem.claimed_by == owner)
        .values(status="pending", lease_until=None)
    )
    session.execute(  # its claimed bursts: expired, for whoever comes first (itself, now)
        update(ForwardBurst)
        .where(ForwardBurst.claimed_by == owner)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    return int(getattr(a, "rowcount", 0) or 0), int(getattr(b, "rowcount", 0) or 0)


def renew_leases(
    session: Session,
    *,
    owner: str,
    inbox_rows: Sequence[int] = (),
    outbox_rows: Sequence[int] = (),
    bursts: Sequence[int] = (),
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> int:
    """The heartbeat: extend the claims ``owner`` is working on (by id; a claim it holds and no
    longer works on, e.g. a result it could not record, is left to expire); returns how many.

    A row locked by the transaction doing its work (a group batch locks its rows in ``still_held``
    until it commits) is skipped (``SKIP LOCKED``): no peer can claim a locked row, and waiting for
    that transaction held up the renewal of every other row and, behind it, the marking of finished
    ones (the waits ``benchmarks/bench_lock_waits.py`` found on the inbox)."""
    until = (now or utcnow()) + lease
    held = 0
    for model, ids in ((InboxItem, inbox_rows), (OutboxItem, outbox_rows), (ForwardBurst, bursts)):
        if not ids:
            continue
        free = (
            select(model.id)
            .where(model.id.in_(list(ids)), model.claimed_by == owner)
            .with_for_update(skip_locked=True)
        )
        result = session.execute(
            update(model)
            .where(model.id.in_(free))
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        held += int(getattr(result, "rowcount", 0) or 0)
    return held


def _inbox_abandoned(now: datetime) -> Any:
    """Claimed rows whose lease ran out (rows claimed before leases existed: by the old timeout)."""
    return (InboxItem.status == "processing") & (
        (InboxItem.lease_until <= now)
        | (InboxItem.lease_until.is_(None) & (InboxItem.claimed_at <= now - inbox.CLAIM_TIMEOUT))
    )


def _outbox_abandoned(now: datetime) -> Any:
    return (OutboxItem.status == "sending") & (
        (OutboxItem.lease_until <= now)
        | (
            OutboxItem.lease_until.is_(None)
            & (OutboxItem.next_attempt_at <= now - outbox.CLAIM_TIMEOUT)
        )
    )


def _claimable_inbox(now: datetime) -> Select[tuple[InboxItem]]:
    earlier = aliased(InboxItem)
    ready = (InboxItem.status == "pending") & (
        InboxItem.not_before.is_(None) | (InboxItem.not_before <= now)
    )
    abandoned = _inbox_abandoned(now)
    blocked = and_(
        InboxItem.kind.in_(ORDERED_KINDS),
        exists().where(
            earlier.chat_id == InboxItem.chat_id,
            earlier.update_id < InboxItem.update_id,
            earlier.kind.in_(ORDERED_KINDS),
            earlier.status.in_(("pending", "processing")),
        ),
    )
    return select(InboxItem).where(or_(ready, abandoned), ~blocked)


def claim_inbox(
    session: Session,
    *,
    limit: int,
    owner: str = LOCAL,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> list[InboxRow]:
    """Claim updates ready to process, oldest first, at most one unfinished step per conversation,
    for ``owner`` until ``now + lease`` (renewed by ``renew_leases``)."""
    now = now or utcnow()
    # Two statements for the whole batch: choose and lock (skipping rows a peer is claiming), then
    # one UPDATE for all of them (per-row ORM updates were one statement a row).
    chosen = session.execute(
        _claimable_inbox(now)
        .with_only_columns(InboxItem.id, InboxItem.status)
        .order_by(InboxItem.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not chosen:
        return []
    taken_over = {row_id for row_id, status in chosen if status == "processing"}
    table: Table = InboxItem.__table__  # type: ignore[assignment]
    claimed = session.execute(
        update(table)
        .where(table.c.id.in_([row_id for row_id, _ in chosen]))
        .values(
            status="processing",
            claimed_at=now,
            claimed_by=owner,
            lease_until=now + lease,
            attempts=table.c.attempts + 1,
        )
        .returning(
            table.c.id,
            table.c.update_id,
            table.c.kind,
            table.c.chat_id,
            table.c.payload,
            table.c.attempts,
        )
    ).all()
    return [
        InboxRow(row_id, update_id, kind, chat_id, payload, attempts, row_id in taken_over)
        for row_id, update_id, kind, chat_id, payload, attempts in sorted(
            claimed, key=lambda r: r[1]
        )
    ]


def finish_inbox(
    session: Session,
    *,
    done: Sequence[int] = (),
    retry: Sequence[tuple[int, str, float]] = (),
    owner: str | None = None,
    now: datetime | None = None,
) -> None:
    """Mark rows done, or pending again after ``delay`` seconds with the error (by row id).

    Done is recorded whoever says so (the work is committed); a retry only while ``owner`` (when
    given) still holds the row — after its lease ran out the row is another worker's."""
    now = now or utcnow()
    if done:  # one statement for all of them
        session.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(list(done)), InboxItem.status != "done")
            .values(status="done", processed_at=now, error=None, lease_until=None)
        )
    if not retry:
        return
    ids = [r[0] for r in retry]
    items = {i.id: i for i in session.scalars(select(InboxItem).where(InboxItem.id.in_(ids)))}
    for row_id, error, delay in retry:
        if row_id in items and _holds(items[row_id], "processing", owner):
            inbox.mark_retry(items[row_id], error=error, delay=timedelta(seconds=delay), now=now)
            items[row_id].lease_until = None


def still_held(session: Session, row_ids: Sequence[int], owner: str) -> set[int]:
    """Inside the transaction doing their work: which of ``row_ids`` ``owner`` still holds, locked
    until it commits. A row taken over by a peer (whose lease ran out here) is not; its work is the
    peer's now. The lock keeps a peer from taking the rest over until this work is committed."""
    if not row_ids:
        return set()
    return set(
        session.scalars(
            select(InboxItem.id)
            .where(
                InboxItem.id.in_(list(row_ids)),
                InboxItem.status == "processing",
                InboxItem.claimed_by == owner,
            )
            .with_for_update()
        )
    )


def _holds(item: InboxItem | OutboxItem, status: str, owner: str | None) -> bool:
    return item.status == status and (owner is None or item.claimed_by == owner)


def fail_inbox(
    session: Session, failed: Sequence[tuple[int, str]], *, owner: str | None = None
) -> None:
    """Give up on rows whose processing hit a bug (kept with the error, for a person to look at)."""
    if not failed:
        return
    items = {
        i.id: i
        for i in session.scalars(select(InboxItem).where(InboxItem.id.in_([f[0] for f in failed])))
    }
    for row_id, error in failed:
        if row_id in items and _holds(items[row_id], "processing", owner):
            items[row_id].status = "failed"
            items[row_id].error = error[:2000]
            items[row_id].lease_until = None


def unfinished_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count(InboxItem.id)).where(
                InboxItem.status.in_(("pending", "processing", "waiting"))
            )
        )
        or 0
    )


def queue_messages(
    session: Session,
    *,
    chat_id: int,
    messages: Sequence[Outgoing],
    key: str,
) -> int:
    """Queue messages for one chat; ``key`` (e.g. the update id) makes queueing them twice a no-op."""
    queued = 0
    for n, m in enumerate(messages):
        item = outbox.enqueue(
            session,
            chat_id=chat_id,
            text=m.text,
            kind=m.kind,
            reply_markup=m.reply_markup,
            method=m.method,
            extra=m.extra,
            dedupe_key=f"{key}:{n}",
        )
        if item is not None:
            if m.ticket_code is not None:
                item.ticket_id = session.scalar(
                    select(Ticket.id).where(Ticket.code == m.ticket_code)
                )
            queued += 1
    return queued


def _claimable_outbox(now: datetime) -> Select[tuple[OutboxItem]]:
    """Due (or abandoned) rows that no row of the same chat still to send comes before: one of
    higher priority, or an earlier one of the same priority. That is, each chat's head in
    (priority, queue) order, found by numbering the rows still to send per chat (one sort of
    them, read through ``ix_outbox_status_next``): asking "is another row ahead of this one?" row
    by row compared every pair of a chat's backlog (PostgreSQL's hash anti join on the chat filters
    the pairs), 2.9 s a claim with 4,400 cards waiting in one chat."""
    place = (
        func.row_number()
        .over(partition_by=OutboxItem.chat_id, order_by=(OutboxItem.priority.desc(), OutboxItem.id))
        .label("place")
    )
    waiting = select(OutboxItem.id, place).where(OutboxItem.status.in_(outbox.WAITING)).subquery()
    heads = select(waiting.c.id).where(waiting.c.place == 1)
    due = (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now)
    abandoned = _outbox_abandoned(now)
    return select(OutboxItem).where(OutboxItem.id.in_(heads), or_(due, abandoned))


def claim_outbox(
    session: Session,
    *,
    limit: int,
    owner: str = LOCAL,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> list[OutboxRow]:
    """Claim due messages, most urgent first: of each chat only the first of its unsent ones in
    (priority, queue) order, so an urgent card overtakes a backlog of ordinary ones while rows of one
    priority keep their order; for ``owner`` until ``now + lease``."""
    now = now or utcnow()
    stmt = (
        _claimable_outbox(now)
        .order_by(OutboxItem.priority.desc(), OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = []
    for item in session.scalars(stmt):
        payload = _resolve_references(session, item)
        if payload is None:
            continue
        taken_over = item.status == "sending"
        item.status = "sending"
        item.next_attempt_at = now
        item.claimed_by = owner
        item.lease_until = now + lease
        item.attempts += 1
        rows.append(
            OutboxRow(
                item.id, item.chat_id, item.method, payload, item.kind, item.attempts, taken_over
            )
        )
    return rows


def _resolve_references(session: Session, item: OutboxItem) -> dict[str, Any] | None:
    """The payload to send, with the Telegram message id of an earlier row it edits (``edit_of``) or
    replies to (``reply_to_of``). Such a row is queued after the one it refers to in the same chat, so
    that one has been sent (or has failed) by the time this one is claimable: it has that one's
    priority while that one waits (``outbox.enqueue``). An edit of a message that was never sent is
    marked failed (None), an edit of a card folded into a backlog digest skipped with the reason (the
    digest's line stays as it was; the console shows the ticket as it is); a reply to either goes out
    as a plain message."""
    payload = dict(item.payload)
    edit_of, reply_to_of = payload.pop("edit_of", None), payload.pop("reply_to_of", None)
    target = edit_of or reply_to_of
    if target is None:
        return payload
    found = session.execute(
        select(OutboxItem.telegram_message_id, OutboxItem.status, OutboxItem.digest_id).where(
            OutboxItem.id == int(target)
        )
    ).first()
    message_id, status, digest_id = found if found is not None else (None, None, None)
    if edit_of is not None:
        if status == outbox.FOLDED:
            item.status = outbox.SKIPPED
            item.last_error = f"the card (row {target}) was folded into digest row {digest_id}"
            return None
        if message_id is None:
            outbox.mark_failed(
                session, item, error=f"the message to edit (row {target}) was never sent"
            )
            return None
        payload["message_id"] = message_id
    elif message_id is not None:
        payload["reply_parameters"] = {
            "message_id": message_id,
            "allow_sending_without_reply": True,
        }
    return payload


def claimable(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """How many inbox and outbox rows could be claimed right now (monitoring, tests)."""
    now = now or utcnow()
    inbox_n = session.scalar(select(func.count()).select_from(_claimable_inbox(now).subquery()))
    outbox_n = session.scalar(select(func.count()).select_from(_claimable_outbox(now).subquery()))
    return int(inbox_n or 0), int(outbox_n or 0)


@dataclass(frozen=True)
class SendResult:
    """What happened to one outbox row: sent (with the Telegram message id), retry, or failed."""

    row_id: int
    outcome: str  # sent | retry | failed
    message_id: int | None = None
    error: str = ""
    retry_after: float | None = None
    #: A private chat refused it (the user never started the bot, or blocked it).
    refused: bool = False
    #: The id Telegram gave the poll a ``sendPoll`` row delivered (its answers carry only that id).
    poll_id: str | None = None
    #: The persistent ids of that poll's options, in order (answers name them).
    poll_options: tuple[str, ...] = ()


def replay_sent(
    session: Session,
    delivered: dict[int, int | None],
    polls: dict[int, tuple[str, tuple[str, ...]]] | None = None,
) -> int:
    """Mark the rows of a send journal sent (``bot.journal``): delivered before a crash, not recorded.
    Rows already marked are left alone; returns how many were recovered. ``polls``: the poll id and
    option ids of the ``sendPoll`` rows among them, kept for the project polls that lack them (their
    answers are counted from then on)."""
    recovered = 0
    ids = list(delivered)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for item in session.scalars(
            select(OutboxItem).where(
                OutboxItem.id.in_(chunk), OutboxItem.status.in_(("pending", "sending"))
            )
        ):
            outbox.mark_sent(session, item, message_id=delivered[item.id])
            recovered += 1
    for row_id, (poll_id, options) in (polls or {}).items():
        sent = session.get(OutboxItem, row_id)
        if sent is not None:
            outbox.record_poll(session, sent, poll_id, options)
    return recovered


def finish_outbox(
    session: Session,
    results: Sequence[SendResult],
    *,
    owner: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record send results: "sent" whoever reports it, a retry or failure only from the row's owner."""
    now = now or utcnow()
    items = {
        i.id: i
        for i in session.scalars(
            select(OutboxItem).where(OutboxItem.id.in_([r.row_id for r in results]))
        )
    }
    for r in results:
        item = items.get(r.row_id)
        if item is None or item.status == "sent":
            continue
        item.lease_until = None
        if r.outcome == "sent":
            outbox.mark_sent(session, item, message_id=r.message_id, now=now)
            if r.poll_id is not None:
                outbox.record_poll(session, item, r.poll_id, r.poll_options)
        elif not _holds(item, "sending", owner):
            continue  # another worker took the row over; its result counts
        elif r.outcome == "retry":
            outbox.mark_retry(session, item, error=r.error, retry_after=r.retry_after, now=now)
        else:
            outbox.mark_failed(session, item, error=r.error)


@dataclass(frozen=True)
class BurstRow:
    """A claimed burst of forwards: whose, where to answer, the forwards (JSON, with inbox row ids)."""

    id: int
    user_id: int
    chat_id: int
    items: list[dict[str, Any]]


def add_to_burst(
    session: Session,
    *,
    user_id: int,
    chat_id: int,
    item: dict[str, Any],
    row_id: int,
    quiet: timedelta,
    now: datetime | None = None,
) -> None:
    """Put a forward (inbox row ``row_id``, now ``waiting``) into ``user_id``'s open burst, creating
    it if needed, and push the burst's filing back to ``quiet`` after now."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table: Table = ForwardBurst.__table__  # type: ignore[assignment]
    burst = None
    for _ in range(5):  # a peer may claim the open burst between the two statements
        session.execute(
            insert(table)
            .values(user_id=user_id, chat_id=chat_id, items=[], due_at=now + quiet)
            .on_conflict_do_nothing(
                index_elements=[table.c.user_id], index_where=table.c.claimed_by.is_(None)
            )
        )
        burst = session.scalars(
            select(ForwardBurst)
            .where(ForwardBurst.user_id == user_id, ForwardBurst.claimed_by.is_(None))
            .with_for_update()
        ).one_or_none()
        if burst is not None:
            break
    if burst is None:
        raise RuntimeError(f"no open forward burst for {user_id}")
    if all(i["update_id"] != item["update_id"] for i in burst.items):
        burst.items = [*burst.items, {**item, "row_id": row_id}]
    burst.due_at = now + quiet
    session.execute(
        update(InboxItem)
        .where(InboxItem.id == row_id)
        .values(status="waiting", lease_until=None, error=None)
    )


def claim_bursts(
    session: Session,
    *,
    owner: str,
    lease: timedelta = LEASE,
    limit: int = 20,
    now: datetime | None = None,
) -> list[BurstRow]:
    """Claim bursts quiet since their ``due_at`` (or whose owner's lease ran out) for ``owner``."""
    now = now or utcnow()
    stmt = (
        select(ForwardBurst)
        .where(
            or_(
                ForwardBurst.claimed_by.is_(None) & (ForwardBurst.due_at <= now),
                ForwardBurst.lease_until <= now,
            )
        )
        .order_by(ForwardBurst.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = []
    for burst in session.scalars(stmt):
        burst.claimed_by = owner
        burst.lease_until = now + lease
        rows.append(BurstRow(burst.id, burst.user_id, burst.chat_id, list(burst.items)))
    return rows


def close_burst(session: Session, burst: BurstRow, *, owner: str) -> bool:
    """Inside the transaction that files ``burst``: its forwards are done and it is gone. False (and
    nothing changes) when ``owner`` lost it to a peer meanwhile."""
    row = session.get(ForwardBurst, burst.id, with_for_update=True)
    if row is None or row.claimed_by != owner:
        return False
    session.delete(row)
    ids = [i["row_id"] for i in burst.items]
    for item in session.scalars(select(InboxItem).where(InboxItem.id.in_(ids))):
        if item.status != "done":
            inbox.mark_done(item)
    return True


def give_back_burst(
    session: Session, burst: BurstRow, *, owner: str, error: str, retry_in: float | None
) -> None:
    """Filing failed: try again in ``retry_in`` seconds, or (None) give its forwards up as failed."""
    row = session.get(ForwardBurst, burst.id, with_for_update=True)
    if row is None or row.claimed_by != owner:
        return
    if retry_in is not None:  # held by nobody's heartbeat until then, then claimable again
        row.claimed_by = RETRY
        row.lease_until = utcnow() + timedelta(seconds=retry_in)
        return
    session.delete(row)
    ids = [i["row_id"] for i in burst.items]
    for item in session.scalars(select(InboxItem).where(InboxItem.id.in_(ids))):
        if item.status == "waiting":
            item.status = "failed"
            item.error = error[:2000]
