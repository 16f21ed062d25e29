"""民微实事 projects: proposal from needs and tickets, the lifecycle as one command table (议事 meetings,
表决 in grid groups and on the web, 立项, 实施 updates, 验收, 评价, 销号, 不立项), votes counted once per
person, the residents behind a project told, evaluations by residents and observers.

Every function takes the session and the domain, checks permissions and transitions first and changes
nothing on error, appends a ``ProjectEvent`` for every change, and queues what Telegram must hear in the
outbox. Callers own the transaction. Frozen views (no ORM objects) go back to the adapters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, or_, select, true
from sqlalchemy.orm import Session

from tickets import codes, messages, outbox, services
from tickets.access import can_act
from tickets.cleaning import clean_text
from tickets.criteria import MAX_SCORE, MIN_SCORE, Criterion, load_criteria
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import (
    ChatBinding,
    Need,
    Person,
    Project,
    ProjectEvaluation,
    ProjectEvent,
    ProjectMeeting,
    ProjectNeed,
    ProjectPoll,
    ProjectTicket,
    ProjectUpdate,
    ProjectVote,
    Ticket,
    Unit,
)
from tickets.projectstatus import (
    POLL_OPTIONS,
    PROJECT_TRANSITIONS,
    EvaluatorKind,
    ProjectAction,
    ProjectEventKind,
    ProjectStatus,
    VoteChoice,
    next_project_status,
)
from tickets.statuses import TRANSITIONS, Action, Role, Satisfaction
from tickets.units import UnitTree

MAX_TITLE = 200
MAX_TEXT = 4_000
#: Largest budget accepted, in yuan (a 民微实事 project is small; this catches typing errors).
MAX_YUAN = 100_000_000
#: Roles that run projects (grid members and observers read them only).
MANAGERS = (Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.DISTRICT_ADMIN)

Actor = Person | str


# --- money -------------------------------------------------------------------------------------


def parse_yuan(text: str, what: str = "金额") -> int:
    """``"12,000.5"`` yuan → 1200050 fen; raises InvalidInput on anything else."""
    cleaned = text.strip().replace(",", "").replace("，", "").removesuffix("元").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(f"{what}应为数字（元），例如 12000 或 12000.50") from None
    if not value.is_finite() or value < 0 or value > MAX_YUAN:
        raise InvalidInput(f"{what}应在 0 到 {MAX_YUAN:,} 元之间")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(f"{what}最多精确到分")
    return int(value * 100)


# --- who may see and do what --------------------------------------------------------------------


def viewing_scope(person: Person, tree: UnitTree) -> Unit | None:
    """The area whose projects ``person`` sees: their unit, a grid member's community; None = all."""
    unit = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if unit is not None and unit.level == "grid":
        return tree.area_at(unit, "community") or unit
    return unit


def visible_projects(person: Person, tree: UnitTree) -> ColumnElement[bool]:
    """A WHERE clause selecting the projects ``person`` may see (residents: none in the console)."""
    if not person.active or person.role is Role.RESIDENT:
        return false()
    scope = viewing_scope(person, tree)
    if scope is None:
        return true() if person.role is Role.DISTRICT_ADMIN else false()
    ids = tree.subtree_ids(scope)
    return or_(Project.unit_id.in_(ids), Project.owner_unit_id.in_(ids))


def can_view(person: Person, project: Project, tree: UnitTree) -> bool:
    if not person.active or person.role is Role.RESIDENT:
        return False
    scope = viewing_scope(person, tree)
    if scope is None:
        return person.role is Role.DISTRICT_ADMIN
    return tree.is_within(project.unit_id, scope) or tree.is_within(project.owner_unit_id, scope)


def can_manage(person: Person, project: Project | None, tree: UnitTree, unit: Unit) -> bool:
    """Staff of the project's area (or of its 领办 unit), and its 领办人."""
    if not person.active:
        return False
    if project is not None and project.owner_id == person.id:
        return True
    if person.role not in MANAGERS:
        return False
    scope = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
    if scope is None:
        return person.role is Role.DISTRICT_ADMIN
    owner_unit = project.owner_unit_id if project is not None else None
    return tree.is_within(unit.id, scope) or tree.is_within(owner_unit, scope)


def ensure_can_manage(actor: Actor, project: Project, tree: UnitTree) -> None:
    if isinstance(actor, str):
        return
    if not can_manage(actor, project, tree, tree.by_id[project.unit_id]):
        raise PermissionDenied(f"您没有管理项目 {project.code} 的权限")


# --- reading -----------------------------------------------------------------------------------


def get_project(session: Session, code: str) -> Project:
    project = session.scalar(select(Project).where(Project.code == code.strip().upper()[:40]))
    if project is None:
        raise NotFound(f"没有项目 {code[:40]}")
    return project


def visible_project(session: Session, domain: Domain, code: str, viewer: Person) -> Project:
    """The project ``code`` if ``viewer`` may see it (NotFound otherwise, so codes are not probed)."""
    project = get_project(session, code)
    if not can_view(viewer, project, domain.units(session)):
        raise NotFound(f"没有项目 {code[:40]}")
    return project


@dataclass(frozen=True)
class Tally:
    """Votes on a project: counted for and against, answers not counted (people the community does
    not know), and turnout = counted voters / people known to the community."""

    votes_for: int
    votes_against: int
    excluded: int
    eligible: int

    @property
    def counted(self) -> int:
        return self.votes_for + self.votes_against

    @property
    def turnout(self) -> float | None:
        return self.counted / self.eligible if self.eligible else None


def known_people(tree: UnitTree, area: Unit) -> ColumnElement[bool]:
    """People known to ``area``: residents who filed a ticket located there, and people of its units
    (grid members, staff, observers)."""
    ids = tree.subtree_ids(area)
    filed_here = (
        select(Ticket.id).where(Ticket.reporter_id == Person.id, Ticket.area_id.in_(ids)).exists()
    )
    return Person.active & or_(Person.unit_id.in_(ids), filed_here)


def tally(session: Session, domain: Domain, project: Project) -> Tally:
    rows = session.execute(
        select(ProjectVote.counted, ProjectVote.choice, func.count())
        .where(ProjectVote.project_id == project.id)
        .group_by(ProjectVote.counted, ProjectVote.choice)
    ).all()
    counts = {(bool(c), VoteChoice(ch)): int(n) for c, ch, n in rows}
    tree = domain.units(session)
    eligible = session.scalar(
        select(func.count(Person.id)).where(known_people(tree, tree.by_id[project.unit_id]))
    )
    return Tally(
        votes_for=counts.get((True, VoteChoice.FOR), 0),
        votes_against=counts.get((True, VoteChoice.AGAINST), 0),
        excluded=sum(n for (c, _), n in counts.items() if not c),
        eligible=int(eligible or 0),
    )


@dataclass(frozen=True)
class ProjectRow:
    """One project as a list, the CLI and the 成绩单 show it."""

    code: str
    title: str
    status: ProjectStatus
    status_label: str
    unit: str
    unit_name: str
    place: str
    budget: float  # yuan: the approved budget once 立项, the estimate before
    spent: float
    votes_for: int
    votes_against: int
    excluded: int
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "status": self.status.value,
            "status_label": self.status_label,
            "unit": self.unit,
            "unit_name": self.unit_name,
            "place": self.place,
            "budget": self.budget,
            "spent": self.spent,
            "votes_for": self.votes_for,
            "votes_against": self.votes_against,
            "votes_excluded": self.excluded,
            "created_at": self.created_at.isoformat(),
        }


def budget_fen(project: Project) -> int:
    return project.approved_fen if project.approved_fen is not None else project.estimated_fen


def list_projects(
    session: Session,
    domain: Domain,
    *,
    unit_code: str | None = None,
    scope: ColumnElement[bool] | None = None,
    status: ProjectStatus | None = None,
) -> list[ProjectRow]:
    """Projects (newest first) in ``unit_code``'s subtree, within ``scope`` (an access filter)."""
    tree = domain.units(session)
    stmt = select(Project).order_by(Project.created_at.desc(), Project.id.desc())
    if unit_code:
        ids = tree.subtree_ids(tree.get(unit_code))
        stmt = stmt.where(or_(Project.unit_id.in_(ids), Project.owner_unit_id.in_(ids)))
    if scope is not None:
        stmt = stmt.where(scope)
    if status is not None:
        stmt = stmt.where(Project.status == status)
    projects = list(session.scalars(stmt))
    votes: dict[tuple[int, bool, str], int] = {}
    if projects:
        for pid, counted, choice, n in session.execute(
            select(ProjectVote.project_id, ProjectVote.counted, ProjectVote.choice, func.count())
            .where(ProjectVote.project_id.in_([p.id for p in projects]))
            .group_by(ProjectVote.project_id, ProjectVote.counted, ProjectVote.choice)
        ):
            votes[(pid, bool(counted), VoteChoice(choice).value)] = int(n)
    rows = []
    for p in projects:
        unit = tree.by_id.get(p.unit_id)
        rows.append(
            ProjectRow(
                code=p.code,
                title=p.title,
                status=p.status,
                status_label=p.status.label,
                unit=unit.code if unit else "",
                unit_name=unit.name if unit else "",
                place=p.place,
                budget=budget_fen(p) / 100,
                spent=p.spent_fen / 100,
                votes_for=votes.get((p.id, True, "for"), 0),
                votes_against=votes.get((p.id, True, "against"), 0),
                excluded=votes.get((p.id, False, "for"), 0)
                + votes.get((p.id, False, "against"), 0),
                created_at=p.created_at,
            )
        )
    return rows


# --- the audit log -----------------------------------------------------------------------------


def _actor_fields(actor: Actor) -> dict[str, Any]:
    if isinstance(actor, Person):
        return {
            "actor_id": actor.id,
            "actor_label": actor.display_name or actor.username or f"#{actor.id}",
        }
    return {"actor_id": None, "actor_label": actor}


def _event(
    session: Session,
    domain: Domain,
    project: Project,
    actor: Actor,
    kind: ProjectEventKind,
    **data: Any,
) -> ProjectEvent:
    event = ProjectEvent(
        project=project, at=domain.clock(), kind=kind.value, data=data, **_actor_fields(actor)
    )
    session.add(event)
    project.updated_at = event.at
    return event


# --- proposing ---------------------------------------------------------------------------------


def _text(value: str, limit: int, what: str, *, required: bool = False) -> str:
    if not value.strip():
        if required:
            raise InvalidInput(f"请填写{what}")
        return ""
    return clean_text(value, limit=limit, what=what)


def propose(
    session: Session,
    domain: Domain,
    *,
    actor: Person,
    title: str,
    unit_code: str,
    description: str = "",
    place: str = "",
    category: str | None = None,
    estimated: str = "0",
    funding_source: str = "",
    owner_unit_code: str = "",
    owner_username: str = "",
    need_codes: Iterable[str] = (),
    ticket_codes: Iterable[str] = (),
) -> Project:
    """提议 a project for ``unit_code`` (a community or street), fed by needs and tickets: the tickets
    of each need's case are linked too, so their residents hear of it."""
    tree = domain.units(session)
    unit = tree.get(unit_code.strip())
    if unit.level not in ("community", "street", "district"):
        raise InvalidInput("项目应属于社区（村）、街道（镇）或区")
    if not can_manage(actor, None, tree, unit):
        raise PermissionDenied(f"您没有在{unit.name}提议项目的权限")
    if category and category not in domain.taxonomy:
        raise InvalidInput(f"未知的类别：{category[:40]}")
    owner_unit = tree.get(owner_unit_code.strip()) if owner_unit_code.strip() else unit
    owner = None
    if owner_username.strip():
        owner = session.scalar(select(Person).where(Person.username == owner_username.strip()))
        if owner is None or not owner.role.is_staff:
            raise InvalidInput(f"没有工作人员账号 {owner_username[:40]}")
    now = domain.clock()
    project = Project(
        code=codes.next_code(session, "project", now, domain.settings.timezone),
        title=_text(title, MAX_TITLE, "项目名称", required=True),
        description=_text(description, MAX_TEXT, "项目内容"),
        place=_text(place, 200, "地点"),
        category=category or None,
        unit_id=unit.id,
        owner_unit_id=owner_unit.id,
        owner_id=owner.id if owner else None,
        funding_source=_text(funding_source, 120, "资金来源"),
        estimated_fen=parse_yuan(estimated or "0", "估算预算"),
        spent_fen=0,
        status=ProjectStatus.PROPOSED,
        proposed_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    needs = [_need(session, code) for code in dict.fromkeys(c.strip() for c in need_codes if c)]
    for need in needs:
        session.add(ProjectNeed(project_id=project.id, need_id=need.id))
    tickets = [services.get_ticket(session, c.strip()) for c in ticket_codes if c.strip()]
    for need in needs:
        if need.case_id is not None:
            tickets.extend(session.scalars(select(Ticket).where(Ticket.case_id == need.case_id)))
    linked = _link_tickets(session, domain, project, tickets, now)
    _event(
        session,
        domain,
        project,
        actor,
        ProjectEventKind.PROPOSED,
        needs=[n.code for n in needs],
        tickets=linked,
        estimated_fen=project.estimated_fen,
    )
    return project


def _need(session: Session, code: str) -> Need:
    need = session.scalar(select(Need).where(Need.code == code.upper()))
    if need is None:
        raise NotFound(f"没有需求 {code[:40]}")
    return need


def _link_tickets(
    session: Session, domain: Domain, project: Project, tickets: Iterable[Ticket], now: datetime
) -> list[str]:
    have = set(
        session.scalars(
            select(ProjectTicket.ticket_id).where(ProjectTicket.project_id == project.id)
        )
    )
    linked = []
    for ticket in tickets:
        if ticket.id in have:
            continue
        have.add(ticket.id)
        session.add(ProjectTicket(project_id=project.id, ticket_id=ticket.id, linked_at=now))
        linked.append(ticket.code)
    return linked


# --- the command table -------------------------------------------------------------------------


class ProjectCommand(StrEnum):
    """Every action staff can take on a project (the console's buttons, in this order)."""

    DELIBERATE = "deliberate"
    MEETING = "meeting"
    OPEN_VOTE = "open_vote"
    APPROVE = "approve"
    REJECT = "reject"
    START = "start"
    UPDATE = "update"
    ACCEPT = "accept"
    EVALUATE = "evaluate"
    CLOSE = "close"
    LINK = "link"
    CLOSE_TICKETS = "close_tickets"

    @property
    def label(self) -> str:
        return COMMAND_LABELS[self]

    @property
    def transition(self) -> ProjectAction | None:
        try:
            return ProjectAction(self.value)
        except ValueError:
            return None


COMMAND_LABELS: dict[ProjectCommand, str] = {
    ProjectCommand.DELIBERATE: "进入议事",
    ProjectCommand.MEETING: "记录议事会议",
    ProjectCommand.OPEN_VOTE: "发起表决（网格群投票）",
    ProjectCommand.APPROVE: "立项",
    ProjectCommand.REJECT: "不立项",
    ProjectCommand.START: "开始实施",
    ProjectCommand.UPDATE: "记录实施进展",
    ProjectCommand.ACCEPT: "验收通过",
    ProjectCommand.EVALUATE: "开始评价",
    ProjectCommand.CLOSE: "销号",
    ProjectCommand.LINK: "关联工单",
    ProjectCommand.CLOSE_TICKETS: "以项目结果办结关联工单",
}
#: Statuses in which meetings, updates and ticket links may be recorded.
MEETING_STATUSES = frozenset({ProjectStatus.PROPOSED, ProjectStatus.DELIBERATING})
UPDATE_STATUSES = frozenset({ProjectStatus.APPROVED, ProjectStatus.IMPLEMENTING})


def allowed(project: Project) -> list[ProjectCommand]:
    """The commands that apply to ``project`` as it is now, in the table's order."""
    found = []
    for command in ProjectCommand:
        transition = command.transition
        if transition is not None:
            ok = project.status in PROJECT_TRANSITIONS[transition]
        elif command is ProjectCommand.MEETING:
            ok = project.status in MEETING_STATUSES
        elif command is ProjectCommand.UPDATE:
            ok = project.status in UPDATE_STATUSES
        elif command is ProjectCommand.CLOSE_TICKETS:
            ok = project.accepted_at is not None
        else:
            ok = project.status.is_open
        if ok:
            found.append(command)
    return found


@dataclass(frozen=True)
class Args:
    """What staff gave with a command (only the fields it needs are read)."""

    reason: str = ""  # REJECT
    budget: str = ""  # APPROVE: the fixed budget in yuan (default: the estimate)
    result: str = ""  # ACCEPT, CLOSE_TICKETS: what was done, told to the residents
    held_on: str = ""  # MEETING: YYYY-MM-DD
    participants: str = ""  # MEETING
    decision: str = ""  # MEETING
    milestone: str = ""  # UPDATE
    text: str = ""  # UPDATE
    spent: str = ""  # UPDATE: yuan spent since the last update
    photos: tuple[str, ...] = ()  # UPDATE: Telegram file ids or URLs
    tickets: str = ""  # LINK: ticket codes separated by spaces or commas
    close_tickets: bool = False  # ACCEPT: also resolve the linked open tickets with the result


def _transition(
    session: Session,
    domain: Domain,
    project: Project,
    action: ProjectAction,
    actor: Actor,
    **data: Any,
) -> ProjectEvent:
    target = next_project_status(project.code, project.status, action)
    data = {"from": project.status.value, "to": target.value, **data}
    project.status = target
    return _event(session, domain, project, actor, ProjectEventKind(action.value), **data)


def perform(
    session: Session,
    domain: Domain,
    project: Project,
    command: ProjectCommand,
    actor: Actor,
    args: Args | None = None,
) -> str:
    """Do ``command`` on ``project`` as ``actor``; returns what happened, in words for the actor."""
    a = args or Args()
    tree = domain.units(session)
    ensure_can_manage(actor, project, tree)
    now = domain.clock()
    match command:
        case ProjectCommand.DELIBERATE:
            _transition(session, domain, project, ProjectAction.DELIBERATE, actor)
            return "已进入议事阶段"
        case ProjectCommand.MEETING:
            if project.status not in MEETING_STATUSES:
                raise InvalidInput(f"项目当前为「{project.status.label}」，不能再记录议事会议")
            try:
                held = date.fromisoformat(a.held_on.strip())
            except ValueError:
                raise InvalidInput("会议日期应为 YYYY-MM-DD") from None
            meeting = ProjectMeeting(
                project_id=project.id,
                held_on=held,
                participants=_text(a.participants, 2000, "参加人员", required=True),
                decision=_text(a.decision, MAX_TEXT, "议定事项", required=True),
                recorded_by_id=actor.id if isinstance(actor, Person) else None,
                recorded_at=now,
            )
            session.add(meeting)
            _event(
                session,
                domain,
                project,
                actor,
                ProjectEventKind.MEETING,
                held_on=held.isoformat(),
                decision=meeting.decision,
            )
            return f"已记录 {held.isoformat()} 的议事会议"
        case ProjectCommand.OPEN_VOTE:
            _transition(session, domain, project, ProjectAction.OPEN_VOTE, actor)
            project.vote_opened_at = now
            groups = send_polls(session, domain, project, actor)
            return (
                f"已发起表决，投票已发到 {groups} 个网格群"
                if groups
                else "已发起表决（该社区没有绑定的网格群，可用网页投票链接）"
            )
        case ProjectCommand.APPROVE:
            budget = parse_yuan(a.budget, "立项预算") if a.budget.strip() else project.estimated_fen
            votes = tally(session, domain, project)
            _transition(
                session,
                domain,
                project,
                ProjectAction.APPROVE,
                actor,
                approved_fen=budget,
                votes_for=votes.votes_for,
                votes_against=votes.votes_against,
                excluded=votes.excluded,
            )
            project.approved_fen = budget
            project.approved_at = now
            stop_polls(session, project)
            told = tell_residents(session, domain, project, "approved", actor)
            return f"已立项，预算 {messages.yuan(budget)} 元，已通知 {told} 位反映诉求的居民"
        case ProjectCommand.REJECT:
            reason = _text(a.reason, 1000, "不立项原因", required=True)
            was_voting = project.status is ProjectStatus.VOTING
            _transition(session, domain, project, ProjectAction.REJECT, actor, reason=reason)
            project.reject_reason = reason
            if was_voting:
                stop_polls(session, project)
            project.closed_at = now
            return "已记录不立项"
        case ProjectCommand.START:
            _transition(session, domain, project, ProjectAction.START, actor)
            return "已开始实施"
        case ProjectCommand.UPDATE:
            if project.status not in UPDATE_STATUSES:
                raise InvalidInput(f"项目当前为「{project.status.label}」，不能记录实施进展")
            spent = parse_yuan(a.spent, "本次支出") if a.spent.strip() else 0
            update = ProjectUpdate(
                project_id=project.id,
                at=now,
                milestone=_text(a.milestone, 120, "节点"),
                text=_text(a.text, MAX_TEXT, "进展说明", required=True),
                spent_fen=spent,
                photos=list(a.photos),
                actor_id=actor.id if isinstance(actor, Person) else None,
            )
            session.add(update)
            project.spent_fen += spent
            _event(
                session,
                domain,
                project,
                actor,
                ProjectEventKind.UPDATE,
                milestone=update.milestone,
                text=update.text,
                spent_fen=spent,
            )
            return f"已记录进展，累计支出 {messages.yuan(project.spent_fen)} 元"
        case ProjectCommand.ACCEPT:
            result = _text(a.result, MAX_TEXT, "验收结果", required=True)
            _transition(session, domain, project, ProjectAction.ACCEPT, actor, result=result)
            project.result = result
            project.accepted_at = now
            told = tell_residents(session, domain, project, "finished", actor)
            closed = close_tickets(session, domain, project, actor) if a.close_tickets else 0
            extra = f"，以项目结果办结了 {closed} 张工单" if closed else ""
            return f"已验收，已通知 {told} 位反映诉求的居民{extra}"
        case ProjectCommand.EVALUATE:
            _transition(session, domain, project, ProjectAction.EVALUATE, actor)
            return "已开始评价，居民和观察员可以评价"
        case ProjectCommand.CLOSE:
            _transition(session, domain, project, ProjectAction.CLOSE, actor)
            project.closed_at = now
            return "已销号"
        case ProjectCommand.LINK:
            if not project.status.is_open:
                raise InvalidInput("项目已结束，不能再关联工单")
            wanted = [c for c in a.tickets.replace(",", " ").replace("，", " ").split() if c]
            if not wanted:
                raise InvalidInput("请填写工单号")
            tickets = [services.get_ticket(session, c) for c in wanted]
            linked = _link_tickets(session, domain, project, tickets, now)
            _event(session, domain, project, actor, ProjectEventKind.TICKET_LINKED, tickets=linked)
            return f"已关联 {len(linked)} 张工单"
        case ProjectCommand.CLOSE_TICKETS:
            if project.accepted_at is None:
                raise InvalidInput("项目验收后才能以项目结果办结工单")
            closed = close_tickets(session, domain, project, actor)
            return f"以项目结果办结了 {closed} 张工单"
    raise InvalidInput(f"没有这个操作：{command}")


# --- telling residents and closing their tickets -----------------------------------------------


def tell_residents(
    session: Session, domain: Domain, project: Project, what: str, actor: Actor
) -> int:
    """Tell every resident whose ticket fed ``project`` that it was approved or finished (``what``),
    with the ticket's signed public link; each (project, what, ticket, chat) once. Returns how many
    people were told."""
    detail = (
        f"{messages.yuan(budget_fen(project))} 元" if what == "approved" else (project.result or "")
    )
    session.flush()
    told: set[int] = set()
    for ticket in linked_tickets(session, project):
        for chat_id, person_id in services.recipients(session, ticket):
            item = outbox.enqueue(
                session,
                chat_id=chat_id,
                text=messages.project_told(
                    what,
                    project.title,
                    project.code,
                    ticket.code,
                    domain.links.url(ticket.code),
                    detail,
                ),
                kind=f"project_{what}",
                ticket=ticket,
                person_id=person_id,
                reply_markup=(
                    messages.project_rating_keyboard(project.code) if what == "finished" else None
                ),
                dedupe_key=f"project:{project.code}:{what}:{ticket.code}:{chat_id}",
            )
            if item is not None:
                told.add(chat_id)
    _event(
        session, domain, project, actor, ProjectEventKind.RESIDENTS_TOLD, what=what, told=len(told)
    )
    return len(told)


def linked_tickets(session: Session, project: Project) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .join(ProjectTicket, ProjectTicket.ticket_id == Ticket.id)
            .where(ProjectTicket.project_id == project.id)
            .order_by(Ticket.id)
        )
    )


def close_tickets(session: Session, domain: Domain, project: Project, actor: Actor) -> int:
    """办结 the project's open linked tickets with its result (those the actor may act on)."""
    result = project.result or ""
    note = f"已通过民微实事项目「{project.title}」（{project.code}）解决：{result}"[:2000]
    tree = domain.units(session)
    closed = []
    for ticket in linked_tickets(session, project):
        if ticket.status not in (*TRANSITIONS[Action.RESOLVE], *TRANSITIONS[Action.ACCEPT]):
            continue
        if isinstance(actor, Person) and not can_act(actor, ticket, tree):
            continue
        if ticket.status in TRANSITIONS[Action.ACCEPT]:  # 待受理: taken on by the project
            services.accept(session=session, domain=domain, ticket=ticket, actor=actor)
        services.resolve(session=session, domain=domain, ticket=ticket, note=note, actor=actor)
        closed.append(ticket.code)
    if closed:
        _event(session, domain, project, actor, ProjectEventKind.TICKETS_CLOSED, tickets=closed)
    return len(closed)


# --- voting ------------------------------------------------------------------------------------


def group_chats(session: Session, domain: Domain, project: Project) -> list[int]:
    """The bound grid groups of the project's area."""
    tree = domain.units(session)
    ids = tree.subtree_ids(tree.by_id[project.unit_id])
    return list(
        session.scalars(
            select(ChatBinding.chat_id)
            .where(ChatBinding.grid_id.in_(ids))
            .order_by(ChatBinding.chat_id)
        )
    )


def send_polls(session: Session, domain: Domain, project: Project, actor: Actor) -> int:
    """Queue a non-anonymous poll about ``project`` in each bound grid group of its area."""
    question = messages.project_poll_question(
        project.code, project.title, project.place, budget_fen(project)
    )
    chats = group_chats(session, domain, project)
    for chat_id in chats:
        item = outbox.enqueue(
            session,
            chat_id=chat_id,
            text=question,
            kind="project_poll",
            method="sendPoll",
            extra={
                "question": question,
                "options": list(messages.POLL_OPTION_TEXTS),
                "is_anonymous": False,
            },
            dedupe_key=f"poll:{project.code}:{chat_id}",
        )
        if item is not None:
            session.flush()
            session.add(
                ProjectPoll(
                    project_id=project.id,
                    chat_id=chat_id,
                    outbox_id=item.id,
                    created_at=domain.clock(),
                )
            )
    if chats:
        _event(session, domain, project, actor, ProjectEventKind.POLL_SENT, groups=len(chats))
    return len(chats)


def stop_polls(session: Session, project: Project) -> int:
    """The vote is over: close the project's polls in the groups (``stopPoll`` of the message each
    poll row delivered; the sender fills in its message id, ``edit_of``)."""
    polls = session.scalars(
        select(ProjectPoll).where(
            ProjectPoll.project_id == project.id, ProjectPoll.outbox_id.is_not(None)
        )
    ).all()
    for poll in polls:
        outbox.enqueue(
            session,
            chat_id=poll.chat_id,
            text="",
            kind="project_poll_stop",
            method="stopPoll",
            extra={"edit_of": poll.outbox_id},
            dedupe_key=f"pollstop:{project.code}:{poll.chat_id}",
        )
    return len(polls)


@dataclass(frozen=True)
class VoteOutcome:
    """What became of one answer: ``counted``, ``excluded`` (kept, not counted), ``retracted``,
    ``closed`` (the vote is over), ``unknown_poll`` (not one of ours, or not recorded yet)."""

    kind: str
    project_code: str | None = None
    reason: str = ""


def _is_known(session: Session, domain: Domain, project: Project, person: Person | None) -> bool:
    if person is None:
        return False
    tree = domain.units(session)
    return bool(
        session.scalar(
            select(func.count(Person.id)).where(
                Person.id == person.id, known_people(tree, tree.by_id[project.unit_id])
            )
        )
    )


def _record_vote(
    session: Session,
    domain: Domain,
    project: Project,
    *,
    voter: str,
    person: Person | None,
    channel: str,
    choice: VoteChoice,
    poll_id: str | None = None,
) -> VoteOutcome:
    known = _is_known(session, domain, project, person)
    vote = session.scalar(
        select(ProjectVote)
        .where(ProjectVote.project_id == project.id, ProjectVote.voter == voter)
        .with_for_update()
    )
    if vote is None:
        vote = ProjectVote(project_id=project.id, voter=voter, channel=channel)
        session.add(vote)
    vote.person_id = person.id if person else None
    vote.choice = choice
    vote.counted = known
    vote.excluded = None if known else "not_known"
    vote.poll_id = poll_id
    vote.at = domain.clock()
    session.flush()
    return VoteOutcome(
        "counted" if known else "excluded", project.code, "" if known else "not_known"
    )


def record_poll_answer(
    session: Session,
    domain: Domain,
    *,
    poll_id: str,
    telegram_user_id: int | None,
    option_ids: list[int],
) -> VoteOutcome:
    """A ``poll_answer`` from Telegram: one vote per Telegram user per project (a changed answer
    replaces it, an empty answer retracts it). Answers from people the community does not know are kept
    but not counted; an answer in the name of a chat (anonymous admins, channels) has no user and
    counts as unknown."""
    poll = session.scalar(select(ProjectPoll).where(ProjectPoll.poll_id == poll_id))
    if poll is None:
        return VoteOutcome("unknown_poll")
    project = session.get(Project, poll.project_id)
    assert project is not None
    if project.status is not ProjectStatus.VOTING:
        return VoteOutcome("closed", project.code)
    voter = f"tg:{telegram_user_id}" if telegram_user_id is not None else f"poll:{poll_id}:chat"
    if not option_ids:
        session.execute(
            delete(ProjectVote).where(
                ProjectVote.project_id == project.id, ProjectVote.voter == voter
            )
        )
        return VoteOutcome("retracted", project.code)
    index = option_ids[0]
    if not 0 <= index < len(POLL_OPTIONS):
        return VoteOutcome("unknown_poll", project.code, "option")
    person = (
        session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))
        if telegram_user_id is not None
        else None
    )
    return _record_vote(
        session,
        domain,
        project,
        voter=voter,
        person=person,
        channel="telegram",
        choice=POLL_OPTIONS[index],
        poll_id=poll_id,
    )


def _vote_key(domain: Domain) -> bytes:
    return hashlib.sha256(("minwei-vote:" + domain.links.token("VOTE-KEY")).encode()).digest()


def vote_token(domain: Domain, project_code: str, person_id: int) -> str:
    """The signature of a resident's web vote link (one per project and person)."""
    message = f"{project_code.upper()}:{person_id}".encode()
    digest = hmac.new(_vote_key(domain), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode().rstrip("=")


def vote_url(domain: Domain, project_code: str, person_id: int) -> str:
    base = domain.settings.public_base_url.rstrip("/")
    token = vote_token(domain, project_code, person_id)
    return f"{base}/p/projects/{project_code.upper()}/vote?v={person_id}&k={token}"


def record_web_vote(
    session: Session, domain: Domain, *, project_code: str, person_id: int, token: str, choice: str
) -> VoteOutcome:
    """A vote through a signed web link (residents outside Telegram): the same one-per-person rule;
    a resident who also voted in a group has one vote, the latest."""
    if not hmac.compare_digest(vote_token(domain, project_code, person_id), token):
        raise PermissionDenied("投票链接无效")
    project = get_project(session, project_code)
    if project.status is not ProjectStatus.VOTING:
        return VoteOutcome("closed", project.code)
    try:
        picked = VoteChoice(choice)
    except ValueError:
        raise InvalidInput("请选择赞成或反对") from None
    person = session.get(Person, person_id)
    if person is None:
        raise PermissionDenied("投票链接无效")
    voter = f"tg:{person.telegram_user_id}" if person.telegram_user_id else f"web:{person.id}"
    return _record_vote(
        session, domain, project, voter=voter, person=person, channel="web", choice=picked
    )


# --- evaluation --------------------------------------------------------------------------------


@cache
def criteria(path: Path) -> tuple[Criterion, ...]:
    return load_criteria(path)


def domain_criteria(domain: Domain) -> tuple[Criterion, ...]:
    return criteria(domain.settings.data_dir / "project_criteria.yml")


def residents_behind(session: Session, project: Project) -> set[int]:
    """Ids of the people whose tickets fed ``project``."""
    return {
        pid
        for pid in session.scalars(
            select(Ticket.reporter_id)
            .join(ProjectTicket, ProjectTicket.ticket_id == Ticket.id)
            .where(ProjectTicket.project_id == project.id)
        )
        if pid is not None
    }


def evaluate(
    session: Session,
    domain: Domain,
    project: Project,
    person: Person,
    *,
    satisfaction: str = "",
    scores: dict[str, str] | None = None,
    note: str = "",
) -> ProjectEvaluation:
    """评价: a resident whose ticket fed the project rates it (满意/基本满意/不满意); an observer of its
    area scores it on the criteria (``MIN_SCORE``–``MAX_SCORE`` each). Once per person; again replaces."""
    if project.status not in (ProjectStatus.ACCEPTED, ProjectStatus.EVALUATING):
        raise InvalidInput(f"项目当前为「{project.status.label}」，验收后才能评价")
    tree = domain.units(session)
    if person.role is Role.OBSERVER:
        if not can_view(person, project, tree):
            raise PermissionDenied("只能评价本社区的项目")
        kind = EvaluatorKind.OBSERVER
        wanted = domain_criteria(domain)
        given = scores or {}
        parsed: dict[str, int] = {}
        for c in wanted:
            try:
                value = int(str(given.get(c.code, "")).strip())
            except ValueError:
                raise InvalidInput(f"请为「{c.name}」打 {MIN_SCORE}–{MAX_SCORE} 分") from None
            if not MIN_SCORE <= value <= MAX_SCORE:
                raise InvalidInput(f"「{c.name}」的分数应在 {MIN_SCORE}–{MAX_SCORE} 之间")
            parsed[c.code] = value
        rating = None
    else:
        if person.id not in residents_behind(session, project):
            raise PermissionDenied("只有反映过相关诉求的居民和观察员可以评价")
        kind = EvaluatorKind.RESIDENT
        try:
            rating = Satisfaction(satisfaction)
        except ValueError:
            raise InvalidInput("请选择满意、基本满意或不满意") from None
        parsed = {}
    evaluation = session.scalar(
        select(ProjectEvaluation).where(
            ProjectEvaluation.project_id == project.id, ProjectEvaluation.person_id == person.id
        )
    )
    if evaluation is None:
        evaluation = ProjectEvaluation(project_id=project.id, person_id=person.id)
        session.add(evaluation)
    evaluation.kind = kind
    evaluation.satisfaction = rating
    evaluation.scores = parsed
    evaluation.note = _text(note, 1000, "评价意见")
    evaluation.at = domain.clock()
    _event(
        session,
        domain,
        project,
        person,
        ProjectEventKind.EVALUATED,
        evaluator=kind.value,
        satisfaction=rating.value if rating else None,
        scores=parsed,
    )
    return evaluation


def rate_from_telegram(
    session: Session,
    domain: Domain,
    *,
    project_code: str,
    telegram_user_id: int,
    satisfaction: Satisfaction,
) -> str:
    """A resident pressed a rating button under the 验收 notice; returns what to tell them."""
    person = session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))
    project = session.scalar(select(Project).where(Project.code == project_code))
    if person is None or project is None:
        return "没有找到这个项目"
    try:
        evaluate(session, domain, project, person, satisfaction=satisfaction.value)
    except (InvalidInput, PermissionDenied) as e:
        return str(e)
    return f"已记录您对项目「{project.title}」的评价：{satisfaction.label}，谢谢！"


@dataclass(frozen=True)
class EvaluationSummary:
    residents: int
    satisfied: int  # 满意 + 基本满意
    by_rating: dict[str, int]
    observers: int
    mean_scores: dict[str, float] = field(default_factory=dict)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.residents if self.residents else None


def evaluation_summary(session: Session, domain: Domain, project: Project) -> EvaluationSummary:
    rows = list(
        session.scalars(select(ProjectEvaluation).where(ProjectEvaluation.project_id == project.id))
    )
    residents = [r for r in rows if r.kind is EvaluatorKind.RESIDENT and r.satisfaction]
    observers = [r for r in rows if r.kind is EvaluatorKind.OBSERVER]
    by_rating = {s.label: 0 for s in Satisfaction}
    for r in residents:
        assert r.satisfaction is not None
        by_rating[r.satisfaction.label] += 1
    means = {}
    for c in domain_criteria(domain):
        values = [int(o.scores[c.code]) for o in observers if c.code in o.scores]
        if values:
            means[c.name] = round(sum(values) / len(values), 2)
    return EvaluationSummary(
        residents=len(residents),
        satisfied=sum(
            1 for r in residents if r.satisfaction and r.satisfaction.counts_as_satisfied
        ),
        by_rating=by_rating,
        observers=len(observers),
        mean_scores=means,
    )
