"""The three lists of a community or street: 需求清单 (needs, from cases or added by hand or survey;
merged, split, ranked), 资源清单 (what partners offer; matched to needs) and 服务项目清单 (recurring
services, and the area's projects). Every change is a ``ListEvent``. Public views carry no contact
details and no personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets import codes, messages, outbox
from tickets.cleaning import clean_text
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import (
    Case,
    ChatBinding,
    ListEvent,
    Need,
    NeedMatch,
    Person,
    Project,
    Resource,
    Service,
    Ticket,
    Unit,
)
from tickets.statuses import Role, Status
from tickets.units import UnitTree
from tickets.usecases import photos
from tickets.usecases.projects import MANAGERS, budget_fen

#: Sample texts kept per need, and their length.
SAMPLES, SAMPLE_CHARS = 3, 60
PROVIDER_KINDS = {
    "unit": "单位",
    "partner": "联建单位/合伙人",
    "volunteer": "志愿者",
    "company": "企业",
}
NEED_SOURCES = {"case": "类案", "manual": "工作人员添加", "survey": "问卷调查", "split": "拆分"}


def list_area(tree: UnitTree, unit: Unit) -> Unit:
    """The area a list belongs to: a grid's community; communities, streets and the district as they are."""
    if unit.level == "grid":
        return tree.area_at(unit, "community") or unit
    if unit.level == "department":
        parent = tree.by_id.get(unit.parent_id) if unit.parent_id else None
        return parent or unit
    return unit


def ensure_can_edit(actor: Person, tree: UnitTree, unit: Unit) -> None:
    """Staff of ``unit`` or above it edit its lists."""
    scope = tree.by_id.get(actor.unit_id) if actor.unit_id is not None else None
    ok = actor.active and actor.role in MANAGERS
    ok = ok and (
        (scope is None and actor.role is Role.DISTRICT_ADMIN)
        or (scope is not None and tree.is_within(unit.id, scope))
    )
    if not ok:
        raise PermissionDenied(f"您没有编辑{unit.name}清单的权限")


#: Who posted when no person did: the supervision clock's monthly and quarterly 成绩单.
CLOCK_ACTOR = "督办时钟"


def _log(
    session: Session, domain: Domain, actor: Person | None, kind: str, subject: str, **data: object
) -> None:
    session.add(
        ListEvent(
            at=domain.clock(),
            actor_id=actor.id if actor is not None else None,
            actor_label=(
                (actor.display_name or actor.username or f"#{actor.id}")
                if actor is not None
                else CLOCK_ACTOR
            ),
            kind=kind,
            subject=subject,
            data=data,
        )
    )


def _text(value: str, limit: int, what: str, *, required: bool = False) -> str:
    if not value.strip():
        if required:
            raise InvalidInput(f"请填写{what}")
        return ""
    return clean_text(value, limit=limit, what=what)


def _sample(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SAMPLE_CHARS else flat[: SAMPLE_CHARS - 1] + "…"


# --- 需求清单 ------------------------------------------------------------------------------------


def needs_from_cases(
    session: Session, domain: Domain, actor: Person, unit_code: str, *, min_reports: int = 2
) -> list[Need]:
    """Add the open cases of ``unit_code``'s area with at least ``min_reports`` reports to its needs
    list (each case once): category, place, how many people reported it, first and last report, and
    a few redacted sample texts. Returns the needs added."""
    tree = domain.units(session)
    area = tree.get(unit_code)
    ensure_can_edit(actor, tree, area)
    ids = tree.subtree_ids(area)
    taken = select(Need.case_id).where(Need.case_id.is_not(None))
    cases = session.scalars(
        select(Case)
        .where(
            Case.is_open,
            Case.area_id.in_(ids),
            Case.report_count >= min_reports,
            Case.id.not_in(taken),
        )
        .order_by(Case.report_count.desc(), Case.id)
    ).all()
    added = []
    now = domain.clock()
    for case in cases:
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.case_id == case.id, Ticket.status != Status.MERGED)
            .order_by(Ticket.created_at)
        ).all()
        if not tickets:
            continue
        reporters = {t.reporter_id or -t.id for t in tickets}
        # Needs go on the public lists: a pin's coordinates stay out.
        places = [p for t in tickets if (p := messages.without_pin(t.location_text))]
        case_area = tree.by_id.get(case.area_id) if case.area_id else None
        need = Need(
            code=codes.next_code(session, "need", now, domain.settings.timezone),
            unit_id=list_area(tree, case_area).id if case_area else area.id,
            category=case.category,
            title=case.title[:200],
            place=max(set(places), key=places.count)
            if places
            else (case_area.name if case_area else ""),
            source="case",
            case_id=case.id,
            reporters=len(reporters),
            first_report_at=tickets[0].created_at,
            last_report_at=tickets[-1].created_at,
            samples=[_sample(t.redacted_text) for t in tickets[:SAMPLES]],
            rank=0,
            status="open",
            created_by_id=actor.id,
            created_at=now,
        )
        session.add(need)
        session.flush()
        _log(session, domain, actor, "need_from_case", need.code, case=case.code)
        added.append(need)
    return added


def add_need(
    session: Session,
    domain: Domain,
    actor: Person,
    *,
    unit_code: str,
    category: str,
    title: str,
    place: str = "",
    reporters: int = 0,
    source: str = "manual",
) -> Need:
    """A need staff add by hand or from a survey (``source``: manual | survey)."""
    tree = domain.units(session)
    unit = list_area(tree, tree.get(unit_code))
    ensure_can_edit(actor, tree, unit)
    if category not in domain.taxonomy:
        raise InvalidInput(f"未知的类别：{category[:40]}")
    if source not in ("manual", "survey"):
        raise InvalidInput("来源应为工作人员添加或问卷调查")
    if reporters < 0:
        raise InvalidInput("反映人数不能为负")
    now = domain.clock()
    need = Need(
        code=codes.next_code(session, "need", now, domain.settings.timezone),
        unit_id=unit.id,
        category=category,
        title=_text(title, 200, "需求", required=True),
        place=_text(place, 200, "地点"),
        source=source,
        reporters=reporters,
        first_report_at=now,
        last_report_at=now,
        samples=[],
        rank=0,
        status="open",
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(need)
    session.flush()
    _log(session, domain, actor, "need_added", need.code, source=source)
    return need


def get_need(session: Session, code: str) -> Need:
    need = session.scalar(select(Need).where(Need.code == code.strip().upper()[:40]))
    if need is None:
        raise NotFound(f"没有需求 {code[:40]}")
    return need


def merge_needs(
    session: Session, domain: Domain, actor: Person, *, into: str, others: list[str]
) -> Need:
    """Merge ``others`` into ``into``: reporters add up, the report period widens, samples join."""
    tree = domain.units(session)
    main = get_need(session, into)
    ensure_can_edit(actor, tree, tree.by_id[main.unit_id])
    if main.status != "open":
        raise InvalidInput(f"需求 {main.code} 已合并或关闭")
    merged = []
    for code in others:
        other = get_need(session, code)
        if other.id == main.id:
            continue
        ensure_can_edit(actor, tree, tree.by_id[other.unit_id])
        if other.status != "open":
            raise InvalidInput(f"需求 {other.code} 已合并或关闭")
        main.reporters += other.reporters
        firsts = [d for d in (main.first_report_at, other.first_report_at) if d]
        lasts = [d for d in (main.last_report_at, other.last_report_at) if d]
        main.first_report_at = min(firsts) if firsts else None
        main.last_report_at = max(lasts) if lasts else None
        main.samples = (list(main.samples) + list(other.samples))[:SAMPLES]
        other.status, other.merged_into_id = "merged", main.id
        merged.append(other.code)
    if not merged:
        raise InvalidInput("请选择要合并进来的其他需求")
    _log(session, domain, actor, "need_merged", main.code, merged=merged)
    return main


def split_need(
    session: Session,
    domain: Domain,
    actor: Person,
    *,
    code: str,
    title: str,
    place: str = "",
    reporters: int = 0,
) -> Need:
    """Split a part off a need as a new need (``reporters`` of its reporters move with it)."""
    tree = domain.units(session)
    need = get_need(session, code)
    ensure_can_edit(actor, tree, tree.by_id[need.unit_id])
    if need.status != "open":
        raise InvalidInput(f"需求 {need.code} 已合并或关闭")
    if not 0 <= reporters <= need.reporters:
        raise InvalidInput(f"拆出的反映人数应在 0 到 {need.reporters} 之间")
    now = domain.clock()
    part = Need(
        code=codes.next_code(session, "need", now, domain.settings.timezone),
        unit_id=need.unit_id,
        category=need.category,
        title=_text(title, 200, "需求", required=True),
        place=_text(place, 200, "地点") or need.place,
        source="split",
        reporters=reporters,
        first_report_at=need.first_report_at,
        last_report_at=need.last_report_at,
        samples=[],
        rank=0,
        status="open",
        created_by_id=actor.id,
        created_at=now,
    )
    need.reporters -= reporters
    session.add(part)
    session.flush()
    _log(session, domain, actor, "need_split", need.code, part=part.code, reporters=reporters)
    return part


def rank_need(session: Session, domain: Domain, actor: Person, *, code: str, rank: int) -> Need:
    """Set a need's rank in its list (1 = first; 0 = unranked, after the ranked ones)."""
    tree = domain.units(session)
    need = get_need(session, code)
    ensure_can_edit(actor, tree, tree.by_id[need.unit_id])
    if not 0 <= rank <= 999:
        raise InvalidInput("排序应在 0 到 999 之间")
    _log(session, domain, actor, "need_ranked", need.code, before=need.rank, after=rank)
    need.rank = rank
    return need


# --- 资源清单 and 服务项目清单 -------------------------------------------------------------------


def add_resource(
    session: Session,
    domain: Domain,
    actor: Person,
    *,
    unit_code: str,
    provider: str,
    provider_kind: str,
    what: str,
    place: str = "",
    capacity: str = "",
    contact: str = "",
    period: str = "",
) -> Resource:
    tree = domain.units(session)
    unit = list_area(tree, tree.get(unit_code))
    ensure_can_edit(actor, tree, unit)
    if provider_kind not in PROVIDER_KINDS:
        raise InvalidInput("提供方类型应为单位、联建单位/合伙人、志愿者或企业")
    now = domain.clock()
    resource = Resource(
        code=codes.next_code(session, "resource", now, domain.settings.timezone),
        unit_id=unit.id,
        provider=_text(provider, 120, "提供方", required=True),
        provider_kind=provider_kind,
        what=_text(what, 200, "资源内容", required=True),
        place=_text(place, 200, "地点"),
        capacity=_text(capacity, 120, "规模"),
        contact=_text(contact, 120, "联系方式"),
        period=_text(period, 120, "时段"),
        active=True,
        created_at=now,
    )
    session.add(resource)
    session.flush()
    _log(session, domain, actor, "resource_added", resource.code)
    return resource


def match(
    session: Session,
    domain: Domain,
    actor: Person,
    *,
    need_code: str,
    resource_code: str,
    note: str = "",
) -> NeedMatch:
    """Match a resource to a need (once per pair)."""
    tree = domain.units(session)
    need = get_need(session, need_code)
    ensure_can_edit(actor, tree, tree.by_id[need.unit_id])
    resource = session.scalar(
        select(Resource).where(Resource.code == resource_code.strip().upper())
    )
    if resource is None:
        raise NotFound(f"没有资源 {resource_code[:40]}")
    existing = session.scalar(
        select(NeedMatch).where(NeedMatch.need_id == need.id, NeedMatch.resource_id == resource.id)
    )
    if existing is not None:
        raise InvalidInput(f"{resource.code} 已匹配到 {need.code}")
    found = NeedMatch(
        need_id=need.id,
        resource_id=resource.id,
        note=_text(note, 500, "说明"),
        matched_by_id=actor.id,
        matched_at=domain.clock(),
    )
    session.add(found)
    _log(session, domain, actor, "matched", need.code, resource=resource.code)
    return found


def add_service(
    session: Session,
    domain: Domain,
    actor: Person,
    *,
    unit_code: str,
    title: str,
    description: str = "",
    place: str = "",
    schedule: str = "",
    provider: str = "",
) -> Service:
    tree = domain.units(session)
    unit = list_area(tree, tree.get(unit_code))
    ensure_can_edit(actor, tree, unit)
    now = domain.clock()
    service = Service(
        code=codes.next_code(session, "service", now, domain.settings.timezone),
        unit_id=unit.id,
        title=_text(title, 200, "服务名称", required=True),
        description=_text(description, 2000, "服务内容"),
        place=_text(place, 200, "地点"),
        schedule=_text(schedule, 200, "时间"),
        provider=_text(provider, 120, "提供方"),
        active=True,
        created_at=now,
    )
    session.add(service)
    session.flush()
    _log(session, domain, actor, "service_added", service.code)
    return service


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedView:
    code: str
    category: str
    title: str
    place: str
    source: str
    reporters: int
    first_report_at: datetime | None
    last_report_at: datetime | None
    samples: tuple[str, ...]
    rank: int
    matched: tuple[str, ...]  # what the matched resources offer
    projects: tuple[str, ...]  # codes of the projects it fed


@dataclass(frozen=True)
class ResourceView:
    code: str
    provider: str
    provider_kind: str
    what: str
    place: str
    capacity: str
    period: str
    contact: str  # empty in public views


@dataclass(frozen=True)
class ServiceView:
    code: str
    title: str
    description: str
    place: str
    schedule: str
    provider: str


@dataclass(frozen=True)
class ListProject:
    code: str
    title: str
    status_label: str
    budget_yuan: float
    spent_yuan: float
    #: The token of the project's latest public photo (``tickets.usecases.photos``), if any.
    photo: str | None = None


@dataclass(frozen=True)
class Lists:
    unit_code: str
    unit_name: str
    needs: tuple[NeedView, ...]
    resources: tuple[ResourceView, ...]
    services: tuple[ServiceView, ...]
    projects: tuple[ListProject, ...]


def lists_for(session: Session, domain: Domain, unit_code: str, *, public: bool) -> Lists:
    """The three lists of ``unit_code``'s area and everything below it. ``public``: without contacts
    (the public page); needs are ranked ones first, then most reported."""
    from tickets.models import ProjectNeed

    tree = domain.units(session)
    area = list_area(tree, tree.get(unit_code))
    ids = tree.subtree_ids(area)
    needs = session.scalars(
        select(Need)
        .where(Need.unit_id.in_(ids), Need.status == "open")
        .order_by((Need.rank == 0), Need.rank, Need.reporters.desc(), Need.id)
    ).all()
    need_ids = [n.id for n in needs]
    matched: dict[int, list[str]] = {}
    fed: dict[int, list[str]] = {}
    if need_ids:
        for need_id, what in session.execute(
            select(NeedMatch.need_id, Resource.what)
            .join(Resource, Resource.id == NeedMatch.resource_id)
            .where(NeedMatch.need_id.in_(need_ids))
        ):
            matched.setdefault(need_id, []).append(what)
        for need_id, code in session.execute(
            select(ProjectNeed.need_id, Project.code)
            .join(Project, Project.id == ProjectNeed.project_id)
            .where(ProjectNeed.need_id.in_(need_ids))
        ):
            fed.setdefault(need_id, []).append(code)
    resources = session.scalars(
        select(Resource).where(Resource.unit_id.in_(ids), Resource.active).order_by(Resource.id)
    ).all()
    services = session.scalars(
        select(Service).where(Service.unit_id.in_(ids), Service.active).order_by(Service.id)
    ).all()
    projects = session.scalars(
        select(Project).where(Project.unit_id.in_(ids)).order_by(Project.created_at.desc())
    ).all()
    latest_photo = photos.latest_project_photos(session, [p.id for p in projects])
    return Lists(
        unit_code=area.code,
        unit_name=area.name,
        needs=tuple(
            NeedView(
                code=n.code,
                category=domain.taxonomy.name(n.category)
                if n.category in domain.taxonomy
                else n.category,
                title=n.title,
                place=n.place,
                source=NEED_SOURCES.get(n.source, n.source),
                reporters=n.reporters,
                first_report_at=n.first_report_at,
                last_report_at=n.last_report_at,
                samples=tuple(n.samples),
                rank=n.rank,
                matched=tuple(matched.get(n.id, ())),
                projects=tuple(fed.get(n.id, ())),
            )
            for n in needs
        ),
        resources=tuple(
            ResourceView(
                code=r.code,
                provider=r.provider,
                provider_kind=PROVIDER_KINDS.get(r.provider_kind, r.provider_kind),
                what=r.what,
                place=r.place,
                capacity=r.capacity,
                period=r.period,
                contact="" if public else r.contact,
            )
            for r in resources
        ),
        services=tuple(
            ServiceView(s.code, s.title, s.description, s.place, s.schedule, s.provider)
            for s in services
        ),
        projects=tuple(
            ListProject(
                p.code,
                p.title,
                p.status.label,
                budget_fen(p) / 100,
                p.spent_fen / 100,
                latest_photo.get(p.id),
            )
            for p in projects
        ),
    )


def open_needs_count(session: Session, unit_ids: set[int]) -> int:
    return int(
        session.scalar(
            select(func.count(Need.id)).where(Need.unit_id.in_(unit_ids), Need.status == "open")
        )
        or 0
    )


def group_chats(session: Session, tree: UnitTree, area: Unit) -> list[int]:
    """The bound grid groups in ``area``."""
    ids = tree.subtree_ids(area)
    return list(
        session.scalars(
            select(ChatBinding.chat_id)
            .where(ChatBinding.grid_id.in_(ids))
            .order_by(ChatBinding.chat_id)
        )
    )


def lists_url(domain: Domain, unit_code: str) -> str:
    return f"{domain.settings.public_base_url.rstrip('/')}/p/lists/{unit_code}"


def post_to_groups(
    session: Session,
    domain: Domain,
    actor: Person | None,
    *,
    unit_code: str,
    text: str,
    kind: str,
    key: str,
) -> int:
    """Queue ``text`` to every bound grid group of ``unit_code``'s area, once per ``key`` and group;
    returns how many groups it was queued for. ``actor`` None: the supervision clock posts it."""
    tree = domain.units(session)
    unit = tree.get(unit_code)
    if unit.level == "department":
        raise InvalidInput(f"{unit.name}是职能部门，没有网格群")
    area = list_area(tree, unit)
    if actor is not None:
        ensure_can_edit(actor, tree, area)
    queued = 0
    for chat_id in group_chats(session, tree, area):
        item = outbox.enqueue(
            session, chat_id=chat_id, text=text, kind=kind, dedupe_key=f"{kind}:{key}:{chat_id}"
        )
        queued += item is not None
    _log(session, domain, actor, f"{kind}_posted", area.code, key=key, groups=queued)
    return queued


def post_services(session: Session, domain: Domain, actor: Person, *, unit_code: str) -> int:
    """Post the area's 服务项目清单 to its grid groups (at most once a day per group)."""
    found = lists_for(session, domain, unit_code, public=True)
    text = messages.services_message(
        found.unit_name,
        [(s.title, s.place, s.schedule) for s in found.services],
        [(p.title, p.status_label) for p in found.projects],
        lists_url(domain, found.unit_code),
    )
    day = domain.clock().astimezone(domain.settings.timezone).date().isoformat()
    return post_to_groups(
        session,
        domain,
        actor,
        unit_code=found.unit_code,
        text=text,
        kind="services_list",
        key=f"{found.unit_code}:{day}",
    )
