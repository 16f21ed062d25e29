"""Our own jieba tokenizer: the user dictionary and the gazetteer, never jieba's global tokenizer."""

from __future__ import annotations

import pytest

from nlu.segment import Segmenter


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("充电桩坏了", "充电桩"),
        ("大岭村市场门口好多垃圾", "大岭村市场"),
        ("长者饭堂几时开", "长者饭堂"),
        ("网格员几时来", "网格员"),
    ],
)
def test_dictionary_words_stay_whole(segmenter: Segmenter, text: str, word: str) -> None:
    assert word in segmenter.cut(text)


def test_the_global_jieba_tokenizer_is_untouched(segmenter: Segmenter) -> None:
    import jieba

    assert "大岭村市场" in segmenter.cut("大岭村市场")
    assert jieba.dt.FREQ.get("大岭村市场") is None
    assert "".join(segmenter.cut("3栋 电梯坏了")) == "3栋 电梯坏了"


def test_our_cut_is_exactly_jiebas_on_every_training_text(segmenter: Segmenter) -> None:
    from nlu.data import load_examples
    from nlu.normalize import Normalizer

    normalizer = Normalizer()
    texts = [normalizer.normalize(ex.text).text for ex in load_examples()]
    texts += [ex.text for ex in load_examples()]  # unnormalised too: traditional, full-width, emoji
    assert [t for t in texts if segmenter.cut(t) != segmenter.jieba_cut(t)] == []
    assert [t for t in texts if segmenter.cut_python(t) != segmenter.jieba_cut(t)] == []


def test_jieba_rs_does_the_cutting_when_installed(segmenter: Segmenter) -> None:
    pytest.importorskip("rjieba")
    assert segmenter.accelerated


def test_re_added_words_keep_jiebas_total_in_jieba_rs() -> None:
    """达林 is in jieba's dictionary: re-adding it changes jieba's total, which decides 朱达林为."""
    pytest.importorskip("rjieba")
    from nlu.resources import gazetteer_places

    segmenter = Segmenter(extra_words=[*gazetteer_places(), "达林", "达林"])
    text = "一股东朱达林为浙江温州商人"
    assert segmenter.cut(text) == segmenter.jieba_cut(text)


@pytest.mark.parametrize("text", ["充电桩一直嘀嘀嘀咁响", "非法滴滴滴泛滥", "我想掏心掏肺地说"])
def test_exact_ties_are_broken_as_jieba_breaks_them(segmenter: Segmenter, text: str) -> None:
    assert segmenter._may_tie(text)  # past the quick test for a character two places on
    assert segmenter.cut(text) == segmenter.jieba_cut(text)
