"""Plain, frozen results the services hand to the adapters (no ORM objects leave a unit of work)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickets.models import Ticket, TicketEvent
from tickets.stats import Figures
from tickets.statuses import EventKind, Status
from tickets.taxonomy import Taxonomy

#: Photo statuses counted as the resident's kept photos (stored, or still being fetched).
KEPT_PHOTOS = ("stored", "pending")


@dataclass(frozen=True)
class TicketView:
    code: str
    category: str
    category_name: str
    status: Status
    status_label: str
    is_open: bool
    urgent: bool
    overdue: bool
    summary: str
    location: str
    unit_name: str | None
    created_at: datetime
    due_at: datetime | None
    latest: str | None = None
    #: Photos the resident sent that MinWei keeps (or is fetching); only with progress.
    photos: int = 0

    @classmethod
    def of(cls, ticket: Ticket, taxonomy: Taxonomy, *, with_progress: bool = False) -> TicketView:
        flat = " ".join(ticket.redacted_text.split())
        return cls(
            code=ticket.code,
            category=ticket.category,
            category_name=taxonomy.name(ticket.category),
            status=ticket.status,
            status_label=ticket.status.label,
            is_open=ticket.status.is_open,
            urgent=ticket.urgent,
            overdue=ticket.is_overdue,
            summary=flat if len(flat) <= 40 else flat[:39] + "…",
            location=ticket.location_text,
            unit_name=ticket.unit.name if ticket.unit else None,
            created_at=ticket.created_at,
            due_at=ticket.due_at,
            latest=progress(ticket.events) if with_progress else None,
            photos=sum(1 for p in ticket.photos if p.status in KEPT_PHOTOS) if with_progress else 0,
        )


def progress(events: list[TicketEvent]) -> str | None:
    """The latest thing a resident should know about, e.g. ``已办结：更换了灯泡``."""
    for event in reversed(events):
        kind = EventKind.of(event.kind)
        if kind is EventKind.NOTE and not event.data.get("public"):
            continue
        label = kind.progress if kind is not None else None
        if label is None:
            continue
        detail = (
            event.data.get("note")
            or event.data.get("reason")
            or event.data.get("unit_name")
            or event.data.get("into")
            or (
                event.data.get("text")
                if kind in (EventKind.NOTE, EventKind.RESIDENT_INFO)
                else None
            )
        )
        stamp = event.at.strftime("%Y-%m-%d")
        return f"{label}：{detail}（{stamp}）" if detail else f"{label}（{stamp}）"
    return None


@dataclass(frozen=True)
class StatusAnswer:
    """The ticket a resident asked about, or the candidates to choose from."""

    ticket: TicketView | None
    choices: list[TicketView] = field(default_factory=list)


@dataclass(frozen=True)
class GroupMessage:
    """One text message seen in a group (or edited there)."""

    update_id: int
    chat_id: int
    message_id: int
    user_id: int | None
    user_name: str
    username: str | None
    text: str


@dataclass(frozen=True)
class GroupOutcome:
    kind: str  # filed | review | dropped | unbound | error
    code: str | None = None
    category_name: str | None = None
    reply_in_group: bool = False
    #: Why the message could be neither filed nor set aside for review (kind ``error``).
    error: str = ""


@dataclass(frozen=True)
class PastedMessage:
    """One message of a group chat pasted into the console's 试一试 page (``console.tryout.parse_paste``)."""

    text: str
    #: Who said it, when the copy says so (``陈姨：…``, ``陈姨 10:32``): the ticket's origin label.
    speaker: str | None = None
    #: The time the copy shows (``10:32``), part of the message's identity.
    said_at: str | None = None
    #: How many identical messages (same speaker, time and text) came before it in the paste.
    occurrence: int = 0


@dataclass(frozen=True)
class PastedOutcome:
    """What the grid group's logic did with one pasted message."""

    message: PastedMessage
    decision: str  # filed | review | dropped
    demand_confidence: float
    category: str | None
    category_name: str | None
    category_confidence: float
    urgent: bool
    #: The NLU's location spans ({"text", "start", "end"}) in ``message.text``.
    locations: tuple[dict[str, Any], ...] = ()
    #: The ticket filed (now or by an earlier paste of the same message) and whether the person who
    #: pasted may open it (a place named in the text can put it outside their units).
    code: str | None = None
    visible: bool = False
    review_item_id: int | None = None


@dataclass(frozen=True)
class WebTicket:
    """A ticket filed in a web chat, as its 本次对话的工单 panel shows it."""

    ticket: TicketView
    visible: bool


@dataclass(frozen=True)
class ForwardItem:
    """One forwarded message in a grid member's burst."""

    update_id: int
    chat_id: int
    message_id: int
    text: str
    origin_kind: str  # user | hidden_user | chat | channel | unknown
    origin_user_id: int | None
    origin_name: str
    origin_username: str | None
    origin_date: datetime | None


@dataclass(frozen=True)
class ForwardDemand:
    """Consecutive forwards of one original sender joined into one utterance."""

    items: tuple[ForwardItem, ...]

    @property
    def text(self) -> str:
        return "\n".join(i.text for i in self.items)

    @property
    def first(self) -> ForwardItem:
        return self.items[0]


@dataclass(frozen=True)
class FiledForward:
    code: str
    category: str
    category_name: str
    confidence: float
    urgent: bool
    location: str
    origin: str
    summary: str


@dataclass(frozen=True)
class ForwardBurstResult:
    messages: int
    filed: list[FiledForward]
    skipped: int


@dataclass(frozen=True)
class Digest:
    area_name: str
    open_count: int
    overdue_count: int
    by_status: list[tuple[str, int]]
    tickets: list[TicketView]
    hotspots: list[str]
    pending_review: int


@dataclass(frozen=True)
class StatsView:
    scope_name: str
    today: Figures
    month: Figures
    hotspots: list[str]


@dataclass(frozen=True)
class StaffResult:
    """What a staff action changed: the ticket and the refreshed card."""

    code: str
    card_text: str
    card_chat_id: int | None
    card_message_id: int | None
    action_label: str
    actor_name: str
