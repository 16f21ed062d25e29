"""The send journal: deliveries written down the instant Telegram answered are recorded at the next start,
so a bot killed between sending and recording does not send them again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.journal import SendJournal
from tickets import outbox, queues
from tickets.db import Database
from tickets.models import OutboxItem


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
