"""Statuses, sources, roles and handling modes as data: enums with Chinese labels and one transition table."""

from __future__ import annotations

from enum import StrEnum

from tickets.errors import IllegalTransition


class Status(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPENED = "reopened"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


STATUS_LABELS: dict[Status, str] = {
    Status.NEW: "待受理",
    Status.ACCEPTED: "已受理",
    Status.ASSIGNED: "已派单",
    Status.IN_PROGRESS: "处理中",
    Status.RESOLVED: "已办结",
    Status.CLOSED: "已关闭",
    Status.REJECTED: "不予受理",
    Status.MERGED: "已合并",
    Status.REOPENED: "已重新打开",
}

#: Still being worked on (Open311 "open").
OPEN_STATUSES = frozenset(
    {Status.NEW, Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED}
)
#: Finished one way or another (Open311 "closed").
CLOSED_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.MERGED})
#: Counted as 办结 in statistics.
DONE_STATUSES = frozenset({Status.RESOLVED, Status.CLOSED})


class Action(StrEnum):
    ACCEPT = "accept"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    REJECT = "reject"
    MERGE = "merge"
    SEND_BACK = "send_back"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.ACCEPT: "受理",
    Action.ASSIGN: "派单",
    Action.START: "开始处理",
    Action.RESOLVE: "办结",
    Action.CLOSE: "关闭",
    Action.REOPEN: "重新打开",
    Action.REJECT: "不予受理",
    Action.MERGE: "合并",
    Action.SEND_BACK: "退单",
}

_WORKING = (Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.REOPENED)

#: action → {from status: to status}. Anything not listed is an illegal transition.
TRANSITIONS: dict[Action, dict[Status, Status]] = {
    Action.ACCEPT: {Status.NEW: Status.ACCEPTED},
    # Dispatching straight from 待受理 counts as accepting it too; re-dispatching is allowed.
    Action.ASSIGN: {s: Status.ASSIGNED for s in (Status.NEW, *_WORKING)},
    Action.START: {
        s: Status.IN_PROGRESS for s in (Status.ACCEPTED, Status.ASSIGNED, Status.REOPENED)
    },
    Action.RESOLVE: {s: Status.RESOLVED for s in _WORKING},
    Action.CLOSE: {Status.RESOLVED: Status.CLOSED},
    Action.REOPEN: {s: Status.REOPENED for s in (Status.RESOLVED, Status.CLOSED, Status.REJECTED)},
    Action.REJECT: {s: Status.REJECTED for s in (Status.NEW, *_WORKING)},
    Action.MERGE: {s: Status.MERGED for s in (Status.NEW, *_WORKING)},
    # 退单: the receiving unit returns the ticket to its dispatcher, who has it as accepted (a ticket
    # nobody had accepted stays 待受理).
    Action.SEND_BACK: {Status.NEW: Status.NEW, **{s: Status.ACCEPTED for s in _WORKING}},
}


def next_status(code: str, current: Status, action: Action) -> Status:
    """Return the status ``action`` leads to from ``current``; raise :class:`IllegalTransition`."""
    try:
        return TRANSITIONS[action][current]
    except KeyError:
        raise IllegalTransition(code, current.label, action.label) from None


class EventKind(StrEnum):
    """What an audit event records (``TicketEvent.kind``); its words are in ``EVENT_WORDS``."""

    FILED = "filed"
    ACCEPT = "accept"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    REJECT = "reject"
    MERGE = "merge"
    MERGED_IN = "merged_in"
    RECLASSIFIED = "reclassified"
    HANDLING_MODE = "handling_mode"
    URGENT = "urgent"
    NOTE = "note"
    RESIDENT_INFO = "resident_info"
    PLACE_ADDED = "place_added"
    PLACE_CORRECTED = "place_corrected"
    PIN_ADDED = "pin_added"
    RATED = "rated"
    REVIEW_CONFIRMED = "review_confirmed"
    SEND_BACK = "send_back"
    ESCALATED = "escalated"
    HELPER_ADDED = "helper_added"
    HELPER_DONE = "helper_done"
    VISIT_SET = "visit_set"
    PUBLISHED = "published"
    CALLBACK = "callback"
    PHOTO_PUBLIC = "photo_public"
    PHOTO_WITHDRAWN = "photo_withdrawn"

    @property
    def label(self) -> str:
        """What staff see in the audit log."""
        return EVENT_WORDS[self][0]

    @property
    def progress(self) -> str | None:
        """What the resident is shown as progress (None: not shown to the resident)."""
        return EVENT_WORDS[self][1]

    @property
    def public(self) -> bool:
        """Shown on the public progress page (no notes, no people)."""
        return EVENT_WORDS[self][2]

    @classmethod
    def of(cls, kind: str) -> EventKind | None:
        try:
            return cls(kind)
        except ValueError:
            return None


#: kind → (label for staff, progress shown to the resident or None, on the public page)
EVENT_WORDS: dict[EventKind, tuple[str, str | None, bool]] = {
    EventKind.FILED: ("建单", None, True),
    EventKind.ACCEPT: ("受理", "已受理", True),
    EventKind.ASSIGN: ("派单", "已派单", True),
    EventKind.START: ("开始处理", "处理中", True),
    EventKind.RESOLVE: ("办结", "已办结", True),
    EventKind.CLOSE: ("关闭", "已关闭", True),
    EventKind.REOPEN: ("重新打开", "已重新打开", True),
    EventKind.REJECT: ("不予受理", "不予受理", True),
    EventKind.MERGE: ("合并到其他工单", "已合并", True),
    EventKind.MERGED_IN: ("并入工单", None, False),
    EventKind.RECLASSIFIED: ("改类别", None, False),
    EventKind.HANDLING_MODE: ("设置办理方式", None, False),
    EventKind.URGENT: ("紧急标记", None, False),
    EventKind.NOTE: ("备注", "办理进展", False),
    EventKind.RESIDENT_INFO: ("居民补充", "您补充了信息", False),
    EventKind.PLACE_ADDED: ("居民补充地点", "您补充了地点", False),
    EventKind.PLACE_CORRECTED: ("更正地点", None, False),
    EventKind.PIN_ADDED: ("补充定位", None, False),
    EventKind.RATED: ("居民评价", None, False),
    EventKind.REVIEW_CONFIRMED: ("复核确认类别", None, False),
    EventKind.SEND_BACK: ("退单", None, False),
    EventKind.ESCALATED: ("督办", None, False),
    EventKind.HELPER_ADDED: ("增加协办单位", None, False),
    EventKind.HELPER_DONE: ("协办完成", None, False),
    EventKind.VISIT_SET: ("预约上门", "已预约上门时间", False),
    EventKind.PUBLISHED: ("公开办理进度", "已公开办理进度", True),
    EventKind.CALLBACK: ("回访", None, False),
    EventKind.PHOTO_PUBLIC: ("公开照片", None, False),
    EventKind.PHOTO_WITHDRAWN: ("撤回公开照片", None, False),
}


def event_label(kind: str) -> str:
    """The staff label of a stored event kind (the kind itself when it is unknown)."""
    known = EventKind.of(kind)
    return known.label if known is not None else kind


class Source(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    FORWARD = "forward"
    WEB = "web"
    API = "api"

    @property
    def label(self) -> str:
        return {
            "private": "私聊",
            "group": "网格群",
            "forward": "网格员转发",
            "web": "网页",
            "api": "接口",
        }[self.value]


class HandlingMode(StrEnum):
    """The six handling modes of district practice."""

    IMMEDIATE = "immediate"
    PROACTIVE = "proactive"
    ONSITE = "onsite"
    TRACKED = "tracked"
    PUBLIC = "public"
    COORDINATED = "coordinated"

    @property
    def label(self) -> str:
        return {
            "immediate": "立即办",
            "proactive": "主动办",
            "onsite": "上门办",
            "tracked": "跟踪办",
            "public": "公开办",
            "coordinated": "积极办",
        }[self.value]


class Role(StrEnum):
    RESIDENT = "resident"
    GRID_MEMBER = "grid_member"
    COMMUNITY_STAFF = "community_staff"
    STREET_STAFF = "street_staff"
    DISTRICT_ADMIN = "district_admin"
    #: 民微观察团: reads the projects of its community and evaluates them; acts on nothing else.
    OBSERVER = "observer"

    @property
    def label(self) -> str:
        return {
            "observer": "观察员",
            "resident": "居民",
            "grid_member": "网格员",
            "community_staff": "社区工作人员",
            "street_staff": "街道工作人员",
            "district_admin": "区级管理员",
        }[self.value]

    @property
    def is_staff(self) -> bool:
        """Staff may act on tickets (grid members may too, within their grid); observers may not."""
        return self not in (Role.RESIDENT, Role.OBSERVER)

    @property
    def uses_console(self) -> bool:
        """May sign in to the console: staff, and observers (who see projects only)."""
        return self is not Role.RESIDENT

    @property
    def sees_pii_by_default(self) -> bool:
        """Roles that call residents back see phone and ID numbers unless their account says otherwise."""
        return self in (Role.COMMUNITY_STAFF, Role.DISTRICT_ADMIN)


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"

    @property
    def label(self) -> str:
        return {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}[self.value]

    @property
    def counts_as_satisfied(self) -> bool:
        return self is not Satisfaction.UNSATISFIED
