"""民微实事 projects: from a case to a need to a project, the lifecycle table and its refusals, votes
counted once per person with strangers excluded, the residents behind a project told, evaluations,
and the three lists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Clock
from tests.tickets.factories import file, person
from tickets import outbox
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import IllegalTransition, InvalidInput, PermissionDenied
from tickets.models import (
    ChatBinding,
    ListEvent,
    OutboxItem,
    Person,
    Project,
    ProjectEvent,
    ProjectPoll,
    ProjectVote,
    Ticket,
)
from tickets.projectstatus import PROJECT_TRANSITIONS, ProjectAction, ProjectStatus
from tickets.statuses import Role, Status
from tickets.usecases import evaluations, lists, projects, votes
from tickets.usecases.projects import Args, ProjectCommand

GROUP = -100777


@dataclass
class World:
    staff: int
    other_staff: int
    grid_member: int
    observer: int
    residents: list[int]
    tickets: list[str]


def _world(session: Session, domain: Domain) -> World:
    staff = person(session, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain, name="陈主任")
    other = person(session, Role.COMMUNITY_STAFF, unit="YX-SG-CH", domain=domain, name="翠湖")
    grid = person(session, Role.GRID_MEMBER, tg=9101, unit="YX-SG-XF-01", domain=domain)
    observer = person(session, Role.OBSERVER, unit="YX-SG-XF", domain=domain, name="观察员")
    residents = [person(session, tg=9000 + i, name=f"居民{i}") for i in range(3)]
    tickets = [
        file(
            session,
            domain,
            text,
            "greening_space",
            locations=["幸福花园"],
            reporter=residents[i],
        ).code
        for i, text in enumerate(
            [
                "幸福花园的健身器材全部坏了，老人没地方锻炼",
                "幸福花园健身器材坏了好久，没人修",
                "幸福花园里面的健身器材生锈坏了，小朋友玩很危险",
            ]
        )
    ]
    tree = domain.units(session)
    session.add(
        ChatBinding(chat_id=GROUP, title="幸福花园业主群", grid_id=tree.get("YX-SG-XF-01").id)
    )
    session.flush()
    return World(staff.id, other.id, grid.id, observer.id, [r.id for r in residents], tickets)


@pytest.fixture
def world(db: Database, domain: Domain) -> World:
    with db.unit_of_work() as uow:
        w = _world(uow.session, domain)
        uow.commit()
    return w


def _propose(session: Session, domain: Domain, w: World) -> Project:
    staff = session.get(Person, w.staff)
    assert staff is not None
    needs = lists.needs_from_cases(session, domain, staff, "YX-SG-XF")
    return projects.propose(
        session,
        domain,
        actor=staff,
        title="幸福花园健身器材更新",
        unit_code="YX-SG-XF",
        description="更换损坏的健身器材",
        place="幸福花园",
        category="greening_space",
        estimated="38,000",
        funding_source="民生微实事专项资金",
        need_codes=[n.code for n in needs],
    )


def test_a_case_becomes_a_need_with_its_reporters_and_redacted_samples(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        staff = uow.session.get(Person, world.staff)
        assert staff is not None
        found = lists.needs_from_cases(uow.session, domain, staff, "YX-SG-XF")
        again = lists.needs_from_cases(uow.session, domain, staff, "YX-SG-XF")
        uow.commit()
    assert again == []
    assert len(found) == 1
    need = found[0]
    assert (need.category, need.reporters, need.place, need.source) == (
        "greening_space",
        3,
        "幸福花园",
        "case",
    )
    assert len(need.samples) == 3 and need.first_report_at <= need.last_report_at  # type: ignore[operator]
    with db.session() as s:
        assert s.scalar(select(func.count(ListEvent.id)).where(ListEvent.subject == need.code)) == 1


def test_a_project_from_a_need_links_the_case_tickets_and_walks_the_lifecycle(
    db: Database, domain: Domain, world: World, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _propose(s, domain, world)
        staff = s.get(Person, world.staff)
        assert staff is not None
        assert project.code.startswith("XM-") and project.estimated_fen == 3_800_000
        assert {t.code for t in projects.linked_tickets(s, project)} == set(world.tickets)
        steps = [
            (ProjectCommand.DELIBERATE, Args()),
            (
                ProjectCommand.MEETING,
                Args(held_on="2026-11-24", participants="居民代表8人、物业", decision="同意更换"),
            ),
            (ProjectCommand.OPEN_VOTE, Args()),
            (ProjectCommand.APPROVE, Args(budget="36000")),
            (ProjectCommand.START, Args()),
            (ProjectCommand.UPDATE, Args(milestone="采购", text="器材已下单", spent="20000")),
            (ProjectCommand.UPDATE, Args(milestone="安装", text="安装完毕", spent="15,500.50")),
            (ProjectCommand.ACCEPT, Args(result="已更换 12 件健身器材", close_tickets=True)),
            (ProjectCommand.EVALUATE, Args()),
            (ProjectCommand.CLOSE, Args()),
        ]
        for command, args in steps:
            assert command in projects.allowed(project), (command, project.status)
            projects.perform(s, domain, project, command, staff, args)
            clock.advance(hours=1)
        uow.commit()
        code = project.code
    with db.session() as s:
        project = projects.get_project(s, code)
        assert project.status is ProjectStatus.CLOSED
        assert (project.approved_fen, project.spent_fen) == (3_600_000, 3_550_050)
        kinds = [
            e.kind
            for e in s.scalars(select(ProjectEvent).where(ProjectEvent.project_id == project.id))
        ]
        assert kinds == [
            "proposed",
            "deliberate",
            "meeting",
            "open_vote",
            "poll_sent",
            "approve",
            "residents_told",
            "start",
            "update",
            "update",
            "accept",
            "residents_told",
            "tickets_closed",
            "evaluate",
            "close",
        ]
        assert all(
            e.actor_label == "陈主任"
            for e in s.scalars(select(ProjectEvent).where(ProjectEvent.project_id == project.id))
        )
        statuses = {t.status for t in s.scalars(select(Ticket))}
        assert statuses == {Status.RESOLVED}


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for a in ProjectAction for s in ProjectStatus if s not in PROJECT_TRANSITIONS[a]][
        :40:3
    ],
)
def test_an_illegal_step_is_refused_and_changes_nothing(
    db: Database, domain: Domain, world: World, status: ProjectStatus, action: ProjectAction
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _propose(s, domain, world)
        project.status = status
        s.flush()
        events = s.scalar(select(func.count(ProjectEvent.id)))
        staff = s.get(Person, world.staff)
        assert staff is not None
        with pytest.raises(IllegalTransition):
            projects.perform(
                s,
                domain,
                project,
                ProjectCommand(action.value),
                staff,
                Args(reason="x", result="y"),
            )
        assert project.status is status
        assert s.scalar(select(func.count(ProjectEvent.id))) == events


def test_rejecting_needs_a_reason_and_staff_of_another_community_may_not_act(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _propose(s, domain, world)
        other = s.get(Person, world.other_staff)
        staff = s.get(Person, world.staff)
        observer = s.get(Person, world.observer)
        assert other is not None and staff is not None and observer is not None
        with pytest.raises(PermissionDenied):
            projects.perform(s, domain, project, ProjectCommand.DELIBERATE, other)
        with pytest.raises(PermissionDenied):
            projects.perform(s, domain, project, ProjectCommand.DELIBERATE, observer)
        with pytest.raises(InvalidInput):
            projects.perform(s, domain, project, ProjectCommand.REJECT, staff, Args(reason=" "))
        projects.perform(s, domain, project, ProjectCommand.REJECT, staff, Args(reason="预算不足"))
        assert (project.status, project.reject_reason) == (ProjectStatus.REJECTED, "预算不足")
        assert projects.allowed(project) == []


def _voting(s: Session, domain: Domain, w: World) -> Project:
    project = _propose(s, domain, w)
    staff = s.get(Person, w.staff)
    assert staff is not None
    projects.perform(s, domain, project, ProjectCommand.DELIBERATE, staff)
    projects.perform(s, domain, project, ProjectCommand.OPEN_VOTE, staff)
    return project


def test_opening_the_vote_sends_a_non_anonymous_poll_to_the_bound_groups(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        project = _voting(uow.session, domain, world)
        uow.commit()
    with db.session() as s:
        row = s.scalars(select(OutboxItem).where(OutboxItem.kind == "project_poll")).one()
        assert (row.chat_id, row.method) == (GROUP, "sendPoll")
        assert row.payload["is_anonymous"] is False
        assert row.payload["options"] == ["赞成", "反对"]
        assert project.code in row.payload["question"]
        poll = s.scalars(select(ProjectPoll)).one()
        assert (poll.outbox_id, poll.poll_id) == (row.id, None)


def test_poll_answers_count_once_per_person_changes_and_retractions_included_strangers_excluded(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _voting(s, domain, world)
        poll = s.scalars(select(ProjectPoll)).one()
        outbox.record_poll(s, s.get_one(OutboxItem, poll.outbox_id), "poll-1")  # no option ids

        def answer(user: int, options: list[int]) -> str:
            return votes.record_poll_answer(
                s, domain, poll_id="poll-1", telegram_user_id=user, option_ids=options
            ).kind

        assert answer(9000, [0]) == "counted"
        assert answer(9000, [0]) == "counted"  # the same answer again (redelivered)
        assert answer(9001, [1]) == "counted"
        assert answer(9001, [0]) == "counted"  # changed mind
        assert answer(9002, [0]) == "counted"
        assert answer(9002, []) == "retracted"
        assert answer(9101, [1]) == "counted"  # the grid member
        assert answer(5555, [0]) == "excluded"  # nobody the community knows
        assert answer(5556, [1]) == "excluded"
        assert (
            votes.record_poll_answer(
                s, domain, poll_id="someone-elses", telegram_user_id=9000, option_ids=[0]
            ).kind
            == "unknown_poll"
        )
        t = votes.tally(s, domain, project)
        assert (t.votes_for, t.votes_against, t.excluded) == (2, 1, 2)
        # Residents known to 幸福社区 (3 who filed there) and its people (staff, grid member, observer).
        assert t.eligible == 6
        direct = s.scalar(
            select(func.count(ProjectVote.id)).where(ProjectVote.project_id == project.id)
        )
        assert direct == 5
        row = projects.list_projects(s, domain, unit_code="YX-SG-XF")[0]
        assert (row.votes_for, row.votes_against, row.excluded) == (2, 1, 2)
        staff = s.get(Person, world.staff)
        assert staff is not None
        projects.perform(s, domain, project, ProjectCommand.APPROVE, staff)
        assert answer(9000, [1]) == "closed"


def test_a_web_vote_needs_its_signed_link_and_shares_the_residents_one_vote(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _voting(s, domain, world)
        resident = world.residents[0]
        token = votes.vote_token(domain, project.code, resident)
        with pytest.raises(PermissionDenied):
            votes.record_web_vote(
                s,
                domain,
                project_code=project.code,
                person_id=resident,
                token="x" + token,
                choice="for",
            )
        out = votes.record_web_vote(
            s, domain, project_code=project.code, person_id=resident, token=token, choice="against"
        )
        assert out.kind == "counted"
        poll = s.scalars(select(ProjectPoll)).one()
        outbox.record_poll(s, s.get_one(OutboxItem, poll.outbox_id), "poll-9")
        votes.record_poll_answer(s, domain, poll_id="poll-9", telegram_user_id=9000, option_ids=[0])
        t = votes.tally(s, domain, project)
        assert (t.votes_for, t.votes_against) == (1, 0)


def test_the_residents_behind_a_project_are_told_at_approval_and_acceptance_once(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _voting(s, domain, world)
        staff = s.get(Person, world.staff)
        assert staff is not None
        projects.perform(s, domain, project, ProjectCommand.APPROVE, staff)
        projects.tell_residents(s, domain, project, "approved", staff)  # again: nothing new
        projects.perform(s, domain, project, ProjectCommand.START, staff)
        projects.perform(
            s, domain, project, ProjectCommand.ACCEPT, staff, Args(result="器材已全部更换")
        )
        uow.commit()
        code = project.code
    with db.session() as s:
        told = s.scalars(
            select(OutboxItem).where(OutboxItem.kind.in_(("project_approved", "project_finished")))
        ).all()
        assert sorted((m.kind, m.chat_id) for m in told) == sorted(
            (kind, 9000 + i) for kind in ("project_approved", "project_finished") for i in range(3)
        )
        for m in told:
            ticket = s.get(Ticket, m.ticket_id)
            assert ticket is not None
            assert ticket.code in m.payload["text"] and code in m.payload["text"]
            assert domain.links.url(ticket.code) in m.payload["text"]
        finished = [m for m in told if m.kind == "project_finished"]
        assert all("器材已全部更换" in m.payload["text"] for m in finished)
        # The tickets stay open until staff choose to close them with the project's result.
        assert {t.status for t in s.scalars(select(Ticket))} == {Status.NEW}


def test_residents_who_asked_rate_and_observers_score_on_the_criteria(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        project = _voting(s, domain, world)
        staff = s.get(Person, world.staff)
        observer = s.get(Person, world.observer)
        stranger = person(s, tg=4242)
        assert staff is not None and observer is not None
        for command, args in (
            (ProjectCommand.APPROVE, Args()),
            (ProjectCommand.START, Args()),
            (ProjectCommand.ACCEPT, Args(result="完成")),
        ):
            projects.perform(s, domain, project, command, staff, args)
        r0, r1 = (s.get(Person, i) for i in world.residents[:2])
        assert r0 is not None and r1 is not None
        evaluations.evaluate(s, domain, project, r0, satisfaction="satisfied")
        evaluations.evaluate(s, domain, project, r1, satisfaction="unsatisfied")
        evaluations.evaluate(s, domain, project, r1, satisfaction="basic")  # changed: replaces
        with pytest.raises(PermissionDenied):
            evaluations.evaluate(s, domain, project, stranger, satisfaction="satisfied")
        with pytest.raises(InvalidInput):
            evaluations.evaluate(s, domain, project, observer, scores={"grounded": "9"})
        scores = {c.code: "4" for c in evaluations.domain_criteria(domain)}
        evaluations.evaluate(s, domain, project, observer, scores=scores, note="总体不错")
        summary = evaluations.evaluation_summary(s, domain, project)
        assert (summary.residents, summary.satisfied, summary.observers) == (2, 2, 1)
        assert summary.mean_scores["民情扎实"] == 4.0
        assert set(summary.mean_scores) == {
            "民情扎实",
            "诉求集中",
            "资金到位",
            "解决及时",
            "惠及面",
            "满意度",
        }


def test_needs_merge_split_rank_and_resources_match_with_contacts_for_staff_only(
    db: Database, domain: Domain, world: World
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        staff = s.get(Person, world.staff)
        assert staff is not None
        a = lists.add_need(
            s,
            domain,
            staff,
            unit_code="YX-SG-XF",
            category="elder_care",
            title="长者饭堂",
            reporters=5,
        )
        b = lists.add_need(
            s,
            domain,
            staff,
            unit_code="YX-SG-XF-01",
            category="elder_care",
            title="老人吃饭难",
            reporters=3,
            source="survey",
        )
        assert b.unit_id == a.unit_id  # a grid's needs go to its community's list
        lists.merge_needs(s, domain, staff, into=a.code, others=[b.code])
        assert (a.reporters, b.status) == (8, "merged")
        part = lists.split_need(s, domain, staff, code=a.code, title="送餐上门", reporters=2)
        assert (a.reporters, part.reporters) == (6, 2)
        lists.rank_need(s, domain, staff, code=part.code, rank=1)
        res = lists.add_resource(
            s,
            domain,
            staff,
            unit_code="YX-SG-XF",
            provider="幸福餐饮公司",
            provider_kind="company",
            what="长者午餐配送",
            capacity="每天80份",
            contact="13800001111",
        )
        lists.match(s, domain, staff, need_code=part.code, resource_code=res.code)
        with pytest.raises(InvalidInput):
            lists.match(s, domain, staff, need_code=part.code, resource_code=res.code)
        lists.add_service(
            s, domain, staff, unit_code="YX-SG-XF", title="长者饭堂", schedule="每天11:30"
        )
        other = s.get(Person, world.other_staff)
        assert other is not None
        with pytest.raises(PermissionDenied):
            lists.rank_need(s, domain, other, code=a.code, rank=2)
        uow.commit()
    with db.session() as s:
        staff_view = lists.lists_for(s, domain, "YX-SG-XF", public=False)
        public_view = lists.lists_for(s, domain, "YX-SG-XF", public=True)
        assert [n.title for n in staff_view.needs][:2] == ["送餐上门", "长者饭堂"]
        assert staff_view.needs[0].matched == ("长者午餐配送",)
        assert staff_view.resources[0].contact == "13800001111"
        assert public_view.resources[0].contact == ""
        assert [x.title for x in public_view.services] == ["长者饭堂"]
        kinds = sorted(e.kind for e in s.scalars(select(ListEvent)))
        assert kinds == sorted(
            [
                "need_added",
                "need_added",
                "need_merged",
                "need_split",
                "need_ranked",
                "resource_added",
                "matched",
                "service_added",
            ]
        )


def test_money_is_read_in_yuan_and_refused_when_it_is_not_money() -> None:
    assert projects.parse_yuan("38,000") == 3_800_000
    assert projects.parse_yuan("12.5元") == 1250
    for bad in ("abc", "-1", "1.234", "nan", "1e12"):
        with pytest.raises(InvalidInput):
            projects.parse_yuan(bad)


def test_a_resident_rates_from_telegram_and_a_stranger_is_told_no(
    db: Database, domain: Domain, world: World
) -> None:
    from tickets.statuses import Satisfaction

    with db.unit_of_work() as uow:
        s = uow.session
        project = _voting(s, domain, world)
        staff = s.get(Person, world.staff)
        assert staff is not None
        said = evaluations.rate_from_telegram(
            s,
            domain,
            project_code=project.code,
            telegram_user_id=9000,
            satisfaction=Satisfaction.SATISFIED,
        )
        assert said == "项目当前为「表决」，验收后才能评价"
        for command, args in (
            (ProjectCommand.APPROVE, Args()),
            (ProjectCommand.START, Args()),
            (ProjectCommand.ACCEPT, Args(result="完成")),
        ):
            projects.perform(s, domain, project, command, staff, args)
        notice = s.scalars(
            select(OutboxItem).where(
                OutboxItem.kind == "project_finished", OutboxItem.chat_id == 9000
            )
        ).one()
        buttons = [b["callback_data"] for b in notice.payload["reply_markup"]["inline_keyboard"][0]]
        assert buttons == [
            f"prate:{project.code}:{v}" for v in ("satisfied", "basic", "unsatisfied")
        ]
        ok = evaluations.rate_from_telegram(
            s,
            domain,
            project_code=project.code,
            telegram_user_id=9000,
            satisfaction=Satisfaction.BASIC,
        )
        assert ok.startswith("已记录您对项目") and "基本满意" in ok
        person(s, tg=4343)
        no = evaluations.rate_from_telegram(
            s,
            domain,
            project_code=project.code,
            telegram_user_id=4343,
            satisfaction=Satisfaction.SATISFIED,
        )
        assert no == "只有反映过相关诉求的居民和观察员可以评价"
        assert evaluations.evaluation_summary(s, domain, project).residents == 1
