"""Gap-free public codes per day: MW-20261122-0007 for tickets, CS-20261122-0003 for cases.

The day's number lives in one counter row per scope, incremented with INSERT … ON CONFLICT DO UPDATE …
RETURNING inside the caller's transaction: a rolled-back filing rolls its number back too, so numbers
are never skipped or reused. The price is that the row stays locked until the transaction commits, and
every other filer of the day queues on it.

A single filing (a resident's dialogue, the console, Open311) takes its number at once
(``next_code``): its transaction is short. A batch that files many tickets in one transaction (a grid
group's micro-batch, ``tickets.usecases.groups.record_group_messages``) would hold the row for the
whole batch, and two bot workers' batches would run one after the other. Inside ``numbered_last`` the
batch files with placeholder codes (``MW-20261122-#5f0c1e9a2b``: unique, so the unique index on the
code never makes two transactions wait for each other) and, at the end, takes all the numbers it needs
with ONE counter statement per scope (``value = value + n``), in the lock order ticket → case → the
others, and writes the final codes into every row the batch added or changed that mentions a
placeholder (the ticket's and case's codes, audit events, outbox texts, buttons and dedupe keys). The
counter row is then held only for those updates and the commit. For the same reason a batch counts
its reports on existing cases (``report_count``) at its end, once per case, after the counters and in
case order: a case row updated at the first report would be held for the whole batch too. Placeholders of filings whose savepoint
was rolled back get no number, so the codes stay gap-free and, within a batch, in filing order.

Why not the alternatives: a sequence or a counter in its own short transaction burns numbers when the
filing rolls back (the codes are documented as gap-free); numbering after commit would let a resident or
staff see a ticket without its code. What is rendered from a code in a way text replacement cannot
follow (a signed progress link) must be rendered after ``numbered_last`` ends; a placeholder left in a
row by a failed batch makes its commit fail (``UnnumberedCodes``) rather than publish it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstanceState, Session

from tickets.errors import TicketError
from tickets.models import Case, Counter, Ticket

PREFIXES = {
    "ticket": "MW",
    "case": "CS",
    "project": "XM",
    "need": "XQ",
    "resource": "ZY",
    "service": "FW",
}
#: The order every transaction takes the day's counter rows in (two batches cannot deadlock on them).
LOCK_ORDER = ("ticket", "case", "project", "need", "resource", "service")
#: A placeholder code: the scope's prefix and day, then ``#`` (never in a real code) and a random token.
PLACEHOLDER = re.compile(r"[A-Z]{2}-\d{8}-#[0-9a-f]{10}")
_DEFERRED = "minwei_codes_deferred"
_UNNUMBERED = "minwei_codes_unnumbered"


class UnnumberedCodes(RuntimeError, TicketError):
    """A transaction with placeholder codes (or uncounted reports) was about to commit without
    their numbers."""


@cache
def _statement(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """The counter upsert taking ``n`` numbers, built once per dialect (so it is compiled once)."""
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stmt = insert(Counter).values(
        scope=bindparam("scope"), day=bindparam("day"), value=bindparam("n")
    )
    return stmt.on_conflict_do_update(
        index_elements=[Counter.scope, Counter.day],
        set_={"value": Counter.value + stmt.excluded.value},
    ).returning(Counter.value)


def _take(session: Session, scope: str, day: str, n: int) -> int:
    """Reserve ``n`` numbers of ``scope`` on ``day``; returns the last one (the first is last - n + 1)."""
    stmt = _statement(session.get_bind().dialect.name)
    # Core execution on the session's connection: same transaction, without the ORM bulk-insert path.
    return int(
        session.connection().execute(stmt, {"scope": scope, "day": day, "n": n}).scalar_one()
    )


def _code(scope: str, day: str, number: int) -> str:
    return f"{PREFIXES[scope]}-{day}-{number:04d}"


@dataclass
class _Deferred:
    """The placeholders a batch handed out (in filing order) and the objects it added meanwhile."""

    reserved: list[tuple[str, str, str]] = field(default_factory=list)  # scope, day, placeholder
    added: list[object] = field(default_factory=list)
    #: Tickets that joined an existing case, with the case and when (counted when the batch ends).
    joined: list[tuple[Ticket, Case, datetime]] = field(default_factory=list)

    def track(self, _session: Session, instance: object) -> None:
        self.added.append(instance)


def next_code(session: Session, scope: str, at: datetime, tz: ZoneInfo) -> str:
    """Reserve the next number of ``scope`` for the local day of ``at`` and return the public code
    (inside ``numbered_last``: a placeholder that gets its number when the batch ends)."""
    day = at.astimezone(tz).strftime("%Y%m%d")
    deferred: _Deferred | None = session.info.get(_DEFERRED)
    if deferred is None:
        return _code(scope, day, _take(session, scope, day, 1))
    placeholder = f"{PREFIXES[scope]}-{day}-#{secrets.token_hex(5)}"
    deferred.reserved.append((scope, day, placeholder))
    return placeholder


def count_report_at_end(session: Session, ticket: Ticket, case: Case, at: datetime) -> bool:
    """Inside ``numbered_last``: count ``ticket``'s report on ``case`` when the batch ends (True);
    outside it, False (the caller counts it at once)."""
    deferred: _Deferred | None = session.info.get(_DEFERRED)
    if deferred is None:
        return False
    deferred.joined.append((ticket, case, at))
    return True


@contextmanager
def numbered_last(session: Session) -> Iterator[None]:
    """File with placeholder codes inside the block; when it ends, number them (see the module).

    Nested blocks join the outermost one. When the block raises, nothing is numbered and the
    transaction can no longer commit (``UnnumberedCodes``): the caller rolls it back."""
    if _DEFERRED in session.info:
        yield
        return
    deferred = _Deferred()
    session.info[_DEFERRED] = deferred
    event.listen(session, "transient_to_pending", deferred.track)
    try:
        yield
    except BaseException:
        if (deferred.reserved or deferred.joined) and not session.info.get(_UNNUMBERED):
            session.info[_UNNUMBERED] = True
            event.listen(session, "before_commit", _refuse_commit)
        raise
    finally:
        event.remove(session, "transient_to_pending", deferred.track)
        del session.info[_DEFERRED]
    if deferred.reserved or deferred.joined:
        _number(session, deferred)


def _refuse_commit(session: Session) -> None:
    if session.info.get(_UNNUMBERED):
        raise UnnumberedCodes("placeholder codes were not numbered; roll the transaction back")


def _number(session: Session, deferred: _Deferred) -> None:
    """Take the numbers the surviving placeholders need and write the final codes."""
    candidates = [*deferred.added, *session.dirty]
    session.flush()  # everything filed is in the database before the counter rows are locked
    placeholders = {p for _, _, p in deferred.reserved}
    rows = _mentions(candidates)
    owned = {value for _, key, value in rows if key == "code" and value in placeholders}
    mentioned = {p for _, _, value in rows for p in PLACEHOLDER.findall(_text(value))}
    orphans = (mentioned & placeholders) - owned
    if orphans:  # a row names a code whose ticket or case was rolled back: a bug, not a gap
        raise UnnumberedCodes(f"placeholder codes mentioned without their rows: {sorted(orphans)}")
    wanted: dict[tuple[str, str], list[str]] = {}
    for scope, day, placeholder in deferred.reserved:
        if placeholder in owned:
            wanted.setdefault((scope, day), []).append(placeholder)
    final: dict[str, str] = {}
    for scope, day in sorted(wanted, key=lambda k: (LOCK_ORDER.index(k[0]), k[1])):
        batch = wanted[(scope, day)]
        last = _take(session, scope, day, len(batch))
        for number, placeholder in enumerate(batch, start=last - len(batch) + 1):
            final[placeholder] = _code(scope, day, number)
    for obj, key, value in rows:
        setattr(obj, key, _replace(value, final))
    _count_reports(deferred)
    session.flush()


def _count_reports(deferred: _Deferred) -> None:
    """Add the batch's reports to the cases they joined, one atomic increment per case (the flush
    updates them in primary-key order, after the counters: every batch locks rows in one order)."""
    reports: dict[int, tuple[Case, int, datetime]] = {}
    for ticket, case, at in deferred.joined:
        if inspect(ticket, raiseerr=True).persistent:  # not rolled back with its savepoint
            _, n, last = reports.get(case.id, (case, 0, at))
            reports[case.id] = (case, n + 1, max(last, at))
    for case, n, last in reports.values():
        case.report_count = Case.report_count + n
        case.last_report_at = last
        case.is_open = True


def _mentions(candidates: list[object]) -> list[tuple[object, str, Any]]:
    """(object, column attribute, value) of every loaded value naming a placeholder, in the objects
    the batch added (those that survived its savepoints) and those it changed."""
    seen: set[int] = set()
    found: list[tuple[object, str, Any]] = []
    for obj in candidates:
        state: InstanceState[Any] = inspect(obj, raiseerr=True)
        if id(obj) in seen or not (state.persistent or state.pending):
            continue
        seen.add(id(obj))
        for attr in state.mapper.column_attrs:
            value = state.dict.get(attr.key)
            if isinstance(value, str | dict | list) and "-#" in _text(value):
                found.append((obj, attr.key, value))
    return found


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_text(k) + " " + _text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    return ""


def _replace(value: Any, final: dict[str, str]) -> Any:
    """``value`` with every placeholder replaced by its code (a new object, so the ORM sees it change)."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: final.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {_replace(k, final): _replace(v, final) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, final) for v in value]
    return value
