"""Places as residents type them when asked where: a place is told from words that are not one, found in
earlier turns, and each new piece fits into the place known so far."""

from __future__ import annotations

import pytest

from nlu.place_text import PlaceWords, join_spans, merge_place, pieces


@pytest.fixture(scope="module")
def words() -> PlaceWords:
    return PlaceWords.load()


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        ("锦绣花园9栋", "一楼", "锦绣花园9栋一楼"),  # a floor after the building
        ("锦绣花园9栋", "102房", "锦绣花园9栋102房"),
        ("5栋", "幸福花园", "幸福花园5栋"),  # the estate named after the building
        ("幸福花园", "5栋", "幸福花园5栋"),
        ("幸福花园5栋2单元", "6栋", "幸福花园6栋"),  # a corrected building drops its old unit
        ("龙腾豪庭A座", "B座", "龙腾豪庭B座"),
        ("幸福花园东门", "南门", "幸福花园南门"),
        ("沙湾镇", "三善村5号", "沙湾镇三善村5号"),  # a village inside the town
        ("番禺区", "钟村街道", "番禺区钟村街道"),
        ("大石植村", "三巷12号", "大石植村三巷12号"),  # lane and house number are different pieces
        ("石岗村7号", "8号", "石岗村8号"),
        ("锦绣花园9栋", "海珠区南华名苑3栋", "海珠区南华名苑3栋"),  # another place altogether
        (None, "幸福花园", "幸福花园"),
        ("幸福花园5栋", "幸福花园5栋", "幸福花园5栋"),
    ],
)
def test_a_new_piece_fits_into_the_place_known_so_far(
    current: str | None, new: str, expected: str
) -> None:
    assert merge_place(current, new) == expected


def test_a_place_the_resident_said_was_wrong_is_replaced_not_joined() -> None:
    assert merge_place("幸福花园", "康乐苑", replacing=True) == "康乐苑"


def test_pieces_of_a_full_chain_have_levels_from_coarse_to_fine() -> None:
    found = pieces("番禺区南村镇坑头村碧桂园12栋2单元1502房")
    assert [p.text for p in found] == [
        "番禺区",
        "南村镇",
        "坑头村",
        "碧桂园",
        "12栋",
        "2单元",
        "1502房",
    ]
    assert [p.level for p in found] == sorted(p.level for p in found)


@pytest.mark.parametrize(
    ("answer", "place"),
    [
        ("沙湾镇", "沙湾镇"),  # a bare town
        ("大岭村", "大岭村"),
        ("就在东风市场门口啊", "东风市场"),  # words around the place dropped
        ("东门那边", "东门"),
        ("横沥镇的一间五金厂", "横沥镇的一间五金厂"),
        ("瑞宝市场后面条巷", "瑞宝市场后面条巷"),  # a place described by what it is near
        ("地址系番禺大道北555号", "番禺大道北555号"),
        ("天河城对面", "天河城"),
        ("万达", "万达"),  # a short name without place words
    ],
)
def test_an_answer_to_where_that_names_a_place_is_taken(
    words: PlaceWords, answer: str, place: str
) -> None:
    assert words.answer(answer) == place


@pytest.mark.parametrize(
    "answer",
    [
        "刚才已经讲了呀",
        "唔知",
        "就系屋企",
        "我屋企楼下",
        "佢而家好痛",
        "好",
        "ok",
        "学校门口",
        "屋企",
    ],
)
def test_an_answer_to_where_that_is_not_a_place_is_never_taken_as_one(
    words: PlaceWords, answer: str
) -> None:
    assert words.answer(answer) is None


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("我喺大岭村7号屋企跌低咗", ["大岭村7号"]),
        ("我住喺石岗村七号二楼", ["石岗村七号二楼"]),
        ("楼道里好大一股煤气味", []),
    ],
)
def test_places_in_earlier_turns_are_found_by_their_form(
    words: PlaceWords, said: str, found: list[str]
) -> None:
    assert words.scan(said) == found


def test_spans_that_only_punctuation_separates_are_one_place_and_others_stay_apart() -> None:
    assert join_spans("锦绣花园9栋，一楼", [(0, 6, "锦绣花园9栋"), (7, 9, "一楼")]) == [
        "锦绣花园9栋一楼"
    ]
    assert join_spans("大石街到钟村街道", [(0, 3, "大石街"), (4, 8, "钟村街道")]) == [
        "大石街",
        "钟村街道",
    ]
