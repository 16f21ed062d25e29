"""民微实事 projects: proposal from needs and tickets, the lifecycle as one command table (议事 meetings,
表决 in grid groups and on the web (``votes``), 立项, 实施 updates, 验收, 评价 (``evaluations``), 销号,
不立项), the residents behind a project told and their tickets closed with its result.

Every function takes the session and the domain, checks permissions and transitions first and changes
nothing on error, appends a ``ProjectEvent`` for every change, and queues what Telegram must hear in the
outbox. Callers own the transaction. Frozen views (no ORM objects) go back to the adapters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from tickets import codes, messages, outbox, services
from tickets.access import can_act
from tickets.cleaning import clean_text
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import (
    Need,
    Person,
    Project,
    ProjectEvent,
    ProjectMeeting,
    ProjectNeed,
    ProjectTicket,
    ProjectUpdate,
    ProjectVote,
    Ticket,
    Unit,
)
from tickets.photos import CleanImage
from tickets.projectstatus import (
    PROJECT_TRANSITIONS,
    ProjectAction,
    ProjectEventKind,
    ProjectStatus,
    VoteChoice,
    next_project_status,
)
from tickets.statuses import TRANSITIONS, Action, Role
from tickets.units import UnitTree
from tickets.usecases import photos, votes

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


def record_event(
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
    record_event(
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
    uploads: tuple[CleanImage, ...] = ()  # UPDATE: uploaded images, cleaned (tickets.photos)
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
    return record_event(session, domain, project, actor, ProjectEventKind(action.value), **data)


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
            record_event(
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
            groups = votes.send_polls(session, domain, project)
            if groups:
                record_event(
                    session, domain, project, actor, ProjectEventKind.POLL_SENT, groups=groups
                )
            return (
                f"已发起表决，投票已发到 {groups} 个网格群"
                if groups
                else "已发起表决（该社区没有绑定的网格群，可用网页投票链接）"
            )
        case ProjectCommand.APPROVE:
            budget = parse_yuan(a.budget, "立项预算") if a.budget.strip() else project.estimated_fen
            counted = votes.tally(session, domain, project)
            _transition(
                session,
                domain,
                project,
                ProjectAction.APPROVE,
                actor,
                approved_fen=budget,
                votes_for=counted.votes_for,
                votes_against=counted.votes_against,
                excluded=counted.excluded,
            )
            project.approved_fen = budget
            project.approved_at = now
            votes.stop_polls(session, project)
            told = tell_residents(session, domain, project, "approved", actor)
            return f"已立项，预算 {messages.yuan(budget)} 元，已通知 {told} 位反映诉求的居民"
        case ProjectCommand.REJECT:
            reason = _text(a.reason, 1000, "不立项原因", required=True)
            was_voting = project.status is ProjectStatus.VOTING
            _transition(session, domain, project, ProjectAction.REJECT, actor, reason=reason)
            project.reject_reason = reason
            if was_voting:
                votes.stop_polls(session, project)
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
            session.flush()
            kept = [
                photos.add_upload(session, domain, update=update, image=image, actor=actor)
                for image in a.uploads
            ]
            project.spent_fen += spent
            record_event(
                session,
                domain,
                project,
                actor,
                ProjectEventKind.UPDATE,
                milestone=update.milestone,
                text=update.text,
                spent_fen=spent,
                photos=[p.id for p in kept if p is not None],
            )
            added = sum(1 for p in kept if p is not None)
            with_photos = f"（附照片 {added} 张）" if added else ""
            return f"已记录进展{with_photos}，累计支出 {messages.yuan(project.spent_fen)} 元"
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
            record_event(
                session, domain, project, actor, ProjectEventKind.TICKET_LINKED, tickets=linked
            )
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
    record_event(
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
        record_event(
            session, domain, project, actor, ProjectEventKind.TICKETS_CLOSED, tickets=closed
        )
    return len(closed)
