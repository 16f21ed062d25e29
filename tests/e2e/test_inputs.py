"""Arbitrary text through the real bot, NLU, Rasa and action server: in a bound grid group, in private
chat and as forwards from a grid member. Every update ends done (nothing lost or left failed), every
private message is answered, the group hears nothing, and no process logs an error."""

from __future__ import annotations

import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.e2e.conftest import Stack
from tickets.models import ChatBinding, InboxItem, OutboxItem, Person
from tickets.statuses import Role

GROUP = -100888001
GRID = "YX-SG-CH-01"
RESIDENT, MEMBER, NEIGHBOUR = 41_001, 41_002, 41_003
#: Any code point (lone surrogates and controls too), sometimes long, sometimes only emoji or spaces.
TEXT = st.one_of(
    st.text(
        st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), min_size=1, max_size=80
    ),
    st.text(
        st.sampled_from("电梯坏咗漏水路灯幸福花园3栋\u200b\u200d\x00 \n😂👍"),
        min_size=1,
        max_size=60,
    ),
    st.text(min_size=4_000, max_size=4_200),
)


def settle(e2e: Stack, first_update: int, timeout: float = 120.0) -> list[Any]:
    """The inbox rows of the updates pushed since ``first_update``, once every one is finished and
    every message the bot queued has been sent."""
    deadline = time.monotonic() + timeout
    while True:
        with e2e.db.session() as s:
            rows = s.execute(
                select(InboxItem.update_id, InboxItem.status, InboxItem.error).where(
                    InboxItem.update_id >= first_update
                )
            ).all()
            unsent = s.scalar(
                select(func.count(OutboxItem.id)).where(
                    OutboxItem.status.in_(("pending", "sending"))
                )
            )
        pushed = [u for u in e2e.telegram.pushed_at if u >= first_update]
        finished = all(r.status in ("done", "failed") for r in rows)
        if len(rows) >= len(pushed) and finished and unsent == 0:
            return rows
        assert time.monotonic() < deadline, [
            (r.update_id, r.status, r.error) for r in rows if r.status != "done"
        ]
        time.sleep(0.3)


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(texts=st.lists(TEXT, min_size=24, max_size=24))
def test_any_text_anywhere_is_handled_and_nothing_is_lost(e2e: Stack, texts: list[str]) -> None:
    telegram = e2e.telegram
    group = telegram.group(GROUP, "翠湖花园业主群")
    resident = telegram.user(RESIDENT, "陈姨")
    member = telegram.user(MEMBER, "网格员小周")
    neighbour = telegram.user(NEIGHBOUR, "黄伯")
    with e2e.db.unit_of_work() as uow:
        tree = e2e.domain().units(uow.session)
        if uow.session.get(ChatBinding, GROUP) is None and not uow.session.scalar(
            select(ChatBinding.id).where(ChatBinding.chat_id == GROUP)
        ):
            uow.session.add(
                ChatBinding(chat_id=GROUP, title="翠湖花园业主群", grid_id=tree.get(GRID).id)
            )
        if not uow.session.scalar(select(Person.id).where(Person.telegram_user_id == MEMBER)):
            uow.session.add(
                Person(
                    role=Role.GRID_MEMBER,
                    telegram_user_id=MEMBER,
                    unit_id=tree.get(GRID).id,
                    display_name="小周",
                )
            )
        uow.commit()
    e2e.bot.stop()
    e2e.start_bot()
    first = max(telegram.pushed_at, default=0) + 1
    group_sent_before = len(telegram.sent(GROUP))
    private_sent_before = len(telegram.sent(RESIDENT))
    for text in texts:
        telegram.message(neighbour, text, chat=group)
        telegram.message(resident, text)
        telegram.forward(member, text, neighbour)
    rows = settle(e2e, first)
    assert [(r.update_id, r.error) for r in rows if r.status != "done"] == []
    assert len(telegram.sent(GROUP)) == group_sent_before  # the group is not spammed
    assert len(telegram.sent(RESIDENT)) - private_sent_before >= len(
        texts
    )  # every message answered
