"""The supervision clock (督办): its rules (``data/supervision.yml``) and its plan for each ticket.

Time is data. What must happen to a ticket later (a warning before its due time, an escalation after
it, a 回访 …) is a ``DueItem`` row with a due time, claimed by whichever process runs the clock
(``tickets.usecases.supervision``), never a timer in a process.

``plan`` is a pure function of a ticket as it is now: chains of steps (warn 24 h → warn 2 h → warn at
the due time → 督办 → 督办 again; 回访 → close …). ``reschedule`` keeps the ticket's pending rows equal to
the next step of each chain, so a ticket has a handful of rows, and a change (accepted, resolved,
re-dispatched, handling mode changed) cancels what no longer applies. Every service that changes a
ticket calls it. Keys name the moment a step belongs to (``t42:warn:2h:202612091000``), so a step done
once is never planned again, and a new due time plans new steps.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Table, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tickets import yamlfile
from tickets.errors import ConfigError
from tickets.models import DueItem, Ticket
from tickets.statuses import HandlingMode, Status
from tickets.timelimits import WorkCalendar

if TYPE_CHECKING:
    from tickets.domain import Domain


class DueKind(StrEnum):
    """What a due item does when its time comes."""

    WARN = "warn"  # 临期预警 to the responsible unit
    ESCALATE = "escalate"  # 超期督办 to the unit above
    URGENT = "urgent"  # 紧急未受理 督办 to the unit above
    PROGRESS = "progress"  # 跟踪办: ask the unit for progress
    VISIT = "visit"  # 上门办: remind the unit of the visit
    PUBLISH = "publish"  # 公开办: put it on the public board
    CALLBACK = "callback"  # 回访: ask the resident to rate once more
    AUTO_CLOSE = "auto_close"  # close as 未评价
    GROUP_STATUS = "group_status"  # combined status line to a grid group
    RETRAIN = "retrain"  # the weekly NLU retrain on staff corrections (tickets.learning)
    REPORT_CARD = (
        "report_card"  # a month's or quarter's 成绩单 to the grid groups (tickets.report_card)
    )

    @property
    def label(self) -> str:
        return DUE_LABELS[self]

    @property
    def audience(self) -> str:
        """Who hears of it: staff, residents (quiet hours apply), or nobody (a change only)."""
        if self in (DueKind.CALLBACK, DueKind.GROUP_STATUS, DueKind.REPORT_CARD):
            return "resident"
        if self in (DueKind.PUBLISH, DueKind.AUTO_CLOSE, DueKind.RETRAIN):
            return "none"
        return "staff"


DUE_LABELS: dict[DueKind, str] = {
    DueKind.WARN: "临期预警",
    DueKind.ESCALATE: "超期督办",
    DueKind.URGENT: "紧急未受理督办",
    DueKind.PROGRESS: "进展催报",
    DueKind.VISIT: "上门提醒",
    DueKind.PUBLISH: "公开",
    DueKind.CALLBACK: "回访",
    DueKind.AUTO_CLOSE: "自动关闭（未评价）",
    DueKind.GROUP_STATUS: "群内进度",
    DueKind.RETRAIN: "模型定期再训练",
    DueKind.REPORT_CARD: "成绩单推送",
}

#: ``due_items.status = 'pending'`` as a literal, not a bound parameter, so that SQLite uses the
#: partial index ix_due_items_pending.
PENDING: ColumnElement[str] = literal_column("'pending'")

_DURATION = re.compile(r"^(\d{1,4})(m|h|d|wd)$")
_UNIT_WORDS = {"m": "分钟", "h": "小时", "d": "天", "wd": "个工作日"}


@dataclass(frozen=True)
class Duration:
    """A length of time in minutes, hours, calendar days or working days (``data/calendar.yml``)."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, value: object, where: str) -> Duration:
        text = str(value).strip()
        if text == "0":
            return cls(0, "h")
        match = _DURATION.match(text)
        if match is None:
            raise ConfigError(f"{where}: {text!r} is not a duration like 15m, 2h, 3d or 2wd")
        return cls(int(match[1]), match[2])

    def __str__(self) -> str:
        return "0" if self.amount == 0 else f"{self.amount}{self.unit}"

    @property
    def words(self) -> str:
        return f"{self.amount}{_UNIT_WORDS[self.unit]}"

    def after(self, start: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> datetime:
        """``start`` plus this duration."""
        return self._shift(start, calendar, tz, +1)

    def before(self, end: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> datetime:
        """``end`` minus this duration."""
        return self._shift(end, calendar, tz, -1)

    def _shift(self, at: datetime, calendar: WorkCalendar, tz: ZoneInfo, sign: int) -> datetime:
        if self.unit == "m":
            return at + sign * timedelta(minutes=self.amount)
        if self.unit == "h":
            return at + sign * timedelta(hours=self.amount)
        local = at.astimezone(tz)
        if self.unit == "d":
            return (local + sign * timedelta(days=self.amount)).astimezone(UTC)
        remaining = self.amount
        while remaining > 0:  # working days: the same clock time on the n-th working day
            local += sign * timedelta(days=1)
            if calendar.is_working_day(local.date()):
                remaining -= 1
        return local.astimezone(UTC)


@dataclass(frozen=True)
class QuietHours:
    """Local times between which residents get no messages (a window may span midnight)."""

    start: time
    end: time
    staff: bool

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        if self.start == self.end:
            return False
        now = at.astimezone(tz).time()
        if self.start < self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def release(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` when it is outside the window, else the end of the window it is in."""
        if not self.contains(at, tz):
            return at
        local = at.astimezone(tz)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)


@dataclass(frozen=True)
class Rules:
    """``data/supervision.yml``, validated."""

    warnings: dict[str, tuple[Duration, ...]]
    escalation: tuple[Duration, ...]
    urgent_again_after: Duration
    progress_every: Duration
    visit_remind_before: tuple[Duration, ...]
    publish_after: Duration
    callback_ask_after: Duration
    callback_close_after: Duration
    group_status_every: Duration
    quiet: QuietHours
    #: How often the NLU is retrained on staff corrections (None: never on the clock).
    retrain_every: Duration | None = None
    #: The 成绩单 is posted to the grid groups this long after a period ends (None: only by hand) …
    report_card_after: Duration | None = None
    #: … for these periods (``month``, ``quarter``).
    report_card_periods: tuple[str, ...] = ()
    #: Changes when the file does: tickets planned with other rules are planned again.
    digest: str = field(default="")

    def warnings_for(self, mode: HandlingMode) -> tuple[Duration, ...]:
        return self.warnings.get(mode.value, self.warnings["default"])


_TOP_KEYS = {
    "warnings",
    "escalation",
    "urgent_not_accepted",
    "tracked",
    "onsite",
    "public",
    "callback",
    "group_status",
    "quiet_hours",
    "learning",
}


def load_rules(path: Path) -> Rules:
    """Read and validate the supervision rules (errors name the file and line)."""
    doc = yamlfile.load(path)
    if not isinstance(doc, yamlfile.LineMap):
        raise ConfigError(f"{path}:1: expected a mapping of supervision rules")
    yamlfile.check_keys(
        path, doc, "supervision rules", _TOP_KEYS, frozenset({"version", "report_card"})
    )

    def section(name: str, keys: set[str]) -> yamlfile.LineMap:
        value = doc[name]
        if not isinstance(value, yamlfile.LineMap):
            raise ConfigError(f"{path}:{doc.key_lines[name]}: {name} must be a mapping")
        yamlfile.check_keys(path, value, name, keys)
        return value

    def durations(value: object, where: str) -> tuple[Duration, ...]:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a list of durations")
        return tuple(Duration.parse(v, where) for v in value)

    def one(sec: yamlfile.LineMap, name: str, key: str) -> Duration:
        return Duration.parse(sec[key], f"{path}:{sec.key_lines[key]}: {name}.{key}")

    warnings_doc = doc["warnings"]
    if not isinstance(warnings_doc, yamlfile.LineMap) or "default" not in warnings_doc:
        raise ConfigError(f"{path}:{doc.key_lines['warnings']}: warnings needs a default list")
    modes = {m.value for m in HandlingMode} | {"default"}
    warnings: dict[str, tuple[Duration, ...]] = {}
    for mode, values in warnings_doc.items():
        where = f"{path}:{warnings_doc.key_lines[mode]}: warnings.{mode}"
        if mode not in modes:
            raise ConfigError(f"{where}: unknown handling mode (use {', '.join(sorted(modes))})")
        warnings[mode] = durations(values, where)
    escalation_doc = doc["escalation"]
    where = f"{path}:{doc.key_lines['escalation']}: escalation"
    if not isinstance(escalation_doc, list) or not escalation_doc:
        raise ConfigError(f"{where}: expected a list of steps with after")
    escalation = []
    for step in escalation_doc:
        if not isinstance(step, yamlfile.LineMap):
            raise ConfigError(f"{where}: each step is a mapping with after")
        yamlfile.check_keys(path, step, "escalation step", {"after"})
        escalation.append(one(step, "escalation", "after"))
    urgent = section("urgent_not_accepted", {"again_after"})
    tracked = section("tracked", {"progress_every"})
    onsite = section("onsite", {"remind_before"})
    public = section("public", {"publish_after"})
    callback = section("callback", {"ask_after", "close_after"})
    group = section("group_status", {"every"})
    learning = section("learning", {"retrain_every"}) if "learning" in doc else None
    card = section("report_card", {"after", "periods"}) if "report_card" in doc else None
    card_periods: tuple[str, ...] = ()
    if card is not None:
        where = f"{path}:{card.key_lines['periods']}: report_card.periods"
        periods = card["periods"]
        if not isinstance(periods, list) or not periods or not set(periods) <= {"month", "quarter"}:
            raise ConfigError(f"{where}: a list of month and/or quarter")
        card_periods = tuple(dict.fromkeys(str(p) for p in periods))
    quiet_doc = section("quiet_hours", {"start", "end", "staff"})
    quiet_times = []
    for key in ("start", "end"):
        text = str(quiet_doc[key])
        if not re.fullmatch(r"\d{1,2}:\d{2}", text) or int(text.split(":")[0]) > 23:
            raise ConfigError(f"{path}:{quiet_doc.key_lines[key]}: quiet_hours.{key}: use HH:MM")
        hour, minute = text.split(":")
        quiet_times.append(time(int(hour), int(minute)))
    if not isinstance(quiet_doc["staff"], bool):
        raise ConfigError(f"{path}:{quiet_doc.key_lines['staff']}: quiet_hours.staff: true/false")
    return Rules(
        warnings=warnings,
        escalation=tuple(escalation),
        urgent_again_after=one(urgent, "urgent_not_accepted", "again_after"),
        progress_every=one(tracked, "tracked", "progress_every"),
        visit_remind_before=durations(
            onsite["remind_before"], f"{path}:{onsite.key_lines['remind_before']}: onsite"
        ),
        publish_after=one(public, "public", "publish_after"),
        callback_ask_after=one(callback, "callback", "ask_after"),
        callback_close_after=one(callback, "callback", "close_after"),
        group_status_every=one(group, "group_status", "every"),
        quiet=QuietHours(quiet_times[0], quiet_times[1], quiet_doc["staff"]),
        retrain_every=one(learning, "learning", "retrain_every") if learning else None,
        report_card_after=one(card, "report_card", "after") if card else None,
        report_card_periods=card_periods,
        digest=hashlib.sha256(path.read_bytes()).hexdigest()[:16],
    )


@dataclass(frozen=True)
class Due:
    """One planned step: what, its unique key, when, and details for the message."""

    kind: DueKind
    key: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M")


_WORKING = (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED)


def plan(
    ticket: Ticket, rules: Rules, calendar: WorkCalendar, tz: ZoneInfo, urgent_response_hours: int
) -> list[list[Due]]:
    """The chains of steps the clock holds for ``ticket`` as it is now, each in time order."""
    t = f"t{ticket.id}"
    chains: list[list[Due]] = []
    status = ticket.status
    if status.is_open and ticket.due_at is not None:
        due, stamp = ticket.due_at, _stamp(ticket.due_at)
        deadline = [
            Due(DueKind.WARN, f"{t}:warn:{d}:{stamp}", at, {"before": str(d)})
            for d in sorted(rules.warnings_for(ticket.handling_mode), key=lambda d: -_minutes(d))
            if (at := d.before(due, calendar, tz)) >= ticket.created_at
        ]
        deadline += [
            Due(
                DueKind.ESCALATE,
                f"{t}:escalate:{n}:{stamp}",
                d.after(due, calendar, tz),
                {"level": n},
            )
            for n, d in enumerate(rules.escalation, start=1)
        ]
        chains.append(deadline)
    if ticket.urgent and status is Status.NEW and ticket.first_response_at is None:
        # Urgent from filing: keys without a time (as they always were). Marked urgent later: the
        # clock starts at the marking, and marking again after an unmark starts a new chain.
        marked = ticket.urgent_at
        u = f"{t}:urgent" if marked is None else f"{t}:urgent:{_stamp(marked)}"
        first = (marked or ticket.created_at) + timedelta(hours=urgent_response_hours)
        chains.append(
            [
                Due(DueKind.URGENT, f"{u}:1", first, {"level": 1}),
                Due(
                    DueKind.URGENT,
                    f"{u}:2",
                    rules.urgent_again_after.after(first, calendar, tz),
                    {"level": 2},
                ),
            ]
        )
    accepted = ticket.first_response_at
    if ticket.handling_mode is HandlingMode.TRACKED and status in _WORKING and accepted:
        base = max(accepted, ticket.progress_at or accepted)
        at = rules.progress_every.after(base, calendar, tz)
        chains.append([Due(DueKind.PROGRESS, f"{t}:progress:{_stamp(base)}", at)])
    if status.is_open and ticket.visit_at:  # 上门办, or any ticket staff set a visit for
        visit, stamp = ticket.visit_at, _stamp(ticket.visit_at)
        chains.append(
            [
                Due(
                    DueKind.VISIT,
                    f"{t}:visit:{d}:{stamp}",
                    d.before(visit, calendar, tz),
                    {"before": str(d)},
                )
                for d in sorted(rules.visit_remind_before, key=lambda d: -_minutes(d))
            ]
        )
    taken_on = status in (*_WORKING, Status.RESOLVED, Status.CLOSED)
    public = ticket.handling_mode is HandlingMode.PUBLIC and ticket.published_at is None
    if public and accepted and taken_on:
        at = rules.publish_after.after(accepted, calendar, tz)
        chains.append([Due(DueKind.PUBLISH, f"{t}:publish", at)])
    if status is Status.RESOLVED and ticket.satisfaction is None and ticket.resolved_at:
        stamp = _stamp(ticket.resolved_at)
        asked = ticket.callback_at
        ask_at = rules.callback_ask_after.after(ticket.resolved_at, calendar, tz)
        close_at = rules.callback_close_after.after(asked or ask_at, calendar, tz)
        chain = [] if asked else [Due(DueKind.CALLBACK, f"{t}:callback:{stamp}", ask_at)]
        chain.append(Due(DueKind.AUTO_CLOSE, f"{t}:close:{stamp}", close_at))
        chains.append(chain)
    return chains


def _minutes(d: Duration) -> int:
    """A rough size for ordering offsets (a working day counted as a day)."""
    return d.amount * {"m": 1, "h": 60, "d": 1440, "wd": 1440}[d.unit]


def next_steps(chains: Iterable[list[Due]], finished: set[str]) -> dict[str, Due]:
    """The first step of each chain that is not finished, by key."""
    wanted: dict[str, Due] = {}
    for chain in chains:
        for due in chain:
            if due.key not in finished:
                wanted[due.key] = due
                break
    return wanted


def plan_for(domain: Domain, ticket: Ticket) -> list[list[Due]]:
    settings = domain.settings
    return plan(
        ticket,
        domain.rules,
        domain.calendar,
        settings.timezone,
        settings.urgent_response_limit_hours,
    )


def reschedule(session: Session, domain: Domain, ticket: Ticket, *, new: bool = False) -> None:
    """Make the ticket's pending due items the next step of each chain of its plan: insert what is
    missing, move what changed, cancel what no longer applies. ``new``: the ticket was just filed
    and has no rows yet. Safe against a concurrent supervision pass (conditional updates, inserts
    that ignore a row already there)."""
    if ticket.id is None:
        session.flush()
    rows = (
        []
        if new
        else session.execute(
            select(DueItem.id, DueItem.key, DueItem.status, DueItem.due_at).where(
                DueItem.ticket_id == ticket.id
            )
        ).all()
    )
    existing = {r.key: r for r in rows}
    finished = {r.key for r in rows if r.status in ("done", "skipped")}
    wanted = next_steps(plan_for(domain, ticket), finished)
    stale = [r.id for r in rows if r.status == "pending" and r.key not in wanted]
    if stale:
        session.execute(
            update(DueItem)
            .where(DueItem.id.in_(stale), DueItem.status == "pending")
            .values(status="cancelled")
            .execution_options(synchronize_session=False)
        )
    inserts = []
    now = domain.clock()
    for key, due in wanted.items():
        row = existing.get(key)
        if row is None:
            inserts.append(
                {
                    "ticket_id": ticket.id,
                    "kind": due.kind.value,
                    "key": key,
                    "due_at": due.at,
                    "status": "pending",
                    "data": due.data,
                    "created_at": now,
                    "result": {},
                }
            )
        elif row.status == "cancelled" or (row.status == "pending" and row.due_at != due.at):
            session.execute(
                update(DueItem)
                .where(DueItem.id == row.id, DueItem.status == row.status)
                .values(status="pending", due_at=due.at)
                .execution_options(synchronize_session=False)
            )
    if inserts:
        insert_ignoring_duplicates(session, inserts)
    if ticket.clock_rules != domain.rules.digest:
        ticket.clock_rules = domain.rules.digest


def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert due items; a key already there (planned by a concurrent transaction) is left alone."""
    session.execute(_insert_ignoring(session.get_bind().dialect.name), rows)


_INSERTS: dict[str, Any] = {}


def _insert_ignoring(dialect: str) -> Any:
    """The INSERT … ON CONFLICT DO NOTHING of due items, built once per dialect (every filed ticket
    runs it: building it and its cache key each time cost more than the insert)."""
    if dialect not in _INSERTS:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table: Table = DueItem.__table__  # type: ignore[assignment]
        _INSERTS[dialect] = insert(table).on_conflict_do_nothing(index_elements=[table.c.key])
    return _INSERTS[dialect]
