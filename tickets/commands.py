"""What staff can do to a ticket, as one table: every command with its label, which tickets it applies to,
and one ``perform`` that runs it through ``tickets.services``.

The Telegram staff card and the console both offer ``allowed(ticket)`` and call ``perform``; neither
knows the lifecycle rules (those are ``tickets.statuses.TRANSITIONS``, which ``allowed`` reads).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from tickets import messages, services
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import Person, Ticket
from tickets.statuses import TRANSITIONS, Action, HandlingMode, Satisfaction, Status
from tickets.timelimits import parse_when


class Command(StrEnum):
    """Every action staff can take on a ticket."""

    ACCEPT = "accept"
    RECLASSIFY = "reclassify"
    PLACE = "place"
    MODE = "mode"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    REJECT = "reject"
    MERGE = "merge"
    REOPEN = "reopen"
    CLOSE = "close"
    NOTE = "note"
    URGENT = "urgent"
    CONFIRM = "confirm"
    SEND_BACK = "send_back"
    HELP = "help"
    HELPED = "helped"
    VISIT = "visit"
    CALLBACK = "callback"

    @property
    def label(self) -> str:
        """What its button says."""
        return LABELS[self]

    @property
    def transition(self) -> Action | None:
        """The status change it makes, when it makes one."""
        return TRANSITION_OF.get(self)


LABELS: dict[Command, str] = {
    Command.ACCEPT: "受理",
    Command.RECLASSIFY: "改类别",
    Command.PLACE: "改地点",
    Command.MODE: "办理方式",
    Command.ASSIGN: "派单",
    Command.START: "开始处理",
    Command.RESOLVE: "办结",
    Command.REJECT: "不予受理",
    Command.MERGE: "合并",
    Command.REOPEN: "重新打开",
    Command.CLOSE: "关闭",
    Command.NOTE: "备注",
    Command.URGENT: "紧急标记",
    Command.CONFIRM: "确认类别",
    Command.SEND_BACK: "退单",
    Command.HELP: "协办",
    Command.HELPED: "协办完成",
    Command.VISIT: "预约上门",
    Command.CALLBACK: "电话回访",
}
TRANSITION_OF: dict[Command, Action] = {
    Command.ACCEPT: Action.ACCEPT,
    Command.ASSIGN: Action.ASSIGN,
    Command.START: Action.START,
    Command.RESOLVE: Action.RESOLVE,
    Command.REJECT: Action.REJECT,
    Command.MERGE: Action.MERGE,
    Command.REOPEN: Action.REOPEN,
    Command.CLOSE: Action.CLOSE,
    Command.SEND_BACK: Action.SEND_BACK,
}
#: What the staff of a 协办 unit may do (nothing that changes the ticket's course).
HELPER_COMMANDS = (Command.NOTE, Command.HELPED)


@dataclass(frozen=True)
class Args:
    """What a staff member gave with a command (only the fields it needs are read)."""

    note: str = ""  # RESOLVE: the result told to the resident; HELPED, CALLBACK: what was done/said
    reason: str = ""  # REJECT, REOPEN, SEND_BACK
    category: str = ""  # RECLASSIFY
    mode: str = ""  # MODE (a HandlingMode value)
    unit: str = ""  # ASSIGN, HELP (a unit code)
    into: str = ""  # MERGE (the main ticket's code)
    text: str = ""  # NOTE
    tell_resident: bool = False  # NOTE
    not_demand: bool = False  # REJECT: the NLU was wrong (label feedback)
    urgent: bool = False  # URGENT
    when: str = ""  # VISIT: the local time of the visit (``tickets.timelimits.parse_when``)
    satisfaction: str = ""  # CALLBACK: the resident's rating on the phone (a Satisfaction value)
    place: str = ""  # PLACE


def allowed(ticket: Ticket, *, helper_only: bool = False) -> list[Command]:
    """The commands that apply to ``ticket`` as it is now, in the table's order; ``helper_only``: for
    the staff of a 协办 unit who may not act on it otherwise."""
    status = ticket.status
    found = []
    for command in Command:
        transition = command.transition
        if helper_only and command not in HELPER_COMMANDS:
            continue
        if command is Command.SEND_BACK:
            ok = status in TRANSITIONS[Action.SEND_BACK] and ticket.unit_id is not None
        elif transition is not None:
            ok = status in TRANSITIONS[transition]
        elif command in (Command.RECLASSIFY, Command.PLACE):
            ok = status not in (Status.MERGED, Status.CLOSED)
        elif command in (Command.MODE, Command.URGENT, Command.HELP, Command.VISIT):
            ok = status.is_open
        elif command is Command.CONFIRM:
            ok = ticket.needs_review and status.is_open
        elif command is Command.HELPED:
            ok = helper_only and status.is_open
        elif command is Command.CALLBACK:
            ok = status is Status.RESOLVED
        else:
            ok = True
        if ok:
            found.append(command)
    return found


def perform(
    session: Session,
    domain: Domain,
    ticket: Ticket,
    command: Command,
    actor: Person,
    args: Args | None = None,
    *,
    find: Callable[[str], Ticket] | None = None,
) -> str:
    """Do ``command`` on ``ticket`` as ``actor``; returns what happened, in words for the actor.

    ``find`` looks up the ticket to merge into (default: any ticket by code; the console passes its
    own, which finds only tickets the actor may see). Services check permissions and transitions."""
    a = args or Args()
    common: dict[str, Any] = {
        "session": session,
        "domain": domain,
        "ticket": ticket,
        "actor": actor,
    }
    match command:
        case Command.ACCEPT:
            services.accept(**common)
            return "已受理"
        case Command.START:
            services.start(**common)
            return "已开始处理"
        case Command.RESOLVE:
            services.resolve(**common, note=a.note)
            return "已办结，已通知居民评价"
        case Command.CLOSE:
            services.close(**common)
            return "已关闭"
        case Command.REOPEN:
            services.reopen(**common, reason=a.reason)
            return "已重新打开"
        case Command.REJECT:
            services.reject(**common, reason=a.reason, not_demand=a.not_demand)
            return "已不予受理" + ("，已记录为“不是诉求”的标注反馈" if a.not_demand else "")
        case Command.MERGE:
            into = (find or (lambda code: services.get_ticket(session, code)))(a.into or "-")
            services.merge(**common, into=into)
            return f"已合并到 {into.code}"
        case Command.RECLASSIFY:
            services.reclassify(**common, category=a.category)
            name = domain.taxonomy.name(a.category)
            return f"类别已改为「{name}」，已记录为标注反馈"
        case Command.PLACE:
            services.correct_place(**common, place=a.place)
            return f"地点已改为「{ticket.location_text}」，已记录为标注反馈"
        case Command.MODE:
            try:
                mode = HandlingMode(a.mode)
            except ValueError:
                raise InvalidInput("请选择办理方式") from None
            services.set_handling_mode(**common, mode=mode)
            return f"办理方式已设为「{mode.label}」"
        case Command.ASSIGN:
            if not a.unit:
                raise InvalidInput("请选择派单单位")
            unit = domain.units(session).get(a.unit)
            services.assign(**common, unit=unit)
            return f"已派单至{unit.name}"
        case Command.NOTE:
            services.add_note(**common, text=a.text, tell_resident=a.tell_resident)
            return "备注已添加" + ("，并已通知居民" if a.tell_resident else "")
        case Command.URGENT:
            services.set_urgent(**common, urgent=a.urgent)
            return "已标为紧急" if a.urgent else "已取消紧急"
        case Command.CONFIRM:
            services.confirm_classification(**common)
            return "已确认类别"
        case Command.SEND_BACK:
            services.send_back(**common, reason=a.reason)
            return f"已退回{ticket.unit.name if ticket.unit else '上级单位'}"
        case Command.HELP:
            if not a.unit:
                raise InvalidInput("请选择协办单位")
            unit = domain.units(session).get(a.unit)
            services.add_helper(**common, unit=unit)
            return f"已请{unit.name}协办"
        case Command.HELPED:
            services.helper_done(**common, note=a.note)
            return "已标记本单位协办完成"
        case Command.VISIT:
            at = parse_when(a.when, domain.clock(), domain.settings.timezone)
            services.set_visit(**common, at=at)
            return f"已预约 {messages.when(at, domain.settings.timezone)} 上门，已通知居民"
        case Command.CALLBACK:
            try:
                satisfaction = Satisfaction(a.satisfaction)
            except ValueError:
                raise InvalidInput("请选择居民的评价") from None
            services.record_callback(**common, satisfaction=satisfaction, note=a.note)
            return f"已记录电话回访：{satisfaction.label}"
    raise InvalidInput(f"没有这个操作：{command}")
