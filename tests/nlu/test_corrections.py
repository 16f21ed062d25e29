"""A resident's correction of the confirmation changes the place or category they name, not the one
they negate."""

from __future__ import annotations

import pytest

from nlu.corrections import correct
from tickets.settings import DATA_DIR
from tickets.taxonomy import load_taxonomy

KEYWORDS = {c.code: c.keywords for c in load_taxonomy(DATA_DIR / "taxonomy.yml").categories}


def spans(text: str, *places: str) -> list[dict[str, object]]:
    return [{"text": p, "start": text.find(p), "end": text.find(p) + len(p)} for p in places]


@pytest.mark.parametrize(
    ("said", "places", "current", "expected"),
    [
        ("不对，是5栋不是3栋", ("5栋", "3栋"), "3栋", "5栋"),
        ("唔系3栋，系5栋", ("3栋", "5栋"), "3栋", "5栋"),
        ("不是3栋是5栋", (), "3栋", "5栋"),
        ("不对，是5栋不是3栋", ("5栋", "3栋"), "幸福花园3栋", "幸福花园5栋"),
        ("位置错咗，喺东门口", ("东门口",), "北门", "东门口"),
        ("係12座唔係11座", (), "康乐苑11座", "康乐苑12座"),
        ("对的", (), "3栋", None),
        ("喺幸福花园", ("幸福花园",), "5栋", "幸福花园5栋"),
        ("系5栋", (), "幸福花园", "幸福花园5栋"),
        ("位置错咗，系东门口", ("东门口",), "3栋", "东门口"),
    ],
)
def test_the_place_named_replaces_the_place_negated(
    said: str, places: tuple[str, ...], current: str, expected: str | None
) -> None:
    fix = correct(
        said,
        current_location=current,
        current_category="elevator",
        spans=spans(said, *places),
        nlu={},
        keywords=KEYWORDS,
    )
    assert fix.location == expected


@pytest.mark.parametrize(
    ("said", "nlu", "expected"),
    [
        ("不是电梯，是路灯坏了", {}, "road_facility"),
        (
            "唔系电梯，系楼道灯",
            {"category": "property_mgmt", "category_confidence": 0.8},
            "property_mgmt",
        ),
        ("唔系电梯，系楼道灯", {"category": "property_mgmt", "category_confidence": 0.3}, None),
        ("不是电梯的问题", {}, None),
    ],
)
def test_the_category_named_replaces_the_category_negated(
    said: str, nlu: dict[str, object], expected: str | None
) -> None:
    fix = correct(
        said,
        current_location="3栋",
        current_category="elevator",
        spans=[],
        nlu=nlu,
        keywords=KEYWORDS,
    )
    assert fix.category == expected
