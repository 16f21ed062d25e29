"""个案到类案: repeated demands about the same thing in the same place join one case."""

from __future__ import annotations

import pytest

from tests.conftest import Clock
from tests.tickets.factories import file
from tickets.clustering import buildings, similarity
from tickets.db import Database
from tickets.domain import Domain


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("幸福花园3栋电梯又坏咗，我阿妈落唔到楼", "3栋部电梯今日又停咗，老人家上落好辛苦"),
        ("幸福花园3栋电梯又坏咗", "幸福花园3栋电梯坏了三天没人修"),
        ("东门口井盖冇咗好危险", "东门口个井盖唔见咗，小朋友好容易跌落去"),
        ("石岗路嗰盏路灯成个礼拜唔着", "石岗路路灯坏咗好耐冇人整"),
        ("路灯唔着", "路灯坏了"),
    ],
)
def test_the_same_problem_in_other_words_is_similar(first: str, second: str) -> None:
    assert similarity(first, second) >= 0.30


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("3栋电梯又坏咗", "5栋电梯又坏咗"),  # another building
        ("楼下广场舞好嘈，晚晚跳到十点", "装修噪音从早上七点开始"),  # another noise source
        ("三栋电梯困人", "十二座电梯困人"),
    ],
)
def test_different_problems_are_not_similar(first: str, second: str) -> None:
    assert similarity(first, second) < 0.30


def test_building_numbers_are_read_in_digits_and_chinese() -> None:
    assert buildings("3栋同十二座，仲有廿") == {3, 12}
    assert buildings("二十一号楼") == {21}


def test_a_repeat_report_joins_the_open_case_and_counts(
    db: Database, domain: Domain, clock: Clock
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        a = file(
            s,
            domain,
            "幸福花园3栋电梯又坏咗，我阿妈落唔到楼",
            "elevator",
            locations=["幸福花园3栋"],
        )
        clock.advance(days=2)
        b = file(
            s,
            domain,
            "幸福花园3栋部电梯今日又停咗，老人家上落好辛苦",
            "elevator",
            locations=["幸福花园3栋"],
        )
        uow.commit()
        assert a.case_id == b.case_id
        assert a.case is not None and a.case.report_count == 2
        assert b.events[0].data["similarity"] >= 0.30


@pytest.mark.parametrize(
    ("second", "category", "place", "days_later"),
    [
        ("幸福花园5栋电梯又坏咗，我阿妈落唔到楼", "elevator", "幸福花园5栋", 1),  # other building
        ("幸福花园3栋门口有车乱停", "parking", "幸福花园3栋", 1),  # other category
        ("大岭村市场3栋电梯又坏咗，我阿妈落唔到楼", "elevator", "大岭村市场", 1),  # other community
        (
            "幸福花园3栋电梯又坏咗，我阿妈落唔到楼呀",
            "elevator",
            "幸福花园3栋",
            30,
        ),  # outside the window
    ],
    ids=["other building", "other category", "other community", "after the window"],
)
def test_a_report_that_differs_opens_a_new_case(
    db: Database,
    domain: Domain,
    clock: Clock,
    second: str,
    category: str,
    place: str,
    days_later: int,
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        a = file(
            s,
            domain,
            "幸福花园3栋电梯又坏咗，我阿妈落唔到楼",
            "elevator",
            locations=["幸福花园3栋"],
        )
        clock.advance(days=days_later)
        b = file(s, domain, second, category, locations=[place])
        uow.commit()
        assert a.case_id != b.case_id
        assert b.case is not None and b.case.report_count == 1


def test_the_threshold_is_configuration(db: Database, domain: Domain, clock: Clock) -> None:
    from dataclasses import replace

    strict = replace(domain, settings=replace(domain.settings, cluster_threshold=0.99))
    with db.unit_of_work() as uow:
        s = uow.session
        a = file(s, strict, "东门口井盖冇咗好危险", "road_facility")
        b = file(s, strict, "东门口个井盖唔见咗，小朋友好容易跌落去", "road_facility")
        assert a.case_id != b.case_id
