"""Public pages of 民微实事 (no sign-in, no personal data): a project's whole process (全过程公示) at
``/p/projects/<code>`` with its QR code, and a community's or street's three lists at
``/p/lists/<unit code>``; a resident's signed vote link at ``/p/projects/<code>/vote``.

Shown: titles, places, budgets and money spent, meetings' dates and decisions, progress updates (with
their photos, re-encoded without EXIF), vote
counts and results, the lists without contacts. Never shown: names, Telegram ids, phone numbers,
ticket texts, participants of meetings, who did what. The bodies are partial templates
(``_public_project.html``, ``_public_lists.html``) so the public board can include them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from console import qr
from console.deps import Console, CsrfFailed, get_console
from console.security import same_origin
from tickets.errors import NotFound
from tickets.models import ProjectMeeting, ProjectUpdate
from tickets.projectstatus import LIFECYCLE, ProjectEventKind, ProjectStatus
from tickets.usecases import evaluations, lists, photos, projects, votes

router = APIRouter()
ConsoleDep = Annotated[Console, Depends(get_console)]


def _project_context(console: Console, code: str) -> dict[str, object]:
    with console.db.session() as session:
        project = projects.get_project(session, code)
        tree = console.domain.units(session)
        unit = tree.by_id.get(project.unit_id)
        owner_unit = tree.by_id.get(project.owner_unit_id) if project.owner_unit_id else None
        meetings = [
            (m.held_on, m.decision)
            for m in session.scalars(
                select(ProjectMeeting)
                .where(ProjectMeeting.project_id == project.id)
                .order_by(ProjectMeeting.held_on)
            )
        ]
        rows = session.scalars(
            select(ProjectUpdate)
            .where(ProjectUpdate.project_id == project.id)
            .order_by(ProjectUpdate.at)
        ).all()
        tokens = photos.update_tokens(session, [u.id for u in rows])
        updates = [(u.at, u.milestone, u.text, u.spent_fen, tokens.get(u.id, [])) for u in rows]
        steps = [
            (e.at, ProjectEventKind(e.kind).label)
            for e in project.events
            if (k := ProjectEventKind.of(e.kind)) is not None and k.public
        ]
        tally = votes.tally(session, console.domain, project)
        summary = evaluations.evaluation_summary(session, console.domain, project)
        return {
            "p": {
                "code": project.code,
                "title": project.title,
                "description": project.description,
                "place": project.place,
                "category": console.category_name(project.category) if project.category else "",
                "unit_name": unit.name if unit else "",
                "unit_code": unit.code if unit else "",
                "owner_unit": owner_unit.name if owner_unit else "",
                "funding_source": project.funding_source,
                "status": project.status,
                "budget_fen": projects.budget_fen(project),
                "approved": project.approved_fen is not None,
                "spent_fen": project.spent_fen,
                "reject_reason": project.reject_reason or "",
                "result": project.result or "",
                "votes_for": tally.votes_for,
                "votes_against": tally.votes_against,
                "voting": project.status is ProjectStatus.VOTING,
                "voted": project.vote_opened_at is not None,
                "satisfaction_rate": summary.satisfaction_rate,
                "rated": summary.residents,
                "created_at": project.created_at,
            },
            "lifecycle": LIFECYCLE,
            "meetings": meetings,
            "updates": updates,
            "steps": steps,
        }


@router.get("/p/projects/{code}", response_class=HTMLResponse, name="public_project")
def public_project(request: Request, console: ConsoleDep, code: str) -> HTMLResponse:
    context = _project_context(console, code.strip().upper()[:40])
    url = str(request.url_for("public_project", code=code.strip().upper()[:40]))
    response = console.render(
        request,
        "public_project.html",
        {**context, "qr_svg": qr.svg(url, scale=4), "url": url},
        public=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/p/lists/{unit}", response_class=HTMLResponse)
def public_lists(request: Request, console: ConsoleDep, unit: str) -> HTMLResponse:
    with console.db.session() as session:
        tree = console.domain.units(session)
        area = tree.by_code.get(unit.strip()[:40])
        if area is None or area.level in ("grid", "department"):
            raise NotFound("没有这个社区或街道")
        found = lists.lists_for(session, console.domain, area.code, public=True)
    return console.render(request, "public_lists.html", {"lists": found}, public=True)


@router.get("/p/projects/{code}/vote", response_class=HTMLResponse)
def vote_page(
    request: Request, console: ConsoleDep, code: str, v: int = 0, k: str = ""
) -> HTMLResponse:
    """A resident's own vote link (sent to them, signed): the project and 赞成 / 反对."""
    code = code.strip().upper()[:40]
    if not k or not votes.vote_token(console.domain, code, v) == k[:64]:
        raise NotFound("投票链接无效")
    context = _project_context(console, code)
    return console.render(
        request, "public_vote.html", {**context, "v": v, "k": k, "outcome": None}, public=True
    )


@router.post("/p/projects/{code}/vote", response_class=HTMLResponse)
def vote(
    request: Request,
    console: ConsoleDep,
    code: str,
    v: Annotated[int, Form()],
    k: Annotated[str, Form()],
    choice: Annotated[str, Form()],
) -> HTMLResponse:
    """Record a web vote: the signed link stands for the resident; the form must come from this site."""
    if not same_origin(request):
        raise CsrfFailed("vote from another site")
    code = code.strip().upper()[:40]
    with console.db.unit_of_work() as uow:
        outcome = votes.record_web_vote(
            uow.session, console.domain, project_code=code, person_id=v, token=k[:64], choice=choice
        )
        uow.commit()
    context = _project_context(console, code)
    return console.render(
        request, "public_vote.html", {**context, "v": v, "k": k, "outcome": outcome}, public=True
    )
