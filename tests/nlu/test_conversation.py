"""A report told over several turns: each turn's role, and the report decided over all of them."""

from __future__ import annotations

from typing import Any

import pytest

from nlu.conversation import (
    NonAnswer,
    Role,
    Turn,
    Verdict,
    asks_about_earlier,
    means_cancel,
    non_answer,
    read_turn,
    starts_new_report,
    story_text,
    verdict,
)
from nlu.place_text import PlaceWords


def said(
    text: str,
    category: str | None = None,
    *,
    demand: float = 0.9,
    p: float = 0.8,
    urgent: bool = False,
    places: tuple[str, ...] = (),
    runner_up: str = "other",
) -> dict[str, Any]:
    """The NLU's result for ``text`` as the pipeline gives it."""
    return {
        "demand_confidence": demand,
        "category": category if demand >= 0.5 else None,
        "ranking": [[category, p], [runner_up, round(1 - p, 4)]] if category else [],
        "urgent": urgent,
        "locations": [
            {"text": x, "start": text.find(x), "end": text.find(x) + len(x)} for x in places
        ],
    }


@pytest.fixture(scope="module")
def words() -> PlaceWords:
    return PlaceWords.load()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("刚才已经讲了呀", NonAnswer.ALREADY_SAID),
        ("头先讲咗啦", NonAnswer.ALREADY_SAID),
        ("上面有写", NonAnswer.ALREADY_SAID),
        ("唔知", NonAnswer.UNKNOWN),
        ("我都不清楚", NonAnswer.UNKNOWN),
        ("说不清", NonAnswer.UNKNOWN),
        ("就系屋企", NonAnswer.HOME),
        ("在家里", NonAnswer.HOME),
        ("你哋自己查啦", NonAnswer.REFUSED),
        ("幸福花园5栋", None),
        ("东门那边", None),
    ],
)
def test_answers_to_where_that_are_not_places_are_recognised(
    text: str, kind: NonAnswer | None
) -> None:
    assert non_answer(text) == kind


@pytest.mark.parametrize(
    ("text", "nlu", "role"),
    [
        ("石岗村7号", said("石岗村7号", demand=0.03, places=("石岗村7号",)), Role.PLACE),
        (
            "在5栋，一楼",
            said("在5栋，一楼", "public_safety", demand=0.6, places=("5栋", "一楼")),
            Role.PLACE,
        ),
        (
            "在5栋，水已经浸到客厅了",
            said("在5栋，水已经浸到客厅了", "drainage", places=("5栋",)),
            Role.STORY,
        ),
        (
            "不好意思，应该是6栋",
            said("不好意思，应该是6栋", demand=0.0, places=("6栋",)),
            Role.CORRECTION,
        ),
        (
            "其实不是漏水，是水压太低",
            said("其实不是漏水，是水压太低", "utilities"),
            Role.CORRECTION,
        ),
        ("刚才讲咗啦", said("刚才讲咗啦", demand=0.0), Role.NON_ANSWER),
        ("冇事了，虚惊一场", said("冇事了，虚惊一场", demand=0.1), Role.RETRACTION),
        ("好", said("好", demand=0.0), Role.ACK),
        ("/affirm", said("/affirm", demand=0.0), Role.ACK),
        ("佢而家好痛", said("佢而家好痛", demand=0.01), Role.STORY),
    ],
)
def test_each_turn_has_a_role_in_the_report(text: str, nlu: dict[str, Any], role: Role) -> None:
    assert read_turn(text, nlu).role is role


def test_a_place_the_extractor_does_not_know_is_a_place_only_when_answering_where(
    words: PlaceWords,
) -> None:
    nlu = said("沙湾镇", demand=0.07)
    assert read_turn("沙湾镇", nlu, words=words, asked_where=True).places == ("沙湾镇",)
    long = "对面楼有一户窗口一直在冒黑烟"
    assert read_turn(long, said(long, "public_safety"), words=words).role is Role.STORY


def test_a_turn_that_only_gives_a_place_never_overrides_a_clear_category() -> None:
    turns = [
        read_turn("我妈跌倒了起不来", said("我妈跌倒了起不来", "elder_care", urgent=True)),
        read_turn(
            "锦绣花园9栋，一楼",
            said("锦绣花园9栋，一楼", "public_safety", demand=0.58, places=("锦绣花园9栋", "一楼")),
        ),
    ]
    decided = verdict(turns)
    assert (decided.category, decided.urgent) == ("elder_care", True)


def test_a_late_clue_decides_the_category_of_a_vague_start() -> None:
    turns = [
        read_turn(
            "屋企有啲问题", said("屋企有啲问题", "other", demand=0.4, p=0.3, runner_up="utilities")
        ),
        read_turn(
            "个煤气喉好似漏气", said("个煤气喉好似漏气", "public_safety", p=0.9, urgent=True)
        ),
    ]
    decided = verdict(turns)
    assert (decided.category, decided.urgent) == ("public_safety", True)


def test_the_whole_story_read_together_outweighs_the_turns_read_alone() -> None:
    turns = [
        read_turn(
            "厨房个煤气管有点问题", said("厨房个煤气管有点问题", "utilities", demand=0.34, p=0.5)
        ),
        read_turn(
            "整个屋都是臭鸡蛋味", said("整个屋都是臭鸡蛋味", "sanitation", demand=0.61, p=0.6)
        ),
    ]
    story = said(story_text(turns), "public_safety", p=0.6, urgent=True)
    decided = verdict(turns, story)
    assert (decided.category, decided.urgent) == ("public_safety", True)
    assert story_text(turns) == "厨房个煤气管有点问题。整个屋都是臭鸡蛋味"


def test_a_turn_that_changes_the_story_outweighs_what_came_before() -> None:
    turns = [
        read_turn("我家厨房漏水", said("我家厨房漏水", "drainage", p=0.9)),
        read_turn("水管一直滴", said("水管一直滴", "drainage", p=0.9)),
        read_turn("其实不是漏水，是水压太低", said("其实不是漏水，是水压太低", "utilities", p=0.9)),
    ]
    assert verdict(turns).category == "utilities"
    assert story_text(turns) == "其实不是漏水，是水压太低"


def test_urgency_is_sticky_until_the_resident_retracts_it() -> None:
    urgent = read_turn("好大煤气味", said("好大煤气味", "public_safety", urgent=True))
    calm = read_turn("窗已经开了", said("窗已经开了", "public_safety", demand=0.3))
    assert verdict([urgent, calm]).urgent
    retracted = read_turn("冇事了，系隔篱煲糖水", said("冇事了，系隔篱煲糖水", demand=0.1))
    assert not verdict([urgent, calm, retracted]).urgent


def story(category: str, p: float = 0.9) -> Verdict:
    return Verdict(category, p, False, ((category, p), ("other", 1 - p)))


@pytest.mark.parametrize(
    ("turn", "report", "strict", "new"),
    [
        (
            Turn("另外，门口盏路灯又坏咗", Role.STORY, 0.9, "road_facility"),
            story("elevator"),
            False,
            True,
        ),
        (
            Turn("三楼天台有人烧垃圾", Role.STORY, 0.95, "sanitation", (("sanitation", 0.9),)),
            story("elevator"),
            False,
            True,
        ),
        (  # more about the same emergency that sounds like another category
            Turn("电话得一格信号", Role.STORY, 0.9, "utilities", (("utilities", 0.8),)),
            story("elevator"),
            True,
            False,
        ),
        (Turn("5栋", Role.PLACE, 0.1), story("elevator"), False, False),
        (  # an urgent turn after an urgent report, its place already given: the same emergency
            Turn(
                "C座，好似停咗喺两层中间",
                Role.STORY,
                0.95,
                "public_safety",
                (("public_safety", 0.9),),
                urgent=True,
                places=("C座",),
            ),
            Verdict("elevator", 0.9, True, (("elevator", 0.9), ("other", 0.1))),
            False,
            False,
        ),
        (  # … unless the resident says it is another one
            Turn("另外，隔篱屋都有煤气味", Role.STORY, 0.95, "public_safety", urgent=True),
            Verdict("elevator", 0.9, True, (("elevator", 0.9), ("other", 0.1))),
            False,
            True,
        ),
        (
            Turn("佢而家好痛", Role.STORY, 0.9, "health", (("health", 0.7),)),
            Verdict("elder_care", 0.6, True, (("elder_care", 0.6), ("health", 0.3))),
            False,
            False,
        ),
    ],
)
def test_after_a_filing_only_a_clearly_new_problem_starts_a_new_report(
    turn: Turn, report: Verdict, strict: bool, new: bool
) -> None:
    assert starts_new_report(turn, report, strict=strict) is new


@pytest.mark.parametrize(
    ("text", "earlier"),
    [
        ("我上周报的路灯修了没有", True),
        ("之前反映的漏水怎么样了", True),
        ("MW-20261201-0003 进度如何", True),
        ("我报咗三日都冇人理", True),
        ("我要投诉物业公司", False),
        ("想反映下楼下大排档好嘈", False),
    ],
)
def test_a_status_question_refers_to_an_earlier_report(text: str, earlier: bool) -> None:
    assert asks_about_earlier(text) is earlier


@pytest.mark.parametrize(
    ("text", "cancel"),
    [
        ("/cancel", True),
        ("算了，不报了", True),
        ("取消", True),
        ("刚才说了呀", False),
        ("唉", False),
    ],
)
def test_only_words_that_mean_it_cancel_a_report(text: str, cancel: bool) -> None:
    assert means_cancel(text) is cancel


def test_a_turn_survives_the_slot_it_is_kept_in() -> None:
    turn = Turn("石岗村7号", Role.PLACE, 0.03, None, (), False, ("石岗村7号",))
    assert Turn.from_dict(turn.as_dict()) == turn
