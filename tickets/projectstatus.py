"""民微实事 projects as data: statuses with Chinese labels, the actions staff take, one transition table,
the kinds of audit event, and the vote choices. Like ``tickets.statuses`` for tickets."""

from __future__ import annotations

from enum import StrEnum

from tickets.errors import IllegalTransition


class ProjectStatus(StrEnum):
    PROPOSED = "proposed"
    DELIBERATING = "deliberating"
    VOTING = "voting"
    APPROVED = "approved"
    IMPLEMENTING = "implementing"
    ACCEPTED = "accepted"
    EVALUATING = "evaluating"
    CLOSED = "closed"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return PROJECT_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (ProjectStatus.CLOSED, ProjectStatus.REJECTED)

    @property
    def step(self) -> int:
        """Its place in the lifecycle (不立项: -1), for the progress bar of the public page."""
        return LIFECYCLE.index(self) if self in LIFECYCLE else -1


PROJECT_STATUS_LABELS: dict[ProjectStatus, str] = {
    ProjectStatus.PROPOSED: "提议",
    ProjectStatus.DELIBERATING: "议事",
    ProjectStatus.VOTING: "表决",
    ProjectStatus.APPROVED: "立项",
    ProjectStatus.IMPLEMENTING: "实施",
    ProjectStatus.ACCEPTED: "验收",
    ProjectStatus.EVALUATING: "评价",
    ProjectStatus.CLOSED: "销号",
    ProjectStatus.REJECTED: "不立项",
}
#: The way every project should go, in order (不立项 leaves it).
LIFECYCLE = (
    ProjectStatus.PROPOSED,
    ProjectStatus.DELIBERATING,
    ProjectStatus.VOTING,
    ProjectStatus.APPROVED,
    ProjectStatus.IMPLEMENTING,
    ProjectStatus.ACCEPTED,
    ProjectStatus.EVALUATING,
    ProjectStatus.CLOSED,
)
#: Counted as 立项 (approved at some time) in the 成绩单.
APPROVED_OR_LATER = frozenset(LIFECYCLE[3:])
#: Counted as finished (验收 passed) in the 成绩单.
FINISHED = frozenset(LIFECYCLE[5:])


class ProjectAction(StrEnum):
    DELIBERATE = "deliberate"
    OPEN_VOTE = "open_vote"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    ACCEPT = "accept"
    EVALUATE = "evaluate"
    CLOSE = "close"

    @property
    def label(self) -> str:
        return PROJECT_ACTION_LABELS[self]


PROJECT_ACTION_LABELS: dict[ProjectAction, str] = {
    ProjectAction.DELIBERATE: "进入议事",
    ProjectAction.OPEN_VOTE: "发起表决",
    ProjectAction.APPROVE: "立项",
    ProjectAction.REJECT: "不立项",
    ProjectAction.START: "开始实施",
    ProjectAction.ACCEPT: "验收通过",
    ProjectAction.EVALUATE: "开始评价",
    ProjectAction.CLOSE: "销号",
}

#: action → {from status: to status}. Anything not listed is refused and changes nothing.
PROJECT_TRANSITIONS: dict[ProjectAction, dict[ProjectStatus, ProjectStatus]] = {
    ProjectAction.DELIBERATE: {ProjectStatus.PROPOSED: ProjectStatus.DELIBERATING},
    ProjectAction.OPEN_VOTE: {ProjectStatus.DELIBERATING: ProjectStatus.VOTING},
    ProjectAction.APPROVE: {ProjectStatus.VOTING: ProjectStatus.APPROVED},
    ProjectAction.REJECT: {
        s: ProjectStatus.REJECTED
        for s in (ProjectStatus.PROPOSED, ProjectStatus.DELIBERATING, ProjectStatus.VOTING)
    },
    ProjectAction.START: {ProjectStatus.APPROVED: ProjectStatus.IMPLEMENTING},
    ProjectAction.ACCEPT: {ProjectStatus.IMPLEMENTING: ProjectStatus.ACCEPTED},
    ProjectAction.EVALUATE: {ProjectStatus.ACCEPTED: ProjectStatus.EVALUATING},
    ProjectAction.CLOSE: {ProjectStatus.EVALUATING: ProjectStatus.CLOSED},
}


def next_project_status(code: str, current: ProjectStatus, action: ProjectAction) -> ProjectStatus:
    """Return the status ``action`` leads to from ``current``; raise :class:`IllegalTransition`."""
    try:
        return PROJECT_TRANSITIONS[action][current]
    except KeyError:
        raise IllegalTransition(code, current.label, action.label) from None


class ProjectEventKind(StrEnum):
    """What a project's audit event records; ``public``: shown on the public project page."""

    PROPOSED = "proposed"
    EDITED = "edited"
    DELIBERATE = "deliberate"
    OPEN_VOTE = "open_vote"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    ACCEPT = "accept"
    EVALUATE = "evaluate"
    CLOSE = "close"
    MEETING = "meeting"
    UPDATE = "update"
    POLL_SENT = "poll_sent"
    TICKET_LINKED = "ticket_linked"
    TICKETS_CLOSED = "tickets_closed"
    RESIDENTS_TOLD = "residents_told"
    EVALUATED = "evaluated"

    @property
    def label(self) -> str:
        return PROJECT_EVENT_WORDS[self][0]

    @property
    def public(self) -> bool:
        return PROJECT_EVENT_WORDS[self][1]

    @classmethod
    def of(cls, kind: str) -> ProjectEventKind | None:
        try:
            return cls(kind)
        except ValueError:
            return None


PROJECT_EVENT_WORDS: dict[ProjectEventKind, tuple[str, bool]] = {
    ProjectEventKind.PROPOSED: ("提议", True),
    ProjectEventKind.EDITED: ("修改项目信息", False),
    ProjectEventKind.DELIBERATE: ("进入议事", True),
    ProjectEventKind.OPEN_VOTE: ("发起表决", True),
    ProjectEventKind.APPROVE: ("立项", True),
    ProjectEventKind.REJECT: ("不立项", True),
    ProjectEventKind.START: ("开始实施", True),
    ProjectEventKind.ACCEPT: ("验收通过", True),
    ProjectEventKind.EVALUATE: ("开始评价", True),
    ProjectEventKind.CLOSE: ("销号", True),
    ProjectEventKind.MEETING: ("议事会议", True),
    ProjectEventKind.UPDATE: ("实施进展", True),
    ProjectEventKind.POLL_SENT: ("网格群投票", True),
    ProjectEventKind.TICKET_LINKED: ("关联工单", False),
    ProjectEventKind.TICKETS_CLOSED: ("以项目结果办结工单", False),
    ProjectEventKind.RESIDENTS_TOLD: ("通知反映诉求的居民", False),
    ProjectEventKind.EVALUATED: ("评价", False),
}


def project_event_label(kind: str) -> str:
    known = ProjectEventKind.of(kind)
    return known.label if known is not None else kind


class VoteChoice(StrEnum):
    FOR = "for"
    AGAINST = "against"

    @property
    def label(self) -> str:
        return {"for": "赞成", "against": "反对"}[self.value]


#: The poll's options in order (Telegram reports answers as option indexes).
POLL_OPTIONS = (VoteChoice.FOR, VoteChoice.AGAINST)


class EvaluatorKind(StrEnum):
    RESIDENT = "resident"
    OBSERVER = "observer"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return {"resident": "居民", "observer": "观察员", "staff": "工作人员"}[self.value]
