"""Public codes of a grid group's batch: numbered when the batch ends, gap-free, in filing order,
and the same in every text the batch wrote (tickets.codes.numbered_last)."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import event, exc, select, text
from sqlalchemy.orm import Session

from tests.conftest import STAFF_CHAT_ID
from tests.tickets.factories import classified, file, person
from tickets import codes
from tickets.classification import Classification
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import Case, ChatBinding, DueItem, OutboxItem, Ticket, TicketEvent
from tickets.statuses import Role, Source
from tickets.usecases import forwards, groups
from tickets.usecases.views import ForwardItem, GroupMessage

GROUP = -100200300
THRESHOLDS = groups.Thresholds(file=0.6, review=0.3)
CHATTER = Classification(
    is_demand=False,
    demand_confidence=0.05,
    category=None,
    category_confidence=0.0,
    ranking=[],
    urgent=False,
    locations=[],
    classifier_version="test",
)
#: (text, category, place): the third joins the first one's case, the others open cases.
SAID = [
    ("幸福花园3栋电梯又坏咗", "elevator", "幸福花园3栋"),
    ("康乐楼楼下垃圾堆咗三日", "sanitation", "康乐楼"),
    ("幸福花园3栋电梯又坏咗，成日坏", "elevator", "幸福花园3栋"),
    ("今日天气几好", None, None),
    ("东门个井盖冇咗", "road_facility", "东门"),
]


def bind(
    db: Database, domain: Domain, *, reply_in_group: bool = False, chat_id: int = GROUP
) -> None:
    with db.unit_of_work() as uow:
        grid = domain.units(uow.session).get("YX-SG-XF-01")
        uow.session.add(
            ChatBinding(chat_id=chat_id, grid_id=grid.id, reply_in_group=reply_in_group)
        )
        uow.commit()


def batch(
    session: Session, domain: Domain, said: list[tuple[str, str | None, str | None]], first: int = 1
) -> list[str | None]:
    """Record ``said`` as one group batch (message ids from ``first``); the outcomes' codes."""
    messages = [
        GroupMessage(first + i, GROUP, first + i, 7000 + first + i, f"街坊{first + i}", None, t)
        for i, (t, _, _) in enumerate(said)
    ]
    results = [
        classified(c, locations=[p] if p else None, text=t) if c else CHATTER for t, c, p in said
    ]
    outcomes = groups.record_group_messages(
        session, domain, messages, results, thresholds=THRESHOLDS
    )
    return [o.code for o in outcomes]


def placeholders_left(session: Session) -> list[str]:
    """Every stored value that still looks like a placeholder code (there must be none)."""
    found: list[str] = []
    for label, column in [
        ("ticket", Ticket.code),
        ("case", Case.code),
        ("event", TicketEvent.data),
        ("outbox", OutboxItem.payload),
        ("outbox key", OutboxItem.dedupe_key),
        ("due", DueItem.data),
        ("due key", DueItem.key),
    ]:
        for value in session.scalars(select(column)):
            if value is not None and codes.PLACEHOLDER.search(str(value)):
                found.append(f"{label}: {value}")
    return found


def test_a_batch_numbers_its_tickets_and_cases_gap_free_in_filing_order(
    db: Database, domain: Domain
) -> None:
    bind(db, domain)
    with db.unit_of_work() as uow:
        filed = file(uow.session, domain, "北门个沙井盖烂咗", "road_facility", locations=["北门"])
        uow.commit()
    assert filed.code == "MW-20261123-0001"
    with db.unit_of_work() as uow:
        outcome_codes = batch(uow.session, domain, SAID)
        uow.commit()
    assert outcome_codes == [
        "MW-20261123-0002",
        "MW-20261123-0003",
        "MW-20261123-0004",
        None,
        "MW-20261123-0005",
    ]
    with db.session() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        assert [t.code for t in tickets] == [f"MW-20261123-000{n}" for n in range(1, 6)]
        assert tickets[1].case_id == tickets[3].case_id  # the same lift joined one case
        cases = list(session.scalars(select(Case.code).order_by(Case.id)))
        assert cases == [f"CS-20261123-000{n}" for n in range(1, len(cases) + 1)]
        assert len(cases) == 4
        assert placeholders_left(session) == []


def test_the_staff_cards_and_audit_events_carry_the_final_codes(
    db: Database, domain: Domain
) -> None:
    bind(db, domain)
    with db.unit_of_work() as uow:
        batch(uow.session, domain, SAID[:3])
        uow.commit()
    with db.session() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        cards = list(
            session.scalars(
                select(OutboxItem)
                .where(OutboxItem.chat_id == STAFF_CHAT_ID)
                .order_by(OutboxItem.id)
            )
        )
        assert len(cards) == 3
        for ticket, card in zip(tickets, cards, strict=True):
            assert card.ticket_id == ticket.id
            assert ticket.code in card.payload["text"]
            buttons = [b for row in card.payload["reply_markup"]["inline_keyboard"] for b in row]
            assert buttons and all(b["callback_data"].endswith(ticket.code) for b in buttons)
            assert card.dedupe_key == f"{ticket.code}:staff_card"
            (filed,) = ticket.events
            assert filed.data["case"] == ticket.case.code
        assert placeholders_left(session) == []


def test_a_group_with_replies_on_hears_the_final_code_with_a_valid_link(
    db: Database, domain: Domain
) -> None:
    bind(db, domain, reply_in_group=True)
    with db.unit_of_work() as uow:
        outcome_codes = batch(uow.session, domain, SAID[:2])
        uow.commit()
    with db.session() as session:
        lines = list(session.scalars(select(OutboxItem).where(OutboxItem.chat_id == GROUP))) + list(
            session.scalars(select(DueItem).where(DueItem.chat_id == GROUP))
        )
        texts = [
            item.payload["text"] if isinstance(item, OutboxItem) else item.data["line"]
            for item in lines
        ]
        assert outcome_codes == ["MW-20261123-0001", "MW-20261123-0002"]
        for code in outcome_codes:
            assert code is not None
            told = [t for t in texts if code in t]
            assert told
            for line in told:
                link = urlparse(line.split(f"{code}（", 1)[1].split("进度：", 1)[1].split()[0])
                assert link.path == f"/p/{code}"
                assert domain.links.check(code, parse_qs(link.query)["k"][0])
        assert placeholders_left(session) == []


def test_a_rolled_back_batch_burns_no_number(db: Database, domain: Domain) -> None:
    bind(db, domain)
    with db.unit_of_work() as uow:
        assert batch(uow.session, domain, SAID[:2]) == ["MW-20261123-0001", "MW-20261123-0002"]
        # not committed
    with db.unit_of_work() as uow:
        assert batch(uow.session, domain, SAID[:1], first=10) == ["MW-20261123-0001"]
        uow.commit()


def test_a_message_whose_filing_fails_in_the_batch_burns_no_number(
    db: Database, domain: Domain
) -> None:
    """Its savepoint is rolled back with its placeholder: the next message takes the next number."""
    bind(db, domain)

    def fail_the_rubbish(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(o, Ticket) and "垃圾" in o.original_text for o in session.new):
            raise exc.DataError("INSERT INTO tickets", {}, ValueError("refused by the test"))

    with db.unit_of_work() as uow:
        event.listen(uow.session, "before_flush", fail_the_rubbish)
        outcome_codes = batch(uow.session, domain, SAID)
        uow.commit()
    assert outcome_codes == [
        "MW-20261123-0001",
        None,  # set aside for review
        "MW-20261123-0002",
        None,
        "MW-20261123-0003",
    ]
    with db.session() as session:
        assert list(session.scalars(select(Ticket.code).order_by(Ticket.id))) == [
            "MW-20261123-0001",
            "MW-20261123-0002",
            "MW-20261123-0003",
        ]
        assert list(session.scalars(select(Case.code).order_by(Case.id))) == [
            "CS-20261123-0001",
            "CS-20261123-0002",
        ]


def test_a_batch_takes_each_counter_once_ticket_first_then_case(
    db: Database, domain: Domain
) -> None:
    """One counter statement per scope for the whole batch, at its end, in the lock order."""
    bind(db, domain)
    taken: list[tuple[str, int]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "counters" in statement:
            values = list(parameters.values() if isinstance(parameters, dict) else parameters)
            scope = next(v for v in values if v in ("ticket", "case"))
            taken.append((scope, next(v for v in values if isinstance(v, int))))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.unit_of_work() as uow:
            batch(uow.session, domain, SAID)
            uow.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert taken == [("ticket", 4), ("case", 3)]


def test_a_failed_batch_cannot_commit_its_placeholders(db: Database, domain: Domain) -> None:
    bind(db, domain)
    with db.unit_of_work() as uow:
        with pytest.raises(LookupError), codes.numbered_last(uow.session):
            file(uow.session, domain, "北门个沙井盖烂咗", "road_facility", locations=["北门"])
            raise LookupError("the batch failed after filing")
        with pytest.raises(codes.UnnumberedCodes):
            uow.commit()


@pytest.mark.postgres
def test_two_concurrent_batches_get_disjoint_contiguous_numbers_without_deadlock(
    db: Database, domain: Domain
) -> None:
    """Both batches file at the same time (a barrier holds each at its counter statement until the
    other has filed everything); each gets a contiguous run of numbers, and no number is lost."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    bind(db, domain)
    with db.unit_of_work() as uow:  # both batches' lift reports join this case
        lift = file(uow.session, domain, SAID[0][0], "elevator", locations=[SAID[0][2]])
        lift_case = lift.case.code
        uow.commit()
    arrived = threading.Barrier(2, timeout=30)
    local = threading.local()

    def hold(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "counters" in statement and not getattr(local, "passed", False):
            local.passed = True
            arrived.wait()

    results: dict[int, list[str | None]] = {}
    errors: list[BaseException] = []

    def run(first: int) -> None:
        try:
            with db.unit_of_work() as uow:
                results[first] = batch(uow.session, domain, SAID, first=first)
                uow.commit()
        except BaseException as e:  # reported below
            errors.append(e)

    event.listen(db.engine, "before_cursor_execute", hold)
    try:
        threads = [threading.Thread(target=run, args=(first,)) for first in (1, 100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        event.remove(db.engine, "before_cursor_execute", hold)
    assert errors == []
    numbers = {
        first: [int(c.rsplit("-", 1)[1]) for c in got if c is not None]
        for first, got in results.items()
    }
    for run_numbers in numbers.values():
        assert run_numbers == list(range(run_numbers[0], run_numbers[0] + 4))
    assert sorted(numbers[1] + numbers[100]) == list(range(2, 10))
    with db.session() as session:
        assert (
            session.scalar(
                text("SELECT value FROM counters WHERE scope = 'ticket' AND day = '20261123'")
            )
            == 9
        )
        case_codes = sorted(session.scalars(select(Case.code)))
        assert case_codes == [f"CS-20261123-000{n}" for n in range(1, 6)]
        assert session.scalar(select(Case.report_count).where(Case.code == lift_case)) == 5
        assert placeholders_left(session) == []


def test_single_filings_still_take_their_number_at_once(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        ticket = file(uow.session, domain, "北门个沙井盖烂咗", "road_facility", locations=["北门"])
        assert ticket.code == "MW-20261123-0001"  # before commit: the resident's reply needs it
        uow.commit()


def test_a_grid_members_forward_burst_is_numbered_when_it_ends_with_the_final_codes(
    db: Database, domain: Domain
) -> None:
    """As a group batch: placeholders while filing, one counter statement per scope at the end."""
    said = [SAID[0], SAID[1]]
    with db.unit_of_work() as uow:
        person(uow.session, Role.GRID_MEMBER, tg=7100, unit="YX-SG-XF-01", domain=domain)
        filed = file(uow.session, domain, "北门个沙井盖烂咗", "road_facility", locations=["北门"])
        uow.commit()
    demands = [
        forwards.ForwardDemand(
            (ForwardItem(500 + i, 7100, 900 + i, t, "user", 7200 + i, f"街坊{i}", None, None),)
        )
        for i, (t, _, _) in enumerate(said)
    ]
    taken: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "counters" in statement:
            values = list(parameters.values() if isinstance(parameters, dict) else parameters)
            taken.append(next(v for v in values if v in ("ticket", "case")))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        with db.unit_of_work() as uow:
            result = forwards.file_burst(
                uow.session,
                domain,
                forwarder_telegram_id=7100,
                demands=demands,
                results=[classified(c, locations=[p], text=t) for t, c, p in said],
                review_threshold=0.3,
            )
            uow.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert taken == ["ticket", "case"]
    assert filed.code == "MW-20261123-0001"
    assert [f.code for f in result.filed] == ["MW-20261123-0002", "MW-20261123-0003"]
    with db.session() as session:
        stored = session.scalars(select(Ticket.code).where(Ticket.source == Source.FORWARD))
        assert sorted(stored) == ["MW-20261123-0002", "MW-20261123-0003"]
        assert placeholders_left(session) == []
