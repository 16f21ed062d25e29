"""民微实事 votes: a non-anonymous Telegram poll in each bound grid group of a project's area (sent and
closed through the outbox), answers counted once per person per project (a changed answer replaces
it, an empty one retracts it), answers from people the community does not know kept but not counted,
and signed web vote links for residents outside Telegram that share the same one vote."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from tickets import messages, outbox
from tickets.domain import Domain
from tickets.errors import InvalidInput, NotFound, PermissionDenied
from tickets.models import ChatBinding, Person, Project, ProjectPoll, ProjectVote, Ticket, Unit
from tickets.projectstatus import POLL_OPTIONS, ProjectStatus, VoteChoice
from tickets.units import UnitTree


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


def send_polls(session: Session, domain: Domain, project: Project) -> int:
    """Queue a non-anonymous poll about ``project`` in each bound grid group of its area."""
    question = messages.project_poll_question(
        project.code,
        project.title,
        project.place,
        project.approved_fen if project.approved_fen is not None else project.estimated_fen,
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
                # What each option stands for, in order: kept with the options' persistent ids
                # once Telegram has them (outbox.record_poll).
                "choices": [c.value for c in POLL_OPTIONS],
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
    option_persistent_ids: list[str] | None = None,
) -> VoteOutcome:
    """A ``poll_answer`` from Telegram: one vote per Telegram user per project (a changed answer
    replaces it, an empty answer retracts it). Answers from people the community does not know are kept
    but not counted; an answer in the name of a chat (anonymous admins, channels) has no user and
    counts as unknown. The option is read by its persistent id when the poll's ids are known, by its
    position only for polls sent before they were kept."""
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
    choice = _choice(poll, option_ids, option_persistent_ids or [])
    if choice is None:
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
        choice=choice,
        poll_id=poll_id,
    )


def _choice(
    poll: ProjectPoll, option_ids: list[int], persistent_ids: list[str]
) -> VoteChoice | None:
    """The choice an answer picked: by the option's persistent id, or by position (older polls)."""
    if poll.options:
        picked = poll.options.get(persistent_ids[0]) if persistent_ids else None
        return VoteChoice(picked) if picked in {c.value for c in VoteChoice} else None
    index = option_ids[0]
    return POLL_OPTIONS[index] if 0 <= index < len(POLL_OPTIONS) else None


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
    project = session.scalar(select(Project).where(Project.code == project_code.strip().upper()))
    if project is None:
        raise NotFound(f"没有项目 {project_code[:40]}")
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
