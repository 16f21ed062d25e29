"""Location spans: patterns over our tokens (scanned directly; spaCy's Matcher with the same patterns
is the reference), offsets into the original text."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.data import load_examples
from nlu.pipeline import Pipeline


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        ("3栋电梯又坏咗，我阿妈落唔到楼😭", ["3栋"]),
        ("【转发】陈姨：东门口嗰个井盖冇咗好危险", ["东门口"]),
        ("幸福花园12栋2单元楼道灯坏了", ["幸福花园12栋2单元"]),
        ("幸福花园5栋2单元楼道好大煤气味", ["幸福花园5栋2单元"]),  # not 单元楼 + 道
        ("5栋门口有个井盖冇咗", ["5栋"]),
        ("石岗路同大岭村市场之间条路烂晒", ["石岗路", "大岭村市场"]),
        ("楼下垃圾三日冇人收", []),
        ("5号楼2单元电梯困人", ["5号楼2单元"]),
        ("C区地下车库积水", ["C区地下车库"]),
        ("锦绣华庭3期8栋停水", ["锦绣华庭3期8栋"]),
        ("B086号车位俾人霸咗", ["B086号车位"]),
        ("楼上1203漏水", ["1203"]),
        ("住喺翠竹苑，成日停电", ["翠竹苑"]),
        ("電梯壞咗，康樂楼3座", ["康樂楼3座"]),
        ("中山八路嗰个公交站冇遮", ["中山八路"]),
        ("截止本月30号交资料", []),
    ],
)
def test_places_are_found_with_original_offsets(
    pipe: Pipeline, text: str, spans: list[str]
) -> None:
    (result,) = pipe.classify([text])
    assert [loc.text for loc in result.locations] == spans
    for loc in result.locations:
        assert text[loc.start : loc.end] == loc.text


def test_the_pattern_scan_finds_what_spacys_matcher_finds(pipe: Pipeline) -> None:
    """Every match, label and order, on every training text and the places development set, plus
    the patterns that need a rare token in front (负, 区, a room's context word)."""
    x = pipe.locations
    texts = [ex.text for ex in load_examples()]
    texts += Path(__file__).with_name("places_dev.txt").read_text(encoding="utf-8").splitlines()
    texts += [
        "负一层车库漏水",
        "负2层停车场",
        "c区地下车库积水",
        "3区停车场",
        "住在1203房",
        "B区5号楼",
    ]
    with_matches = 0
    for text in texts:
        words = x._tokenizer.split(pipe.normalizer.normalize(text).text)
        tags = [x._tag(w) for w in words]
        expected = x.spacy_matches(words, tags)
        assert x._matches(words, tags) == expected, text
        with_matches += bool(expected)
    assert with_matches > 1000


def test_the_cue_word_lookup_by_pairs_agrees_with_the_lookup_by_characters(
    pipe: Pipeline,
) -> None:
    """The pre-filter's cue words (suffix words, gates, gazetteer names) looked up by their first
    two characters: the same answer as by their first character, on every training text, the
    places development set and texts made of cue words' pieces."""
    x = pipe.locations
    texts = [ex.text for ex in load_examples()]
    texts += Path(__file__).with_name("places_dev.txt").read_text(encoding="utf-8").splitlines()
    texts += ["", "门", "北门", "北", "番禺", "番", "去番禺区", "x" + min(x._cue_words, key=len)]
    norms = [pipe.normalizer.normalize(t).text for t in texts]
    found = [x._has_cue_word(t) for t in norms]
    assert found == [x._has_cue_word_by_char(t) for t in norms]
    assert 1000 < sum(found) < len(found) - 1000


def test_words_kept_whole_in_any_context_skip_the_rules_with_the_same_words(
    pipe: Pipeline,
) -> None:
    """``split`` (the rules skipped for words they never change) against ``split_by_rules`` on
    every training text, the places development set and the texts each rule exists for."""
    x = pipe.locations
    texts = [ex.text for ex in load_examples()]
    texts += Path(__file__).with_name("places_dev.txt").read_text(encoding="utf-8").splitlines()
    texts += ["东湖路边有个坑", "西丽南路88号楼下", "3座部电梯", "谢村村口", "猎德村东约", "隧道口"]
    changed = 0
    for text in texts:
        norm = pipe.normalizer.normalize(text).text
        expected = x._tokenizer.split_by_rules(norm)
        assert x._tokenizer.split(norm) == expected, text
        changed += expected != x._tokenizer.segmenter.cut(norm)
    assert changed > 100
