"""民微实事 in the console: the three lists (需求/资源/服务项目) with merge, split, rank and match, the
projects list and page with every lifecycle action, and the printable 成绩单. Every action is a call on
``tickets.usecases.projects`` / ``lists`` in one transaction; the core checks roles and scopes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from console import qr
from console.deps import Console, flash, get_console, redirect
from console.views.tickets import scope_units
from tickets import access, report_card, report_pdf
from tickets.errors import InvalidInput, NotFound, PermissionDenied, TicketError
from tickets.models import (
    Person,
    Project,
    ProjectEvaluation,
    ProjectEvent,
    ProjectMeeting,
    ProjectUpdate,
    Unit,
)
from tickets.photos import CleanImage, NotAnImage, PhotoTooLarge, clean_image, megabytes
from tickets.projectstatus import ProjectStatus, project_event_label
from tickets.statuses import Role, Satisfaction
from tickets.units import UnitTree
from tickets.usecases import evaluations, lists, photos, projects, votes

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]
#: Photos one project update may carry (each within the configured size limit).
MAX_UPLOADS = 4


def _home_unit(tree: UnitTree, viewer: Person) -> Unit | None:
    scope = projects.viewing_scope(viewer, tree)
    return scope if scope is not None else tree.root


def _area(tree: UnitTree, viewer: Person, code: str) -> Unit:
    """The area ``code`` (default: the viewer's) if the viewer may see it."""
    home = _home_unit(tree, viewer)
    if not code:
        if home is None:
            raise NotFound("没有可查看的区域")
        return lists.list_area(tree, home)
    unit = tree.get(code.strip()[:40])
    scope = projects.viewing_scope(viewer, tree)
    if scope is not None and not tree.is_within(unit.id, scope):
        raise PermissionDenied(f"您不能查看{unit.name}")
    return lists.list_area(tree, unit)


def _areas(tree: UnitTree, viewer: Person) -> list[Any]:
    top = _home_unit(tree, viewer)
    if top is None:
        return []
    fake = Person(unit_id=top.id, role=viewer.role, active=True)
    return [(u, d) for u, d in scope_units(tree, fake) if u.level != "grid"]


def _done(request: Request, message: str, target: str) -> RedirectResponse:
    flash(request, "ok", message)
    return redirect(target)


def _act(
    console: Console, request: Request, target: str, work: Any, *args: Any, **kwargs: Any
) -> RedirectResponse:
    """Run ``work(session, domain, viewer, …)`` in one transaction; expected errors become a flash."""
    try:
        with console.db.unit_of_work() as uow:
            viewer = console.viewer(request, uow.session)
            message = work(uow.session, console.domain, viewer, *args, **kwargs)
            uow.commit()
    except NotFound:
        raise
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect(target)
    console.counts.clear()
    return _done(request, str(message), target)


# --- the three lists -----------------------------------------------------------------------------


@router.get("/lists", response_class=HTMLResponse)
def lists_page(request: Request, console: ConsoleDep, unit: str = "") -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        area = _area(tree, viewer, unit)
        found = lists.lists_for(session, console.domain, area.code, public=False)
        editable = True
        try:
            lists.ensure_can_edit(viewer, tree, area)
        except PermissionDenied:
            editable = False
        return console.render(
            request,
            "lists.html",
            {
                "lists": found,
                "area": area,
                "areas": _areas(tree, viewer),
                "editable": editable,
                "kinds": lists.PROVIDER_KINDS,
                "public_url": f"/p/lists/{area.code}",
            },
            viewer=viewer,
        )


def _back(unit: str) -> str:
    return f"/lists?unit={unit}" if unit else "/lists"


@router.post("/lists/needs/from-cases")
def needs_from_cases(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    min_reports: Annotated[int, Form()] = 2,
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        added = lists.needs_from_cases(s, d, viewer, unit, min_reports=max(1, min_reports))
        return f"从类案新增 {len(added)} 条需求" if added else "没有新的类案可加入需求清单"

    return _act(console, request, _back(unit), work)


@router.post("/lists/needs")
def add_need(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    category: Annotated[str, Form()],
    title: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    reporters: Annotated[int, Form()] = 0,
    source: Annotated[str, Form()] = "manual",
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        need = lists.add_need(
            s,
            d,
            viewer,
            unit_code=unit,
            category=category,
            title=title,
            place=place,
            reporters=reporters,
            source=source,
        )
        return f"已添加需求 {need.code}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/needs/merge")
def merge_needs(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    into: Annotated[str, Form()],
    others: Annotated[str, Form()],
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        codes = [c for c in others.replace(",", " ").replace("，", " ").split() if c]
        need = lists.merge_needs(s, d, viewer, into=into, others=codes)
        return f"已合并到 {need.code}（共 {need.reporters} 人反映）"

    return _act(console, request, _back(unit), work)


@router.post("/lists/needs/{code}/split")
def split_need(
    request: Request,
    console: ConsoleDep,
    code: str,
    unit: Annotated[str, Form()],
    title: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    reporters: Annotated[int, Form()] = 0,
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        part = lists.split_need(
            s, d, viewer, code=code, title=title, place=place, reporters=reporters
        )
        return f"已拆分出 {part.code}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/needs/{code}/rank")
def rank_need(
    request: Request,
    console: ConsoleDep,
    code: str,
    unit: Annotated[str, Form()],
    rank: Annotated[int, Form()],
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        need = lists.rank_need(s, d, viewer, code=code, rank=rank)
        return f"{need.code} 排序已设为 {need.rank or '不排序'}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/resources")
def add_resource(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    provider: Annotated[str, Form()],
    provider_kind: Annotated[str, Form()],
    what: Annotated[str, Form()],
    place: Annotated[str, Form()] = "",
    capacity: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        r = lists.add_resource(
            s,
            d,
            viewer,
            unit_code=unit,
            provider=provider,
            provider_kind=provider_kind,
            what=what,
            place=place,
            capacity=capacity,
            contact=contact,
            period=period,
        )
        return f"已添加资源 {r.code}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/match")
def match(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    need: Annotated[str, Form()],
    resource: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        lists.match(s, d, viewer, need_code=need, resource_code=resource, note=note)
        return f"已将 {resource.strip().upper()} 匹配到 {need.strip().upper()}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/services")
def add_service(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    title: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    schedule: Annotated[str, Form()] = "",
    provider: Annotated[str, Form()] = "",
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        service = lists.add_service(
            s,
            d,
            viewer,
            unit_code=unit,
            title=title,
            description=description,
            place=place,
            schedule=schedule,
            provider=provider,
        )
        return f"已添加服务项目 {service.code}"

    return _act(console, request, _back(unit), work)


@router.post("/lists/services/post")
def post_services(
    request: Request, console: ConsoleDep, unit: Annotated[str, Form()]
) -> RedirectResponse:
    def work(s: Session, d: Any, viewer: Person) -> str:
        n = lists.post_services(s, d, viewer, unit_code=unit)
        return (
            f"服务项目清单已发到 {n} 个网格群"
            if n
            else "没有新发送（没有绑定的网格群，或今天已发过）"
        )

    return _act(console, request, _back(unit), work)


# --- projects ----------------------------------------------------------------------------------


@router.get("/projects", response_class=HTMLResponse)
def project_list(
    request: Request, console: ConsoleDep, unit: str = "", status: str = ""
) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        tree = console.domain.units(session)
        area = _area(tree, viewer, unit) if unit else None
        try:
            wanted = ProjectStatus(status) if status else None
        except ValueError:
            raise InvalidInput("未知的项目状态") from None
        rows = projects.list_projects(
            session,
            console.domain,
            unit_code=area.code if area else None,
            scope=projects.visible_projects(viewer, tree),
            status=wanted,
        )
        home = _home_unit(tree, viewer)
        may_propose = home is not None and projects.can_manage(viewer, None, tree, home)
        return console.render(
            request,
            "projects.html",
            {
                "rows": rows,
                "areas": _areas(tree, viewer),
                "unit": area.code if area else "",
                "status": status,
                "statuses": list(ProjectStatus),
                "may_propose": may_propose,
                "home": home,
            },
            viewer=viewer,
        )


@router.post("/projects")
def propose(
    request: Request,
    console: ConsoleDep,
    title: Annotated[str, Form()],
    unit: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    estimated: Annotated[str, Form()] = "0",
    funding_source: Annotated[str, Form()] = "",
    owner_unit: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    needs: Annotated[str, Form()] = "",
    tickets: Annotated[str, Form()] = "",
) -> RedirectResponse:
    created: list[str] = []

    def work(s: Session, d: Any, viewer: Person) -> str:
        project = projects.propose(
            s,
            d,
            actor=viewer,
            title=title,
            unit_code=unit,
            description=description,
            place=place,
            category=category or None,
            estimated=estimated or "0",
            funding_source=funding_source,
            owner_unit_code=owner_unit,
            owner_username=owner,
            need_codes=needs.replace(",", " ").split(),
            ticket_codes=tickets.replace(",", " ").split(),
        )
        created.append(project.code)
        return f"已提议项目 {project.code}"

    response = _act(console, request, "/projects", work)
    return redirect(f"/projects/{created[0]}") if created else response


def _project_context(
    session: Session, console: Console, project: Project, viewer: Person
) -> dict[str, Any]:
    tree = console.domain.units(session)
    may_manage = projects.can_manage(viewer, project, tree, tree.by_id[project.unit_id])
    tickets = projects.linked_tickets(session, project)
    may_see_tickets = {t.id for t in tickets if access.can_view(viewer, t, tree)}
    given = session.scalars(
        select(ProjectEvaluation)
        .where(ProjectEvaluation.project_id == project.id)
        .order_by(ProjectEvaluation.at)
    ).all()
    mine = next((e for e in given if e.person_id == viewer.id), None)
    updates = session.scalars(
        select(ProjectUpdate)
        .where(ProjectUpdate.project_id == project.id)
        .order_by(ProjectUpdate.at)
    ).all()
    return {
        "project": project,
        "unit": tree.by_id.get(project.unit_id),
        "owner_unit": tree.by_id.get(project.owner_unit_id) if project.owner_unit_id else None,
        "budget": projects.budget_fen(project),
        "tally": votes.tally(session, console.domain, project),
        "commands": projects.allowed(project) if may_manage else [],
        "may_manage": may_manage,
        "may_evaluate": viewer.role is Role.OBSERVER
        and project.status in (ProjectStatus.ACCEPTED, ProjectStatus.EVALUATING),
        "criteria": evaluations.domain_criteria(console.domain),
        "mine": mine,
        "summary": evaluations.evaluation_summary(session, console.domain, project),
        "evaluations": given,
        "meetings": session.scalars(
            select(ProjectMeeting)
            .where(ProjectMeeting.project_id == project.id)
            .order_by(ProjectMeeting.held_on)
        ).all(),
        "updates": updates,
        "update_photos": photos.update_tokens(session, [u.id for u in updates]),
        "tickets": [t for t in tickets if t.id in may_see_tickets],
        "hidden_tickets": len(tickets) - len(may_see_tickets),
        "events": session.scalars(
            select(ProjectEvent)
            .where(ProjectEvent.project_id == project.id)
            .order_by(ProjectEvent.id)
        ).all(),
        "event_label": project_event_label,
        "satisfactions": list(Satisfaction),
        "groups": votes.group_chats(session, console.domain, project),
        "public_url": f"/p/projects/{project.code}",
        "max_uploads": MAX_UPLOADS,
        "photo_limit": megabytes(console.settings.photo_max_bytes),
    }


@router.get("/projects/{code}", response_class=HTMLResponse)
def project_page(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        project = projects.visible_project(session, console.domain, code, viewer)
        return console.render(
            request,
            "project.html",
            _project_context(session, console, project, viewer),
            viewer=viewer,
        )


@router.get("/projects/{code}/sign", response_class=HTMLResponse)
def project_sign(
    request: Request, console: ConsoleDep, code: str, size: str = "a4"
) -> HTMLResponse:
    """The printable sign for the project's site (全过程公示): what, where, who, how much, where it
    stands, and a QR code of its public page."""
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        project = projects.visible_project(session, console.domain, code, viewer)
        tree = console.domain.units(session)
        url = str(request.url_for("public_project", code=project.code))
        return console.render(
            request,
            "project_sign.html",
            {
                "project": project,
                "unit": tree.by_id.get(project.unit_id),
                "owner_unit": tree.by_id.get(project.owner_unit_id)
                if project.owner_unit_id
                else None,
                "budget": projects.budget_fen(project),
                "url": url,
                "qr_svg": qr.svg(url),
                "size": "a5" if size == "a5" else "a4",
                "hotline": console.settings.public_hotline,
            },
            viewer=viewer,
        )


@router.post("/projects/{code}/score")
async def evaluate(request: Request, console: ConsoleDep, code: str) -> RedirectResponse:
    """An observer's scores on the criteria (the form's ``score_<criterion code>`` fields)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    scores = {k.removeprefix("score_"): v for k, v in fields.items() if k.startswith("score_")}
    target = f"/projects/{code.strip().upper()[:40]}"

    def work(s: Session, d: Any, viewer: Person) -> str:
        project = projects.visible_project(s, d, code, viewer)
        evaluations.evaluate(
            s,
            d,
            project,
            viewer,
            scores=scores,
            satisfaction=fields.get("satisfaction", ""),
            note=fields.get("note", ""),
        )
        return "已提交评价"

    return await run_in_threadpool(_act, console, request, target, work)


def _read_uploads(console: Console, uploads: list[UploadFile]) -> list[CleanImage]:
    """The chosen files, each checked and re-encoded without EXIF before any transaction starts (an
    empty file field sends a part with no name: skipped). More than ``MAX_UPLOADS``, one over the size
    limit or one that is not an image is refused before anything is recorded."""
    chosen = [u for u in uploads if u.filename]
    if len(chosen) > MAX_UPLOADS:
        raise InvalidInput(f"每次进展最多上传 {MAX_UPLOADS} 张照片")
    limit = console.settings.photo_max_bytes
    found = []
    for upload in chosen:
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise PhotoTooLarge(upload.size or len(data), limit)
        try:
            found.append(clean_image(data, max_bytes=limit))
        except NotAnImage as e:
            raise NotAnImage(f"{upload.filename}：{e}") from e
    return found


@router.post("/projects/{code}/{action}")
def project_action(
    request: Request,
    console: ConsoleDep,
    code: str,
    action: str,
    reason: Annotated[str, Form()] = "",
    budget: Annotated[str, Form()] = "",
    result: Annotated[str, Form()] = "",
    held_on: Annotated[str, Form()] = "",
    participants: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    milestone: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    spent: Annotated[str, Form()] = "",
    photos: Annotated[str, Form()] = "",
    tickets: Annotated[str, Form()] = "",
    close_tickets: Annotated[bool, Form()] = False,
    uploads: Annotated[list[UploadFile] | None, File()] = None,
) -> RedirectResponse:
    try:
        command = projects.ProjectCommand(action)
    except ValueError:
        raise NotFound("没有这个操作") from None
    target = f"/projects/{code.strip().upper()[:40]}"
    try:
        uploaded = tuple(_read_uploads(console, uploads or []))
    except TicketError as e:
        flash(request, "error", str(e))
        return redirect(target)
    args = projects.Args(
        reason=reason,
        budget=budget,
        result=result,
        held_on=held_on,
        participants=participants,
        decision=decision,
        milestone=milestone,
        text=text,
        spent=spent,
        photos=tuple(p for p in photos.split() if p),
        tickets=tickets,
        close_tickets=close_tickets,
        uploads=uploaded,
    )

    def work(s: Session, d: Any, viewer: Person) -> str:
        project = projects.visible_project(s, d, code, viewer)
        return projects.perform(s, d, project, command, viewer, args)

    return _act(console, request, target, work)


# --- 成绩单 --------------------------------------------------------------------------------------


def _report_card(
    session: Session, console: Console, viewer: Person, unit: str, period: str
) -> tuple[report_card.ReportCard, list[projects.ProjectRow]]:
    """The 成绩单 of an area the viewer may see, and its projects as they stand now (逐一销号)."""
    tree = console.domain.units(session)
    area = _area(tree, viewer, unit)
    parsed = report_card.parse_period(period[:20], console.settings.timezone, console.now())
    card = report_card.of_unit(session, console.domain, area, parsed)
    return card, projects.list_projects(session, console.domain, unit_code=area.code)


@router.get("/report-card", response_class=HTMLResponse)
def report_card_page(
    request: Request, console: ConsoleDep, unit: str = "", period: str = "month"
) -> HTMLResponse:
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        card, rows = _report_card(session, console, viewer, unit, period)
        return console.render(
            request,
            "report_card.html",
            {
                "card": card,
                "rows": rows,
                "areas": _areas(console.domain.units(session), viewer),
                "unit": card.unit_code,
                "period": period[:20],
                "definitions": report_card.DEFINITIONS,
                "generated_at": report_pdf.generated_line(console.now(), console.settings.timezone),
            },
            viewer=viewer,
        )


@router.get("/report-card.pdf")
def report_card_pdf(
    request: Request, console: ConsoleDep, unit: str = "", period: str = "month"
) -> Response:
    """The same 成绩单 as a PDF to print (A4)."""
    with console.db.session() as session:
        viewer = console.viewer(request, session)
        card, rows = _report_card(session, console, viewer, unit, period)
    pdf = report_pdf.render(card, rows, generated_at=console.now(), tz=console.settings.timezone)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{report_pdf.filename(card)}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/report-card/post")
def post_report_card(
    request: Request,
    console: ConsoleDep,
    unit: Annotated[str, Form()],
    period: Annotated[str, Form()] = "month",
) -> RedirectResponse:
    """Post the short 成绩单 to the unit's bound grid groups."""
    target = f"/report-card?unit={unit[:40]}&period={period[:20]}"

    def work(s: Session, d: Any, viewer: Person) -> str:
        area = _area(d.units(s), viewer, unit)
        parsed = report_card.parse_period(period[:20], d.settings.timezone, d.clock())
        card = report_card.of_unit(s, d, area, parsed)
        n = report_card.post_report_card(s, d, viewer, card)
        return (
            f"成绩单已发到 {n} 个网格群" if n else "没有新发送（没有绑定的网格群，或这一期已发过）"
        )

    return _act(console, request, target, work)
