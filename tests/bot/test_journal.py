"""The send journal: deliveries written down the instant Telegram answered are recorded at the next start,
so a bot killed between sending and recording does not send them again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from bot.journal import SendJournal
from tests.tickets.factories import person
from tickets import outbox, queues
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import ChatBinding, OutboxItem, ProjectPoll
from tickets.statuses import Role
from tickets.usecases import projects, votes
from tickets.usecases.projects import ProjectCommand


def test_entries_survive_the_process_and_a_line_cut_short_is_ignored(tmp_path: Path) -> None:
    journal = SendJournal(tmp_path / "j")
    journal.open()
    journal.record(7, 1001)
    journal.record(8, None)
    journal.close()
    with (tmp_path / "j").open("a", encoding="ascii") as f:
        f.write("9 10")  # the write a crash cut short
    assert SendJournal(tmp_path / "j").entries() == {7: 1001, 8: None, 9: 10}
    (tmp_path / "j").write_text("12 x\nbroken\n", encoding="ascii")
    assert SendJournal(tmp_path / "j").entries() == {12: None}


def test_replaying_the_journal_marks_delivered_rows_sent_and_nothing_else(
    db: Database, tmp_path: Path
) -> None:
    with db.unit_of_work() as uow:
        rows = [
            outbox.enqueue(uow.session, chat_id=501 + n, text=f"第{n}条", kind="reply")
            for n in range(3)
        ]
        uow.session.flush()
        ids = [r.id for r in rows if r is not None]
        queues.claim_outbox(uow.session, limit=10)  # all three "sending" when the bot died
        uow.commit()
    journal = SendJournal(tmp_path / "j")
    journal.open()
    journal.record(ids[0], 9001)
    journal.record(ids[1], 9002)
    journal.close()
    with db.unit_of_work() as uow:
        assert queues.replay_sent(uow.session, journal.entries()) == 2
        assert queues.replay_sent(uow.session, journal.entries()) == 0  # idempotent
        uow.commit()
    with db.session() as s:
        states = {i.id: (i.status, i.telegram_message_id) for i in s.scalars(select(OutboxItem))}
    assert states == {ids[0]: ("sent", 9001), ids[1]: ("sent", 9002), ids[2]: ("sending", None)}


def test_a_poll_whose_worker_died_before_recording_it_is_counted_once_the_journal_is_read(
    db: Database, domain: Domain, tmp_path: Path
) -> None:
    """Telegram accepted the poll, the journal has its ids, the worker died before recording them: an
    answer waits (unknown poll, retried) until the journal is replayed at restart, or read by the peer
    taking the row over; then it counts, read by the option's persistent id."""
    with db.unit_of_work() as uow:
        s = uow.session
        tree = domain.units(s)
        s.add(ChatBinding(chat_id=-1001, title="幸福花园群", grid_id=tree.get("YX-SG-XF-01").id))
        staff = person(s, Role.COMMUNITY_STAFF, unit="YX-SG-XF", domain=domain)
        person(s, Role.GRID_MEMBER, tg=4242, unit="YX-SG-XF-01", domain=domain)
        project = projects.propose(
            s, domain, actor=staff, title="健身器材更新", unit_code="YX-SG-XF", estimated="1000"
        )
        projects.perform(s, domain, project, ProjectCommand.DELIBERATE, staff)
        projects.perform(s, domain, project, ProjectCommand.OPEN_VOTE, staff)
        code = project.code
        uow.commit()
    with db.unit_of_work() as uow:
        (row,) = [r for r in queues.claim_outbox(uow.session, limit=10) if r.method == "sendPoll"]
        uow.commit()
    assert row.payload["choices"] == ["for", "against"]
    journal = SendJournal(tmp_path / "bot-1.journal")
    journal.open()
    journal.record(row.id, 77, ("5000000000000000123", ("k9x-1", "m2q 2")))  # then SIGKILL
    journal.close()
    against = {
        "poll_id": "5000000000000000123",
        "telegram_user_id": 4242,
        "option_ids": [1],
        "option_persistent_ids": ["m2q 2"],
    }
    with db.unit_of_work() as uow:
        assert votes.record_poll_answer(uow.session, domain, **against).kind == "unknown_poll"
        uow.commit()

    # A peer taking the row over reads the dead worker's journal; the restarted worker replays it.
    peer = SendJournal(tmp_path / "bot-2.journal")
    assert peer.polls({row.id}) == {row.id: ("5000000000000000123", ("k9x-1", "m2q 2"))}
    assert peer.polls({row.id + 1}) == {}
    restarted = SendJournal(tmp_path / "bot-1.journal")
    with db.unit_of_work() as uow:
        assert queues.replay_sent(uow.session, restarted.entries(), restarted.polls()) == 1
        uow.commit()
    with db.unit_of_work() as uow:
        outcome = votes.record_poll_answer(uow.session, domain, **against)
        uow.commit()
    assert (outcome.kind, outcome.project_code) == ("counted", code)
    with db.session() as s:
        poll = s.scalars(select(ProjectPoll)).one()
        assert (poll.poll_id, poll.options) == (
            "5000000000000000123",
            {"k9x-1": "for", "m2q 2": "against"},
        )
        tally = votes.tally(s, domain, projects.get_project(s, code))
    assert (tally.votes_for, tally.votes_against) == (0, 1)

    # The persistent id decides, whatever the position says; an id the poll never had counts nothing.
    with db.unit_of_work() as uow:
        s = uow.session
        moved = {**against, "option_ids": [0]}
        assert votes.record_poll_answer(s, domain, **moved).kind == "counted"
        stranger = {**against, "option_persistent_ids": ["zzz"]}
        assert votes.record_poll_answer(s, domain, **stranger).reason == "option"
        # A poll sent before option ids were kept is read by position.
        s.execute(update(ProjectPoll).values(options={}))
        legacy = {**against, "option_ids": [0], "option_persistent_ids": []}
        assert votes.record_poll_answer(s, domain, **legacy).kind == "counted"
        tally = votes.tally(s, domain, projects.get_project(s, code))
        uow.commit()
    assert (tally.votes_for, tally.votes_against) == (1, 0)


def test_a_poll_line_cut_short_is_ignored(tmp_path: Path) -> None:
    journal = SendJournal(tmp_path / "j.journal")
    journal.open()
    journal.record(5, 50, ("123", ("a", "b")))
    journal.close()
    with (tmp_path / "j.journal").open("a", encoding="ascii") as f:
        f.write("6 60 eyJ")  # the poll cut short by a crash
    assert journal.entries() == {5: 50}
    assert journal.polls() == {5: ("123", ("a", "b"))}
