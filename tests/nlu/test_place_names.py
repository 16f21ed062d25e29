"""How division names are written: short forms, office and committee forms, and back."""

from __future__ import annotations

import pytest

from nlu.place_names import forms, level_of, long_forms, short_forms, strip_suffix, village_name


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("广东省", "province", ["广东"]),
        ("广州市", "city", ["广州"]),
        ("番禺区", "county", ["番禺"]),
        ("台山市", "county", ["台山"]),  # a county-level city
        ("乳源瑶族自治县", "county", ["乳源"]),
        ("连山壮族瑶族自治县", "county", ["连山"]),
        ("钟村街道", "town", ["钟村街", "钟村"]),
        ("沙湾镇", "town", ["沙湾"]),
        ("深渡水瑶族乡", "town", ["深渡水"]),
        ("城区", "county", []),  # one character left: no short form
        ("谢村", "village", []),  # 村 is part of a village's name
        ("东环社区", "village", ["东环"]),
        ("华南碧桂园社区", "village", ["华南碧桂园"]),
    ],
)
def test_short_forms(name: str, level: str, expected: list[str]) -> None:
    assert short_forms(name, level) == expected


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("钟村街道", "town", ["钟村街道办", "钟村街道办事处"]),
        ("沙湾镇", "town", ["沙湾镇政府", "沙湾镇人民政府"]),
        ("谢村", "village", ["谢村村民委员会", "谢村村委会", "谢村村委"]),
        ("东环社区", "village", ["东环社区居委会", "东环社区居委", "东环居委会", "东环居委"]),
        ("番禺区", "county", []),
    ],
)
def test_long_forms(name: str, level: str, expected: list[str]) -> None:
    assert long_forms(name, level) == expected


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("谢村村委会", "谢村"),
        ("谢村村委", "谢村"),
        ("谢村委会", "谢村"),
        ("东沙村委会", "东沙村"),
        ("东沙村村民委员会", "东沙村"),
        ("东环社区居委会", "东环社区"),
        ("东环居委会", "东环社区"),
        ("东环居民委员会", "东环社区"),
        ("谢村", "谢村"),
    ],
)
def test_committee_forms_give_the_village_or_community(written: str, name: str) -> None:
    assert village_name(written) == name


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("番禺区", "county"),
        ("广州市", "city"),
        ("钟村街道", "town"),
        ("沙湾镇", "town"),
        ("谢村", "village"),
        ("东环社区", "village"),
        ("谢村村委会", "village"),
        ("幸福花园", None),
    ],
)
def test_the_suffix_tells_the_level(name: str, level: str | None) -> None:
    assert level_of(name) == level


def test_every_form_once_and_the_name_first() -> None:
    assert forms("钟村街道", "town") == [
        "钟村街道",
        "钟村街",
        "钟村",
        "钟村街道办",
        "钟村街道办事处",
    ]
    assert strip_suffix("钟村街道") == "钟村"
    assert strip_suffix("幸福花园") == "幸福花园"
