"""A case becomes a need and a 民微实事 project; the vote runs as a poll in the grid group through the real
bot and the loopback Bot API (answers counted once per person, strangers kept apart); approval and
acceptance reach the residents behind the case in private, with their tickets' public links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.bot.conftest import Harness, demand
from tickets.models import InboxItem, Person, ProjectPoll
from tickets.projectstatus import ProjectStatus
from tickets.statuses import Role
from tickets.usecases import evaluations, lists, projects, votes
from tickets.usecases.projects import Args, ProjectCommand

GROUP = -100300400
GRID_MEMBER, CHEN, WONG, STRANGER = 811, 812, 813, 814
SAID = {
    CHEN: "幸福花园啲健身器材全部坏晒，老人家冇得做运动",
    WONG: "幸福花园健身器材坏咗好耐都冇人修",
}


def _staff_do(bot: Harness, fn: Any, /, **kwargs: Any) -> Any:
    """What the console would do for 幸福社区's staff: one use case in one transaction."""
    with bot.db.unit_of_work() as uow:
        staff = uow.session.scalars(select(Person).where(Person.role == Role.COMMUNITY_STAFF)).one()
        result = fn(uow.session, bot.domain, staff, **kwargs)
        uow.commit()
        return result


async def test_a_project_vote_in_the_grid_group_counts_each_resident_once_and_tells_them(
    bot: Harness,
) -> None:
    bot.person(Role.GRID_MEMBER, GRID_MEMBER, unit="YX-SG-XF-01", name="小李")
    bot.person(Role.COMMUNITY_STAFF, 815, unit="YX-SG-XF", name="陈主任")
    member = bot.telegram.user(GRID_MEMBER, "网格员小李")
    chen = bot.telegram.user(CHEN, "陈姨")
    wong = bot.telegram.user(WONG, "黄伯")
    stranger = bot.telegram.user(STRANGER, "路过的人")
    chat = bot.telegram.group(GROUP, "幸福花园业主群")
    bot.telegram.message(member, "/bind YX-SG-XF-01", chat=chat)
    await bot.settle()
    for uid, text in SAID.items():
        bot.classifier.table[text] = demand("greening_space", locations=["幸福花园"], text=text)
        bot.telegram.message({"id": uid, "is_bot": False, "first_name": "x"}, text, chat=chat)
    await bot.settle()

    # Staff turn the case into a need and the need into a project, and open the vote.
    needs = _staff_do(bot, lists.needs_from_cases, unit_code="YX-SG-XF")
    assert [n.reporters for n in needs] == [2]

    def propose(session: Any, domain: Any, staff: Person) -> str:
        project = projects.propose(
            session,
            domain,
            actor=staff,
            title="幸福花园健身器材更新",
            unit_code="YX-SG-XF",
            place="幸福花园",
            estimated="38000",
            need_codes=[needs[0].code],
        )
        projects.perform(session, domain, project, ProjectCommand.DELIBERATE, staff)
        projects.perform(session, domain, project, ProjectCommand.OPEN_VOTE, staff)
        return project.code

    code = _staff_do(bot, propose)
    bot.stack.deps.outbox_ready.set()
    await bot.settle()
    polls = bot.telegram.polls(GROUP)
    assert len(polls) == 1
    poll = polls[0]
    assert poll["poll"]["is_anonymous"] is False
    assert [o["text"] for o in poll["poll"]["options"]] == ["赞成", "反对"]
    assert code in poll["poll"]["question"]
    with bot.db.session() as s:
        recorded = s.scalars(select(ProjectPoll)).one()
        # The poll's id and its options' persistent ids, by which its answers are read.
        assert recorded.poll_id == poll["poll"]["id"]
        sent = [o["persistent_id"] for o in poll["poll"]["options"]]
        assert recorded.options == {sent[0]: "for", sent[1]: "against"}

    # 陈姨 votes for, changes to against and back; 黄伯 votes against then retracts; the grid member
    # votes for; someone the community does not know votes for.
    for user, options in (
        (chen, [0]),
        (chen, [1]),
        (chen, [0]),
        (wong, [1]),
        (wong, []),
        (member, [0]),
        (stranger, [0]),
    ):
        bot.telegram.answer_poll(user, poll, options)
    await bot.settle()
    with bot.db.session() as s:
        project = projects.get_project(s, code)
        tally = votes.tally(s, bot.domain, project)
        answers = s.scalars(select(InboxItem.status).where(InboxItem.kind == "poll_answer")).all()
    assert answers == ["done"] * 7
    assert (tally.votes_for, tally.votes_against, tally.excluded) == (2, 0, 1)
    assert bot.telegram.texts(GROUP)[1:] == []  # nothing said in the group besides the poll

    def approve_and_finish(session: Any, domain: Any, staff: Person) -> None:
        project = projects.get_project(session, code)
        for command, args in (
            (ProjectCommand.APPROVE, Args(budget="36000")),
            (ProjectCommand.START, Args()),
            (ProjectCommand.UPDATE, Args(milestone="安装", text="器材已安装", spent="35000")),
            (ProjectCommand.ACCEPT, Args(result="更换了 12 件健身器材", close_tickets=True)),
        ):
            projects.perform(session, domain, project, command, staff, args)

    _staff_do(bot, approve_and_finish)
    bot.stack.deps.outbox_ready.set()
    await bot.settle()
    assert bot.telegram.polls(GROUP)[0]["poll"]["is_closed"] is True  # the vote is over
    for uid in SAID:
        approved = await bot.message(uid, "项目已立项")
        finished = await bot.message(uid, "通过验收")
        assert code in approved["text"] and "36,000" in approved["text"]
        assert "更换了 12 件健身器材" in finished["text"] and "/p/MW-" in finished["text"]
        await bot.message(uid, "请对本次办理结果进行评价")  # the ticket closed with the result
    assert bot.telegram.texts(STRANGER) == []

    # The residents who asked rate the result with the buttons under the 验收 notice.
    chen_notice = await bot.message(CHEN, "通过验收")
    bot.telegram.press(chen, chen_notice, "基本满意")
    await bot.settle()
    await bot.message(CHEN, "已记录您对项目「幸福花园健身器材更新」的评价：基本满意")
    bot.telegram.press(wong, await bot.message(WONG, "通过验收"), "不满意")
    await bot.settle()
    await bot.message(WONG, "评价：不满意")
    with bot.db.session() as s:
        project = projects.get_project(s, code)
        assert project.status is ProjectStatus.ACCEPTED
        summary = evaluations.evaluation_summary(s, bot.domain, project)
    assert (summary.residents, summary.satisfied) == (2, 1)
    assert summary.by_rating == {"满意": 0, "基本满意": 1, "不满意": 1}
