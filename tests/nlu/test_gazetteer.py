"""The gazetteer: the units' places and Guangdong's division names, strong or only in a chain, stored
with a trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.gazetteer import DIVISION_FREQ, Gazetteer, division_names, jieba_words, write_resources


@pytest.fixture(scope="module")
def names() -> dict[str, bool]:
    return division_names()


@pytest.mark.parametrize(
    ("name", "strong"),
    [
        ("番禺区", True),
        ("番禺", True),  # jieba knows it as a place name
        ("钟村街道", True),
        ("钟村街", True),
        ("钟村", True),  # not a jieba word
        ("钟村街道办", True),
        ("谢村", True),
        ("华南碧桂园", True),  # the estate a community is named after
        ("白云", True),  # a rare person name in jieba's dictionary: still the district
        ("大石", False),  # 大石街道, but also "a big stone"
        ("新造", False),  # 新造镇, but also "newly built"
        ("光明", False),
        ("和平", False),
        ("高峰", False),  # a common person name in jieba's dictionary
        ("城区", False),  # 汕尾's 城区 is a generic word too
    ],
)
def test_short_forms_that_are_ordinary_words_are_weak(
    names: dict[str, bool], name: str, strong: bool
) -> None:
    assert names[name] is strong


@pytest.mark.parametrize("word", ["新村", "城中村", "南奥", "粤", "谢村村委会"])
def test_generic_words_short_community_stems_and_committee_forms_are_left_out(
    names: dict[str, bool], word: str
) -> None:
    assert word not in names


def test_a_model_keeps_its_own_gazetteer(tmp_path: Path) -> None:
    gazetteer = write_resources(tmp_path)
    assert gazetteer == Gazetteer.load(tmp_path)
    assert "幸福花园" in gazetteer.units and "幸福花园" in gazetteer.places
    assert "钟村街道" in gazetteer.places and "大石" in gazetteer.weak
    userdict = (tmp_path / "userdict.txt").read_text(encoding="utf-8").splitlines()
    assert userdict[: len(_ours())] == _ours()  # data/jieba/userdict.txt first, unchanged
    added = {line.split()[0]: line.split()[1] for line in userdict[len(_ours()) :] if " " in line}
    assert added["钟村街道"] == str(DIVISION_FREQ)
    assert "番禺" not in added  # jieba's own entry and frequency stay
    assert "番禺" in jieba_words()


def _ours() -> list[str]:
    from nlu.resources import JIEBA_DIR

    return (JIEBA_DIR / "userdict.txt").read_text(encoding="utf-8").rstrip("\n").splitlines()
