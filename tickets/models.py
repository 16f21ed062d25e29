"""SQLAlchemy 2.0 typed models. The schema is created by the Alembic migrations in ``tickets/migrations``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from tickets.projectstatus import EvaluatorKind, ProjectStatus, VoteChoice
from tickets.search import search_text as _bigrams
from tickets.statuses import HandlingMode, Role, Satisfaction, Source, Status


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy's documented form)
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A ``StrEnum`` stored as its string value: portable, readable in SQL, no ALTER TYPE to extend."""

    impl = String(24)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def _enum(enum: type[StrEnum]) -> EnumString[Any]:
    return EnumString(enum)


class Unit(Base):
    """An administrative area (district → street → community → grid) or a department attached to one."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(
        String(16)
    )  # district | street | community | grid | department
    dept_type: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    places: Mapped[list[Any]] = mapped_column(default=list)  # gazetteer names inside this unit
    routes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # category → unit code override
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The unit's centre point (WGS84 degrees), when units.yml gives one (migration 0013): tickets with
    # a pin and no place the gazetteer knows go to the nearest unit (tickets.geo).
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class Person(Base):
    """Residents, grid members, staff and admins. Staff sign in to the console with username/password."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.RESIDENT)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    pii_access: Mapped[bool | None] = mapped_column(Boolean)  # None → the role's default
    phone: Mapped[str | None] = mapped_column(String(32))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    unit: Mapped[Unit | None] = relationship()

    @property
    def can_see_pii(self) -> bool:
        return self.role.sees_pii_by_default if self.pii_access is None else self.pii_access

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.role} {self.display_name or self.username}>"


class ApiKey(Base):
    """Keys for the Open311 API; only a SHA-256 of the key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ChatBinding(Base):
    """A Telegram grid group bound to a grid unit."""

    __tablename__ = "chat_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    grid_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    reply_in_group: Mapped[bool] = mapped_column(Boolean, default=False)
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)

    # When the group was last sent a status line (rate limit, ``tickets.usecases.groupstatus``).
    status_sent_at: Mapped[datetime | None]

    grid: Mapped[Unit] = relationship()


class UnitChat(Base):
    """A unit's Telegram work chat (/bindunit): its tickets' cards, warnings and escalations go there."""

    __tablename__ = "unit_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    bound_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    bound_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class StaffAction(Base):
    """The audit log of staff actions that change no ticket (a ticket's are its ``TicketEvent`` rows):
    binding and removing units' work chats. Kept when what they changed is gone."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="")  # console | telegram
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Case(Base):
    """A cluster of tickets about the same thing in the same place (个案到类案)."""

    __tablename__ = "cases"
    __table_args__ = (
        # Hotspot candidates, most reported first (tickets.stats.hotspots; migration 0004).
        Index("ix_cases_reports", "report_count", "last_report_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_report_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    area: Mapped[Unit | None] = relationship()
    tickets: Mapped[list[Ticket]] = relationship(back_populates="case")


#: Open statuses as literal SQL (the WHERE clause of the partial index ``ix_tickets_open_due``; a query
#: must contain exactly this text for SQLite to use that index, see ``tickets.queries.overdue``).
OPEN_STATUS_SQL = "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened')"
#: The WHERE clauses of the 督办台's partial indexes (migration 0016): open tickets sent back, escalated,
#: with a visit; and published tickets.
ESCALATED_SQL = "escalation_level > 0"
OPEN_SENT_BACK_SQL = f"{OPEN_STATUS_SQL} AND sent_back_at IS NOT NULL"
OPEN_ESCALATED_SQL = f"{OPEN_STATUS_SQL} AND {ESCALATED_SQL}"
OPEN_VISIT_SQL = f"{OPEN_STATUS_SQL} AND visit_at IS NOT NULL"
PUBLISHED_SQL = "published_at IS NOT NULL"
#: The statuses whose tickets hold due items of the supervision clock (open ones, and resolved ones
#: waiting for a rating), as literal SQL for the partial index ``ix_tickets_clock_rules_planned``
#: (``tickets.usecases.supervision.replan``).
PLANNED_STATUS_SQL = (
    "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened', 'resolved')"
)


def _search_text_default(context: Any) -> str:
    """Fill ``tickets.search_text`` from the redacted text on insert (see ``tickets.search``)."""
    return _bigrams(context.get_current_parameters().get("redacted_text") or "")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_category_created", "category", "created_at"),
        Index("ix_tickets_chat_message", "chat_id", "message_id"),
        # Console list, counts per filter and access scopes (migration 0002): a staff member's scope is
        # "area or responsible unit in my subtree", so both columns lead an index with the two most
        # used filters after them.
        Index("ix_tickets_area_status_category", "area_id", "status", "category"),
        Index("ix_tickets_unit_status_category", "unit_id", "status", "category"),
        Index("ix_tickets_category_status_scope", "category", "status", "area_id", "unit_id"),
        # A narrow copy of the filter columns by id: full-text matches are checked against the other
        # filters here instead of in the wide table rows.
        Index(
            "ix_tickets_filter_columns",
            "id",
            "area_id",
            "unit_id",
            "status",
            "category",
            "urgent",
            "needs_review",
            "handling_mode",
            "source",
            "due_at",  # for "overdue" among search matches (migration 0006)
        ),
        # Tickets filed in a date range with the filter columns: the sidebar's counts for a date range
        # are grouped from this index alone (migration 0006; it replaces ix_tickets_created_at).
        Index(
            "ix_tickets_created_filters",
            "created_at",
            "status",
            "category",
            "urgent",
            "needs_review",
            "due_at",
            "area_id",
            "unit_id",
            "handling_mode",
            "source",
        ),
        Index("ix_tickets_updated_at", "updated_at"),
        # A case's tickets by filing time with the scope columns: hotspots count a candidate case's
        # reports in a period within a scope from this index alone (migration 0004).
        Index("ix_tickets_case_created", "case_id", "created_at", "area_id", "unit_id"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        # Partial indexes for the flags the console counts, with the scope columns inside them so the
        # scope check needs no table lookup.
        Index(
            "ix_tickets_open_due",
            "due_at",
            "area_id",
            "unit_id",
            # The sidebar's counts group the overdue tickets by these (migration 0006).
            "status",
            "category",
            "urgent",
            "needs_review",
            "handling_mode",
            "source",
            sqlite_where=text(OPEN_STATUS_SQL),
            postgresql_where=text(OPEN_STATUS_SQL),
        ),
        Index(
            "ix_tickets_urgent_scope",
            "area_id",
            "unit_id",
            sqlite_where=text("urgent"),
            postgresql_where=text("urgent"),
        ),
        Index(
            "ix_tickets_review_scope",
            "area_id",
            "unit_id",
            sqlite_where=text("needs_review"),
            postgresql_where=text("needs_review"),
        ),
        # The tickets merged into a ticket, whose reporters hear of it too (migration 0009).
        Index(
            "ix_tickets_duplicate_of_id",
            "duplicate_of_id",
            sqlite_where=text("duplicate_of_id IS NOT NULL"),
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
        ),
        # Tickets planned with other supervision rules than the current ones (migration 0009).
        Index(
            "ix_tickets_clock_rules_planned",
            "clock_rules",
            sqlite_where=text(PLANNED_STATUS_SQL),
            postgresql_where=text(PLANNED_STATUS_SQL),
        ),
        # The 督办台's lists of open tickets (migration 0016), each index holding only its list's
        # tickets with the scope columns; a query names the same literal conditions (see
        # ``tickets.usecases.follow``) so that SQLite can use them.
        Index(
            "ix_tickets_open_sent_back",
            "sent_back_at",
            "unit_id",
            "area_id",
            sqlite_where=text(OPEN_SENT_BACK_SQL),
            postgresql_where=text(OPEN_SENT_BACK_SQL),
        ),
        Index(
            "ix_tickets_open_escalated",
            "escalation_level",
            "escalated_at",
            "unit_id",
            "area_id",
            "escalated_to_id",
            sqlite_where=text(OPEN_ESCALATED_SQL),
            postgresql_where=text(OPEN_ESCALATED_SQL),
        ),
        Index(
            "ix_tickets_open_visit",
            "visit_at",
            "unit_id",
            "area_id",
            sqlite_where=text(OPEN_VISIT_SQL),
            postgresql_where=text(OPEN_VISIT_SQL),
        ),
        # Published tickets (公开办) by time and by status with the scope columns: the public board's
        # newest tickets and its counts per status (migration 0016; they replace
        # ix_tickets_published_at).
        Index(
            "ix_tickets_published",
            "published_at",
            "unit_id",
            "area_id",
            sqlite_where=text(PUBLISHED_SQL),
            postgresql_where=text(PUBLISHED_SQL),
        ),
        Index(
            "ix_tickets_published_status",
            "status",
            "unit_id",
            "area_id",
            sqlite_where=text(PUBLISHED_SQL),
            postgresql_where=text(PUBLISHED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    source: Mapped[Source] = mapped_column(_enum(Source))
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.NEW)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    forwarder_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    origin_label: Mapped[str | None] = mapped_column(String(255))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    original_text: Mapped[str] = mapped_column(Text)
    redacted_text: Mapped[str] = mapped_column(Text)
    demand_confidence: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str] = mapped_column(String(40))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    ranking: Mapped[list[Any]] = mapped_column(default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    handling_mode: Mapped[HandlingMode] = mapped_column(_enum(HandlingMode))
    locations: Mapped[list[Any]] = mapped_column(default=list)
    location_text: Mapped[str] = mapped_column(String(255), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    classifier_version: Mapped[str] = mapped_column(String(64), default="")
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    contact_allowed: Mapped[bool | None] = mapped_column(Boolean)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction))
    satisfaction_note: Mapped[str | None] = mapped_column(Text)
    accept_notified_at: Mapped[datetime | None]
    result_notified_at: Mapped[datetime | None]
    # Character bigrams of redacted_text for full-text search (tickets.search, migration 0002).
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_default, server_default="")
    # Follow-through (migration 0007). The unit a dispatched ticket was dispatched by (退单 returns it
    # there); how often and when it was last sent back (退单); how far it was escalated (督办) and to whom.
    dispatcher_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    sent_back_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_back_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_to_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    escalated_at: Mapped[datetime | None]
    # 上门办: the visit time staff set; 跟踪办: when progress was last told to the resident; 公开办: when
    # it went on the public board; 回访: when the resident was asked again (or could not be).
    visit_at: Mapped[datetime | None]
    progress_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    callback_at: Mapped[datetime | None]
    # When staff marked the ticket urgent after it was filed (migration 0018): the urgent-not-accepted
    # clock and the urgent response measure count from here. None: urgent from filing, or not urgent.
    urgent_at: Mapped[datetime | None]
    # The digest of the supervision rules the ticket's due items were planned with (tickets.clock).
    clock_rules: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # Where the ticket is on the map (WGS84 degrees): a Telegram location pin or venue, or Open311's
    # lat/long (migration 0013). Both or neither.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    reporter: Mapped[Person | None] = relationship(foreign_keys=[reporter_id])
    forwarder: Mapped[Person | None] = relationship(foreign_keys=[forwarder_id])
    area: Mapped[Unit | None] = relationship(foreign_keys=[area_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    escalated_to: Mapped[Unit | None] = relationship(foreign_keys=[escalated_to_id])
    case: Mapped[Case | None] = relationship(back_populates="tickets")
    duplicate_of: Mapped[Ticket | None] = relationship(remote_side=[id])
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )
    helpers: Mapped[list[TicketHelper]] = relationship(
        back_populates="ticket", order_by="TicketHelper.id"
    )
    #: Its photos (``tickets.photos``); the images themselves load only when asked for.
    photos: Mapped[list[Photo]] = relationship(order_by="Photo.id", viewonly=True)

    def text_for(self, viewer: Person | None) -> str:
        """The ticket text as ``viewer`` may see it: original only with the PII privilege."""
        return (
            self.original_text if viewer is not None and viewer.can_see_pii else self.redacted_text
        )

    @property
    def is_overdue(self) -> bool:
        return self.status.is_open and self.due_at is not None and self.due_at < utcnow()

    def __repr__(self) -> str:
        return f"<Ticket {self.code} {self.status} {self.category}>"


class TicketEvent(Base):
    """The audit log: one row per change, with actor and time."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[Person | None] = relationship()


class TicketHelper(Base):
    """协办: a unit helping the responsible (lead) unit with a ticket; it marks its own part done."""

    __tablename__ = "ticket_helpers"
    __table_args__ = (UniqueConstraint("ticket_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="helpers")
    unit: Mapped[Unit] = relationship()


class DueItem(Base):
    """Something the supervision clock must do at ``due_at`` (tickets.clock, tickets.usecases.supervision):
    a warning, an escalation, a 回访 … Rows are claimed by whichever process runs the clock and kept
    after they are done (``status``: pending, done, skipped, cancelled), so nothing is done twice."""

    __tablename__ = "due_items"
    __table_args__ = (
        Index(
            "ix_due_items_pending",
            "due_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)  # group status lines have no ticket
    kind: Mapped[str] = mapped_column(String(24))
    # Unique over the table: the ticket (or chat), what and the moment it belongs to, e.g.
    # ``t42:warn:2h:2026-12-09T10:00`` — planning the same thing twice finds the row already there.
    key: Mapped[str] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LabelFeedback(Base):
    """A correction of NLU output by staff or a grid member; exportable as Rasa training data."""

    __tablename__ = "label_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    predicted: Mapped[dict[str, Any]] = mapped_column(default=dict)
    corrected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    source: Mapped[str] = mapped_column(String(24))  # console | staff_group | grid_member | review
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None]


class ReviewItem(Base):
    """A message the NLU was unsure about, waiting for a person to confirm or dismiss it (待复核)."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[Source] = mapped_column(_enum(Source))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    forwarder_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    origin_label: Mapped[str | None] = mapped_column(String(255))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    redacted_text: Mapped[str] = mapped_column(Text)
    nlu: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]


class InboxItem(Base):
    """A raw incoming Telegram update, stored before it is processed (idempotent by update id)."""

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="")
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: The worker holding the claim and until when (renewed by its heartbeats; tickets.queues).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class OutboxItem(Base):
    """A message to send to Telegram; retried with backoff until sent (never lost)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32), default="sendMessage")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kind: Mapped[str] = mapped_column(String(32), default="")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    #: Claimed before rows of lower priority, in its chat and overall (``tickets.outbox.URGENT``).
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    #: A card folded into a backlog digest (status ``folded``): the digest row that carries it.
    digest_id: Mapped[int | None] = mapped_column(Integer)

    ticket: Mapped[Ticket | None] = relationship()


class BotState(Base):
    """Conversation state of the bot's short dialogues (``bot.state``), shared by its processes."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ForwardBurst(Base):
    """A grid member's burst of forwards (``bot.forwarding``): open (unclaimed; one per member) while
    forwards keep coming, filed once quiet until ``due_at`` by whichever bot process claims it; its
    forwards wait in the inbox with status ``waiting``."""

    __tablename__ = "forward_bursts"
    __table_args__ = (
        Index(
            "ux_forward_bursts_open",
            "user_id",
            unique=True,
            sqlite_where=text("claimed_by IS NULL"),
            postgresql_where=text("claimed_by IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    #: The forwards (``ForwardItem`` as JSON, with the inbox row id of each).
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime] = mapped_column(index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class RateLimit(Base):
    """A shared send limit (``bot.limits``): the GCRA theoretical arrival time, epoch seconds."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[float]


class Counter(Base):
    """Gap-free per-day sequences for public codes (row-locked inside the filing transaction)."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("scope", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    day: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------------------------------------------
# Derived tables for the dashboard and the counts beside the list's filters (migration 0004). They are
# written only by tickets.rollup and tickets.counts and by the triggers of migration 0004; nothing else
# should write them.


class StatsDay(Base):
    """A local day whose rows in ``stats_daily`` are complete, and the settings they were built with."""

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    config: Mapped[str] = mapped_column(String(120))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatsDaily(Base):
    """Statistics of one local day per category × responsible unit × area (see ``tickets.rollup``).

    The counts and sums are those of ``tickets.stats.Figures`` over the tickets filed that day (merged
    ones excluded); ``resolved`` counts the tickets whose resolution time falls on that day; the
    follow-through counts are those of ``tickets.stats.FollowFigures`` (see ``tickets.rollup``)."""

    __tablename__ = "stats_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    category: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(Integer)
    filed: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    responded: Mapped[int] = mapped_column(Integer, default=0)
    responded_in_time: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    done_on_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    reachable_done: Mapped[int] = mapped_column(Integer, default=0)
    told: Mapped[int] = mapped_column(Integer, default=0)
    response_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    resolution_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    # The follow-through counts (``tickets.stats.follow_figures``, migration 0016): over the tickets
    # due that day, filed that day, and resolved that day.
    due: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dispatched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_back: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    follow_resolved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    called_back: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatsDirty(Base):
    """A UTC hour in which a ticket that changed was filed, resolved or due (written by triggers): the
    local days it overlaps must be rebuilt in ``stats_daily`` before they are read again."""

    __tablename__ = "stats_dirty"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(index=True)


class TicketCount(Base):
    """How many tickets have each combination of the list's filter columns (see ``tickets.counts``).

    Triggers append a row of +1 / −1 (``delta``) for every ticket filed or changed; ``tickets.counts``
    folds those into the base rows now and then. The number of tickets of a combination is the sum of
    ``n`` over all its rows."""

    __tablename__ = "ticket_counts"
    __table_args__ = (
        Index(
            "ix_ticket_counts_delta",
            "id",
            sqlite_where=text("delta"),
            postgresql_where=text("delta"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    category: Mapped[str] = mapped_column(String(40))
    area_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean)
    needs_review: Mapped[bool] = mapped_column(Boolean)
    handling_mode: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))
    n: Mapped[int] = mapped_column(Integer)
    delta: Mapped[bool] = mapped_column(Boolean, default=False)


# ---------------------------------------------------------------------------------------------------
# 三张清单 and 民微实事 projects (migration 0008, ``tickets.usecases.projects`` and ``lists``).


class Need(Base):
    """An entry of a 需求清单 (per community or street): from a case or added by staff or a survey."""

    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16))  # case | manual | survey | split
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    reporters: Mapped[int] = mapped_column(Integer, default=0)
    first_report_at: Mapped[datetime | None]
    last_report_at: Mapped[datetime | None]
    #: Redacted sample texts (phone and ID numbers masked), at most a few.
    samples: Mapped[list[Any]] = mapped_column(default=list)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | merged | closed
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()
    case: Mapped[Case | None] = relationship()


class Resource(Base):
    """An entry of a 资源清单: what a unit, partner, volunteer team or company offers. ``contact`` is
    for staff only, never on a public page."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    provider: Mapped[str] = mapped_column(String(120))
    provider_kind: Mapped[str] = mapped_column(String(16))  # unit | partner | volunteer | company
    what: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[str] = mapped_column(String(120), default="")
    contact: Mapped[str] = mapped_column(String(120), default="")
    period: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class NeedMatch(Base):
    """A resource matched to a need by staff."""

    __tablename__ = "need_matches"
    __table_args__ = (UniqueConstraint("need_id", "resource_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    matched_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)

    need: Mapped[Need] = relationship()
    resource: Mapped[Resource] = relationship()


class Service(Base):
    """A recurring service of a 服务项目清单 (长者饭堂, 义诊, 课后托管 …)."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    schedule: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(120), default="")
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class Project(Base):
    """A 民微实事 project: from needs and tickets (or staff) through deliberation, a vote, approval,
    implementation, acceptance and evaluation to 销号. Money is kept in fen (1/100 yuan)."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str | None] = mapped_column(String(40))
    #: The area (community or street) the project is for; its grid groups vote.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    #: The 领办 unit and person (项目包干).
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    funding_source: Mapped[str] = mapped_column(String(120), default="")
    estimated_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[ProjectStatus] = mapped_column(
        _enum(ProjectStatus), default=ProjectStatus.PROPOSED
    )
    reject_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # what was done, told to residents at 验收
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    vote_opened_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    owner_unit: Mapped[Unit | None] = relationship(foreign_keys=[owner_unit_id])
    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id])
    events: Mapped[list[ProjectEvent]] = relationship(
        back_populates="project", order_by="ProjectEvent.id"
    )


class ProjectEvent(Base):
    """A project's audit log: one row per change, with actor and time."""

    __tablename__ = "project_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    project: Mapped[Project] = relationship(back_populates="events")


class ProjectNeed(Base):
    __tablename__ = "project_needs"
    __table_args__ = (UniqueConstraint("project_id", "need_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)

    need: Mapped[Need] = relationship()


class ProjectTicket(Base):
    """A ticket that fed a project: its resident is told when the project is approved and finished."""

    __tablename__ = "project_tickets"
    __table_args__ = (UniqueConstraint("project_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship()


class ProjectMeeting(Base):
    """A 议事 meeting: when, who took part, what was decided."""

    __tablename__ = "project_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    participants: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectUpdate(Base):
    """A progress update of a project being implemented: milestone, text, photos, money spent."""

    __tablename__ = "project_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    milestone: Mapped[str] = mapped_column(String(120), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ProjectPoll(Base):
    """A Telegram poll of a project in one bound grid group. Telegram's ``poll_id`` is known once the
    outbox row (``outbox_id``) was sent (``tickets.queues.finish_outbox``)."""

    __tablename__ = "project_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    poll_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Telegram's persistent id of each option as sent → the choice it stands for (``for`` /
    #: ``against``); answers are read by it. ``{}``: sent before ids were kept, read by position.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectVote(Base):
    """One voter's vote on a project (``voter``: ``tg:<user id>`` or ``web:<person id>``, unique per
    project). ``counted`` is false for answers from people the community does not know (``excluded``
    says why); a retracted answer deletes the row."""

    __tablename__ = "project_votes"
    __table_args__ = (UniqueConstraint("project_id", "voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    voter: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | web
    choice: Mapped[VoteChoice] = mapped_column(_enum(VoteChoice))
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    excluded: Mapped[str | None] = mapped_column(String(40))
    poll_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectEvaluation(Base):
    """A resident's rating or an observer's scores on the district's criteria (one per person)."""

    __tablename__ = "project_evaluations"
    __table_args__ = (UniqueConstraint("project_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[EvaluatorKind] = mapped_column(_enum(EvaluatorKind))
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ListEvent(Base):
    """The audit log of the three lists: who added, merged, split, ranked or matched what, and when."""

    __tablename__ = "list_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(32), index=True)  # a need, resource or service code
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ModelVersion(Base):
    """An NLU model version in the models registry (``nlu.registry``): what it was trained on, its
    figures on the frozen evaluation set, and what became of it (imported, promoted, refused)."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # imported | promoted | refused
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The active model's figures in the same evaluation, when this version was a candidate.
    compared_with: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    corrections: Mapped[int] = mapped_column(default=0)
    examples: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_by_label: Mapped[str] = mapped_column(String(100), default="")


class ModelEvent(Base):
    """The audit log of the models registry: a retrain asked for or run, a promotion, a refusal, a
    rollback — with who and when."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(
        String(24)
    )  # requested | promoted | refused | rolled_back | failed
    version: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Photo(Base):
    """A photo MinWei keeps itself: sent by a resident on Telegram (a photo, or an image sent as a
    document) to a ticket, or uploaded by staff to a project update.

    A Telegram photo is recorded at once with its ``file_id`` (status ``pending``); the row is then its
    own fetch job, with a due time (``next_attempt_at``) and a lease (``claimed_by``/``lease_until``)
    like the outbox: whichever bot process runs claims it, downloads the file, and stores the image
    re-encoded without EXIF (``tickets.photos``). ``data``/``thumb`` are what staff and the public see;
    the bytes Telegram gave are never kept. The public sees a photo only once staff approved it."""

    __tablename__ = "photos"
    __table_args__ = (
        UniqueConstraint("ticket_id", "sha256", name="uq_photos_ticket_sha256"),
        UniqueConstraint("project_update_id", "sha256", name="uq_photos_update_sha256"),
        Index("ix_photos_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    project_update_id: Mapped[int | None] = mapped_column(
        ForeignKey("project_updates.id"), index=True
    )
    #: telegram (a resident's photo or image document) | console (a staff upload)
    source: Mapped[str] = mapped_column(String(16))
    #: pending → stored, or duplicate (the same image is on the ticket already), too_large,
    #: rejected (not an image), failed (Telegram would never give the file)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    telegram_file_id: Mapped[str | None] = mapped_column(String(255))
    #: The chat to tell when the photo cannot be kept (the resident's private chat).
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    thumb: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    #: The photo's address on the public pages, unguessable (ids are sequential).
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    approved_public: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stored_at: Mapped[datetime | None]
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
