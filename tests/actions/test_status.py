"""Status questions answer from the speaker's own tickets: a Telegram resident's or a web resident's."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.deps import ActionDeps
from actions.status import ActionTicketStatus
from tests.actions.conftest import tracker
from tests.tickets.factories import file, person
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Person
from tickets.statuses import Role, Source


def answer(dispatcher: CollectingDispatcher) -> str:
    [message] = dispatcher.messages
    custom = (message.get("custom") or {}).get("minwei") or {}
    return str(message.get("text") or custom.get("text") or message.get("response"))


async def test_a_web_resident_hears_about_their_own_tickets_only(
    deps: ActionDeps, rasa_domain: dict[str, Any], db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        on_telegram = person(s, tg=501, name="陈姨")
        on_web = Person(role=Role.RESIDENT, display_name="网页居民（chen）")
        s.add(on_web)
        s.flush()
        theirs = file(s, domain, "东风路路灯唔着", "road_facility", reporter=on_telegram).code
        mine = file(
            s, domain, "幸福路路灯成个礼拜唔着", "road_facility", reporter=on_web, source=Source.WEB
        ).code
        web_sender = f"web:{on_web.id}"
        uow.commit()

    async def ask(question: str, sender: str) -> str:
        dispatcher = CollectingDispatcher()
        await ActionTicketStatus(deps).run(
            dispatcher, tracker(question, "ask_status", metadata={}, sender=sender), rasa_domain
        )
        return answer(dispatcher)

    reply = await ask("我上周报的路灯修了没有", web_sender)
    assert mine in reply and theirs not in reply
    assert theirs in await ask("我上周报的路灯修了没有", "tg:501")
    assert f"没有找到工单 {theirs}" in await ask(f"{theirs} 点样了", web_sender)
