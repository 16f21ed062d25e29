"""评价 of 民微实事 projects: the residents whose tickets fed a project rate the result (满意/基本满意/
不满意, in the console's data or with the buttons under the 验收 notice); observers of its area score
it on the district's criteria (``data/project_criteria.yml``). One evaluation per person."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.cleaning import clean_text
from tickets.criteria import MAX_SCORE, MIN_SCORE, Criterion, load_criteria
from tickets.domain import Domain
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import Person, Project, ProjectEvaluation, ProjectTicket, Ticket
from tickets.projectstatus import EvaluatorKind, ProjectEventKind, ProjectStatus
from tickets.statuses import Role, Satisfaction
from tickets.usecases.projects import can_view, record_event


def _text(value: str, limit: int, what: str) -> str:
    return clean_text(value, limit=limit, what=what) if value.strip() else ""


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
    record_event(
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
