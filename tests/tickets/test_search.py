"""Full-text search over Chinese ticket text finds substrings through character bigrams on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, true

from tests.tickets.factories import file
from tickets import queries, search
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.models import Ticket

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("电梯坏了", "电梯 梯坏 坏了 了"),
        (
            "幸福花园３栋，电梯！",
            "幸福 福花 花园 园3 3栋 栋 电梯 梯",
        ),  # full-width digits, punctuation splits
        ("ABC路灯", "ab bc c路 路灯 灯"),
        ("水", "水"),
        ("🙏🙏", ""),
    ],
)
def test_search_text_is_character_bigrams_of_each_run(text: str, tokens: str) -> None:
    assert search.search_text(text) == tokens


def test_a_query_becomes_phrases_of_bigrams_and_single_character_prefixes() -> None:
    q = search.parse("电梯坏 水")
    assert q.phrases == (("电梯", "梯坏"),)
    assert q.prefixes == ("水",)
    assert search.fts5_expression(q) == '"电梯 梯坏" AND "水" *'
    assert search.tsquery(q) == "'电梯' & '梯坏' & '水':*"


def test_an_oversized_query_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidInput, match="搜索内容过长"):
        search.parse("电" * 101)


TEXTS = [
    ("幸福花园12栋电梯坏咗三日，冇人理", "elevator"),
    ("东风路路灯唔着，电话13812345678", "road_facility"),
    ("康乐楼楼下垃圾堆成山，好臭", "sanitation"),
    ("翠湖花园2栋漏水，楼上水浸", "dispute"),
]


def found(db: Database, domain: Domain, query: str) -> list[str]:
    with db.session() as session:
        where = queries.conditions(
            queries.TicketFilter(q=query),
            scope=true(),
            tree=domain.units(session),
            dialect=db.dialect,
            now=datetime.now(UTC),
            tz=TZ,
        )
        stmt = select(Ticket.original_text).where(*where).order_by(Ticket.id)
        return [t[:4] for t in session.scalars(stmt)]


@pytest.fixture
def filed(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        for text, category in TEXTS:
            file(uow.session, domain, text, category)
        uow.commit()


@pytest.mark.usefixtures("filed")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("电梯", ["幸福花园"]),
        ("电梯坏", ["幸福花园"]),
        ("梯坏咗", ["幸福花园"]),
        ("坏咗 冇人", ["幸福花园"]),  # every run must be found
        ("12栋", ["幸福花园"]),
        ("2栋", ["幸福花园", "翠湖花园"]),
        ("花园", ["幸福花园", "翠湖花园"]),
        (
            "水",
            ["翠湖花园"],
        ),  # one character: a prefix of the bigrams (and the run's last character)
        ("臭", ["康乐楼楼"]),  # the last character of a run
        ("花园电梯", []),  # not a substring
        ("幸福电梯", []),
        ("13812345678", []),  # phone numbers are redacted before indexing
        ("'; DROP TABLE tickets; --", []),
        ('" OR * NEAR(', []),
        ("%_\\", []),
    ],
)
def test_search_finds_tickets_containing_the_query(
    db: Database, domain: Domain, query: str, expected: list[str]
) -> None:
    assert found(db, domain, query) == expected


@pytest.mark.usefixtures("filed")
def test_sql_looking_searches_leave_the_tickets_alone(db: Database, domain: Domain) -> None:
    found(db, domain, "'); DELETE FROM tickets; --")
    with db.session() as session:
        assert session.scalar(select(func.count(Ticket.id))) == len(TEXTS)
