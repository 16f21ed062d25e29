"""试一试, the web channel: pasted group messages get the grid group's decision and real ``web`` tickets;
a web resident's turn goes through the real resident dialogue (Rasa and the action server) under
``web:<person id>``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.errors import ServiceUnavailable
from bot.rasa import RasaClient
from console.tryout import (
    Button,
    bubbles,
    parse_paste,
    paste_group_messages,
    resident_turn,
)
from tests.bot.conftest import CHATTER, FakeClassifier, demand, nowhere
from tests.support.rasa import RasaStack
from tests.tickets.factories import file, person
from tickets import services
from tickets.classification import Classification
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput, PermissionDenied
from tickets.models import Person, ReviewItem, Ticket
from tickets.settings import Settings
from tickets.statuses import Role, Source
from tickets.usecases import web
from tickets.usecases.groups import Thresholds, verdict
from tickets.usecases.views import PastedMessage

GRID = "YX-SG-XF-01"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("北门垃圾堆咗三日", [PastedMessage("北门垃圾堆咗三日")]),
        ("陈姨：井盖冇咗", [PastedMessage("井盖冇咗", "陈姨")]),
        (
            "陈姨: 井盖冇咗\n\n王伯：收到",
            [PastedMessage("井盖冇咗", "陈姨"), PastedMessage("收到", "王伯")],
        ),
        ("[10:32] 陈姨：井盖冇咗", [PastedMessage("井盖冇咗", "陈姨", "10:32")]),
        ("陈姨 10:32\n井盖冇咗\n好危险", [PastedMessage("井盖冇咗\n好危险", "陈姨", "10:32")]),
        (
            "陈姨, [22.11.2026 10:32]\n井盖冇咗\n\n王伯, [22.11.2026 10:33]\n睇到",
            [
                PastedMessage("井盖冇咗", "陈姨", "22.11.2026 10:32"),
                PastedMessage("睇到", "王伯", "22.11.2026 10:33"),
            ],
        ),
        # Not speakers: a building number, a time in the words, a place the gazetteer knows.
        ("3栋：电梯坏咗", [PastedMessage("3栋：电梯坏咗")]),
        ("路灯10:30先熄咗", [PastedMessage("路灯10:30先熄咗")]),
        ("幸福花园：电梯又坏咗", [PastedMessage("幸福花园：电梯又坏咗")]),
        # The same line twice is two messages, told apart by their occurrence.
        ("早晨\n早晨", [PastedMessage("早晨"), PastedMessage("早晨", occurrence=1)]),
    ],
)
def test_pasted_chat_is_split_into_messages_with_their_speakers(
    pasted: str, expected: list[PastedMessage]
) -> None:
    assert parse_paste(pasted, is_place=lambda name: name == "幸福花园") == expected


def test_a_paste_too_long_or_with_too_many_messages_is_refused() -> None:
    with pytest.raises(InvalidInput, match="过长"):
        parse_paste("啊" * 20_001)
    with pytest.raises(InvalidInput, match="最多粘贴 200 条"):
        parse_paste("\n".join(f"第{i}条" for i in range(201)))


@pytest.fixture
def grid_member(db: Database, domain: Domain) -> int:
    with db.unit_of_work() as uow:
        p = person(uow.session, Role.GRID_MEMBER, unit=GRID, domain=domain, name="小李")
        uow.commit()
        return p.id


PASTE = "陈姨：幸福花园3栋电梯又坏咗，困住人\n王伯：有冇人觉得好嘈\n阿珍：早晨"
TABLE = {
    "幸福花园3栋电梯又坏咗，困住人": demand(
        "elevator", urgent=True, locations=["幸福花园3栋"], text="幸福花园3栋电梯又坏咗，困住人"
    ),
    "有冇人觉得好嘈": demand("noise", confidence=0.5),
}


async def test_pasted_messages_get_the_grid_groups_decision_and_file_real_web_tickets(
    db: Database, domain: Domain, grid_member: int
) -> None:
    classifier = FakeClassifier(dict(TABLE))
    settings = Settings()
    outcomes = await paste_group_messages(
        PASTE,
        grid_code=GRID,
        actor_id=grid_member,
        classifier=classifier,
        settings=settings,
        db=db,
        domain=domain,
    )
    thresholds = Thresholds(settings.group_file_threshold, settings.group_review_threshold)
    assert classifier.calls == [["幸福花园3栋电梯又坏咗，困住人", "有冇人觉得好嘈", "早晨"]]
    assert [o.decision for o in outcomes] == ["filed", "review", "dropped"]
    assert [
        verdict(Classification.from_dict(r), thresholds) for r in [*TABLE.values(), CHATTER]
    ] == [
        "file",
        "review",
        "drop",
    ]
    filed = outcomes[0]
    assert (filed.category_name, filed.urgent, filed.visible) == ("电梯", True, True)
    assert [loc["text"] for loc in filed.locations] == ["幸福花园3栋"]
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.code == filed.code
        assert (ticket.source, ticket.origin_label, ticket.reporter_id) == (
            Source.WEB,
            "陈姨",
            None,
        )
        assert ticket.chat_id == web.paste_chat_id(domain.units(s).get(GRID).id)
        assert ticket.chat_id < -(2**53)  # never a Telegram chat
        assert ticket.events[0].actor_id == grid_member
        item = s.scalars(select(ReviewItem)).one()
        assert (item.source, item.origin_label, item.text) == (Source.WEB, "王伯", "有冇人觉得好嘈")
        assert outcomes[1].review_item_id == item.id


async def test_pasting_the_same_messages_again_files_nothing_twice(
    db: Database, domain: Domain, grid_member: int
) -> None:
    async def paste(text: str) -> list[str | None]:
        outcomes = await paste_group_messages(
            text,
            grid_code=GRID,
            actor_id=grid_member,
            classifier=FakeClassifier(dict(TABLE)),
            settings=Settings(),
            db=db,
            domain=domain,
        )
        return [o.code for o in outcomes]

    first = await paste(PASTE)
    again = await paste(
        PASTE + "\n陈姨：幸福花园3栋电梯又坏咗，困住人"
    )  # and the same words once more
    assert again[:3] == first
    assert again[3] is not None and again[3] != first[0]  # said twice in the paste: two messages
    with db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 2
        assert s.scalar(select(func.count(ReviewItem.id))) == 1


async def test_only_the_pasting_persons_own_grids_may_be_chosen(
    db: Database, domain: Domain, grid_member: int
) -> None:
    with pytest.raises(PermissionDenied, match="不在您的辖区"):
        await paste_group_messages(
            "北门垃圾堆咗三日",
            grid_code="YX-SG-CH-01",
            actor_id=grid_member,
            classifier=FakeClassifier(),
            settings=Settings(),
            db=db,
            domain=domain,
        )
    with db.session() as s:
        member = s.get(Person, grid_member)
        assert member is not None
        assert [g.code for g in web.grids_of(member, domain.units(s))] == [GRID]


async def test_a_web_residents_turn_goes_through_the_dialogue_as_that_resident(
    db: Database, domain: Domain, rasa: RasaStack
) -> None:
    with db.unit_of_work() as uow:  # a web resident whose ticket was resolved
        me = Person(role=Role.RESIDENT, display_name="网页居民（chen）")
        uow.session.add(me)
        uow.session.flush()
        ticket = file(
            uow.session,
            domain,
            "幸福花园北门垃圾堆咗三日",
            "sanitation",
            reporter=me,
            source=Source.WEB,
        )
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor="staff")
        services.resolve(
            session=uow.session, domain=domain, ticket=ticket, note="已清运", actor="staff"
        )
        person_id, code = me.id, ticket.code
        uow.commit()
    client = RasaClient(rasa.url)
    try:
        [rate] = await resident_turn(
            "满意", rasa=client, person_id=person_id, name="", action_server_port=rasa.action_port
        )
        assert rate.text == f"工单 {code} 已办结，请点下面的按钮评价："
        assert rate.ticket_code == code
        # Rating buttons are answered by the Telegram bot only: shown, not pressable here.
        assert rate.buttons == (
            Button("满意", None),
            Button("基本满意", None),
            Button("不满意", None),
        )

        [question] = await resident_turn(
            "幸福花园3栋电梯又坏咗，我阿妈落唔到楼",
            rasa=client,
            person_id=person_id,
            name="网页居民（chen）",
            action_server_port=rasa.action_port,
        )
        assert question.text.startswith("您反映的是：") and "幸福花园3栋" in question.text
        assert question.buttons == (Button("对", "/affirm"), Button("不对", "/deny"))
        turn = rasa.turns(f"web:{person_id}")[-1]
        assert turn["metadata"]["web"]["chat_id"] == web.web_chat_id(person_id)
        assert turn["metadata"]["web"]["name"] == "网页居民（chen）"
    finally:
        await client.close()


async def test_a_turn_rasa_cannot_take_is_to_be_sent_again() -> None:
    client = RasaClient(nowhere())
    try:
        with pytest.raises(ServiceUnavailable, match="无法连接"):
            await resident_turn("喂", rasa=client, person_id=7, name="", action_server_port=1)
    finally:
        await client.close()


def test_a_turn_the_action_server_could_not_take_is_to_be_sent_again() -> None:
    # Rasa's answer when an action could not reach the database (actions/report.py, status.py,
    # followup.py), as its REST channel sends a custom payload.
    answered = [{"recipient_id": "web:7", "custom": {"minwei": {"retry_later": True}}}]
    with pytest.raises(ServiceUnavailable, match="稍后再发"):
        bubbles(answered)
