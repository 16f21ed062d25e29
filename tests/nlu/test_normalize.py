"""The normaliser rewrites text for the classifier and keeps a map back to the original."""

from __future__ import annotations

import pytest

from nlu.normalize import Normalizer


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("3栋电梯又坏咗，我阿妈落唔到楼😭", "3栋电梯又坏了,我妈妈落不到楼😭"),
        ("電梯又壞，樓上阿婆八十幾歲", "电梯又坏,楼上阿婆八十几岁"),
        ("ＡＢＣ栋３楼　电梯坏咗", "abc栋3楼 电梯坏了"),
        ("点解劳动仲裁咁慢", "为什么劳动仲裁这么慢"),
        ("呢度係咪有人管㗎", "这里是不是有人管㗎"),
        ("那个 就是   电梯 嗯 坏了", "那个 就是 电梯 嗯 坏了"),
        ("关係到大家嘅安全", "关系到大家的安全"),
    ],
)
def test_text_is_simplified_half_width_and_standard_written(
    normalizer: Normalizer, text: str, normalised: str
) -> None:
    assert normalizer.normalize(text).text == normalised


@pytest.mark.parametrize(
    ("text", "normalised", "framing"),
    [
        (
            "【转发】陈姨：东门口嗰个井盖冇咗好危险",
            "陈姨:东门口那个井盖没了好危险",
            {"forwarded": True, "speaker": "陈姨"},
        ),
        (
            "群里有人反映丽景苑5栋电梯夜晚会急停",
            "丽景苑5栋电梯夜晚会急停",
            {"relay": "群里有人反映"},
        ),
        ("帮邻居陈伯问下，佢楼上漏水", "他楼上漏水", {"relay": "帮邻居陈伯问下"}),
        ("麻烦@网格员阿芳 问下几时开课", "麻烦问下什么时候开课", {"mentions": ["网格员阿芳"]}),
        ("[图片] 路灯坏咗", "路灯坏了", {"attachments": ["图片"]}),
        (
            "Forwarded from 李姐: 楼道有人充电",
            "楼道有人充电",
            {"forwarded": True, "speaker": "李姐"},
        ),
        ("【紧急】煤气味好大", "【紧急】煤气味好大", {}),
        ("【通知】明天停水", "【通知】明天停水", {}),
    ],
)
def test_forward_framing_mentions_and_placeholders_are_stripped_and_kept(
    normalizer: Normalizer, text: str, normalised: str, framing: dict[str, object]
) -> None:
    result = normalizer.normalize(text)
    assert result.text == normalised
    assert result.framing.as_dict() == framing


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("【转发】陈姨：东门口嗰个井盖冇咗", "东门口"),
        ("喺乜嘢地方？5號樓2單元", "5号楼2单元"),
        ("麻烦@网格员小李 睇下兴业路嗰个井盖", "兴业路"),
        ("点解咁耐都未整好大岭村市场", "大岭村市场"),
    ],
)
def test_spans_of_the_normalised_text_map_back_to_the_original(
    normalizer: Normalizer, text: str, word: str
) -> None:
    result = normalizer.normalize(text)
    start = result.text.index(word)
    s, e = result.to_original(start, start + len(word))
    assert normalizer.normalize(text[s:e]).text == word


def test_every_character_maps_inside_the_original(normalizer: Normalizer) -> None:
    text = "【转发】陈姨：点解乜嘢都冇人理㗎？ @网格员阿芳 [图片]  "
    result = normalizer.normalize(text)
    for i in range(len(result.text)):
        s, e = result.to_original(i, i + 1)
        assert 0 <= s < e <= len(text)


@pytest.mark.parametrize(
    ("original", "normalised"),
    [
        ("路\u200d灯坏了", "路灯坏了"),  # a zero-width joiner inside a word
        ("幸福花园\u200b5栋", "幸福花园5栋"),  # a zero-width space never cuts a place
        ("\ufeff电梯\u2060坏咗", "电梯坏了"),
        ("\u202e反转\u202c的字", "反转的字"),
    ],
)
def test_invisible_characters_are_removed_with_offsets_kept(
    normalizer: Normalizer, original: str, normalised: str
) -> None:
    result = normalizer.normalize(original)
    assert result.text == normalised
    start, end = result.to_original(len(result.text) - 1, len(result.text))
    assert (start, end) == (len(original) - 1, len(original))  # the last character maps back


def test_the_two_scans_find_what_the_one_inline_pattern_finds(normalizer: Normalizer) -> None:
    from nlu.data import load_examples

    texts = [ex.text for ex in load_examples()]
    texts += ["  a  b  ", "@小李  冇 [图片]  13812345678  唔该晒", "嘅嘅嘅", "\n\t冇\n", ""]
    for text in texts:
        t = text.translate(normalizer._table)
        for pos in (0, 2):
            one = [(m.span(), m.lastgroup) for m in normalizer._inline.finditer(t, pos)]
            two = [(m.span(), kind) for m, kind in normalizer._inline_matches(t, pos)]
            assert two == one, text


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("【转发】陈姨：东门口嗰个井盖冇咗好危险", "东门口那个井盖没了好危险"),
        ("【转发】5栋陈姨：电梯坏咗", "电梯坏了"),
        ("转发：3栋电梯又坏", "3栋电梯又坏"),
        ("东门口：好多垃圾", "东门口:好多垃圾"),  # not a forward: nothing is a speaker
    ],
)
def test_the_classifier_reads_a_forward_without_its_speaker(
    normalizer: Normalizer, text: str, body: str
) -> None:
    assert normalizer.body(normalizer.normalize(text)) == body
