"""Urgency: cues name the urgent situation; the classifier decides; non-demands never are urgent."""

from __future__ import annotations

import pytest

from nlu.normalize import Normalizer
from nlu.pipeline import Pipeline
from nlu.urgency import UrgencyRules


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("救命！5栋2单元电梯困住人了", "trapped"),
        ("楼道好大阵煤气味", "gas"),
        ("垃圾房着火啦，好大烟", "fire"),
        ("电线跌咗落地仲有火花", "live_wire"),
        ("水已经浸入屋，成屋都系水", "water_in_home"),
        ("阿妈喺屋企跌低咗起唔到身", "fallen"),
        ("我阿爸出咗门到而家都未返，有认知障碍", "missing"),
        ("外墙裂开，好似就快塌", "collapse"),
        ("有个细路俾货车撞咗", "knocked_down"),
    ],
)
def test_cues_name_the_situation(normalizer: Normalizer, text: str, situation: str) -> None:
    cues = UrgencyRules().cues(normalizer.normalize(text).text)
    assert situation in cues.situations


@pytest.mark.parametrize(
    ("text", "negated", "contexts"),
    [
        ("楼下个煤气总阀生锈，没闻到气味", True, set()),
        ("好彩冇浸到屋，但门口水好深", True, set()),
        ("救命，电梯困住人，而家仲喺入面", False, {"now"}),
        ("上个月电梯困住人，想物业查下", False, {"past"}),
        ("垃圾房着火，已经扑灭咗，多谢大家", False, {"handled"}),
        ("万一着火点走？后楼梯堆满杂物", False, {"hypothetical"}),
        ("塌咗嘅围墙已经拉咗警戒线", False, {"guarded"}),
        ("电梯成日困人，每次都等成个钟", False, {"habitual"}),
    ],
)
def test_the_whole_sentence_is_read_around_the_cue(
    normalizer: Normalizer, text: str, negated: bool, contexts: set[str]
) -> None:
    cues = UrgencyRules().cues(normalizer.normalize(text).text)
    assert cues.situations
    assert (cues.negated, contexts <= set(cues.contexts)) == (negated, True)
    assert cues.live == (not negated and not (set(cues.contexts) - {"now", "recent"}))


@pytest.mark.parametrize(
    ("text", "calmed"),
    [
        # Past, chronic or only a risk calm the cue in their own clause, not a live one elsewhere.
        ("上个月都报过一次，今晚厨房又有阵煤气味", False),
        ("我好担心，阿爷喺厕所跌低咗起唔到身", False),
        ("之前困过人，好担心又困人", True),
        ("电梯成日困人，每次都等成个钟", True),
        # Handled, cordoned off or a notice calm the whole message; 刚才 does not undo them.
        ("刚才个车祸已经拖走了，但路口仲系塞", True),
        ("塌咗嘅围墙已经围蔽，麻烦尽快清走", True),
        # … but 现在 and alarm words do.
        ("火已经扑灭咗，但而家仲有人困喺电梯", False),
    ],
)
def test_calming_context_is_read_clause_by_clause(
    normalizer: Normalizer, text: str, calmed: bool
) -> None:
    cues = UrgencyRules().cues(normalizer.normalize(text).text)
    assert cues.situations
    assert cues.calmed is calmed


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("燃汽管畀挖机挖爆咗，呼呼声咁喷", "gas"),
        ("门缝有烟出嚟，拍门冇人应", "fire"),
        ("电箱嗞嗞声，啲细路喺旁边玩", "live_wire"),
        ("阿伯坐喺度突然晕咗过去，叫极都唔醒", "fallen"),
        ("个仔missing咗成个钟", "missing"),
        ("外墙有块招牌挂喺度晃来晃去，下面好多人", "collapse"),
        ("路口有个阿婆被电单车撞到，伤者仲喺地下", "knocked_down"),
        ("water一直灌入屋，啲家具浮晒起身", "water_in_home"),
        # Told by what the writer sees, hears or smells, without the stock word.
        ("楼梯间有股臭蛋味，越来越浓", "gas"),
        ("开着热水器冲凉，两个人都头晕想吐", "gas"),
        ("对面窗口一直冒出灰色的烟", "fire"),
        ("电房里面噼里啪啦响", "live_wire"),
        ("那条线掉到地上了，地面湿的", "live_wire"),
        ("水由天花板的灯位哗哗流下来", "water_in_home"),
        ("有个后生站在天台边，讲不想活了", "fallen"),
        ("一个路人突然倒下了，口吐白沫", "fallen"),
        ("阿爷在街市同我们走散了，不记得路", "missing"),
        ("外墙一直掉砖，下面是行人路", "collapse"),
        ("大树被风吹到快倒了，下面有车", "collapse"),
        ("扶梯夹住了个小朋友的脚", "trapped"),
        ("二号梯停在半空，里面有人拍门", "trapped"),
    ],
)
def test_cues_read_typos_english_and_descriptions(
    normalizer: Normalizer, text: str, situation: str
) -> None:
    cues = UrgencyRules().cues(normalizer.normalize(text).text)
    assert situation in cues.situations


@pytest.mark.parametrize(
    "text",
    [
        "树枝都伸进我屋窗口了",  # 进屋 without water
        "公园有根大树枝跌咗喺路中间",  # a branch fell, not a person
        "热水器又打不着火了，三日冇热水冲凉",  # the heater does not light
        "井盖松咗好耐，车碾过就嘭一声",  # a car over a loose cover, nobody run over
        "路口水浸到小腿，车都死火",  # deep water on a road
        "楼梯上全是烟头和外卖盒",  # cigarette ends, not smoke
        "电梯门关得太快，夹住我个菜篮车",  # a trolley, not a person
        "电梯落的时候好似跌落去咁，好惊",  # a feeling, not a fall
        "朋友圈话季华路有人跳楼，原来系谣言",  # a rumour
    ],
)
def test_everyday_words_that_look_like_an_emergency_are_not_a_cue(
    normalizer: Normalizer, text: str
) -> None:
    cues = UrgencyRules().cues(normalizer.normalize(text).text)
    assert cues.situations == ()
    assert not cues.pressing


@pytest.mark.parametrize(
    ("text", "pressing"),
    [
        ("厨房着火啦，7楼", True),  # a live situation
        ("温馨提示：恒福苑2座电梯现在困住了个阿伯", True),  # a notice's opening, happening now
        ("电梯坏咗三日，救命啊，快啲嚟整", True),  # an alarm word is enough to be read closely
        ("电梯坏咗三日，28楼行到脚软", False),  # an everyday complaint names nothing pressing
        ("没闻到煤气味，只是想问下几时检查", False),  # negated
        ("上个月电梯困过人，想物业查下", False),  # past
    ],
)
def test_a_message_is_pressing_when_it_names_something_happening_now(
    normalizer: Normalizer, text: str, pressing: bool
) -> None:
    assert UrgencyRules().cues(normalizer.normalize(text).text).pressing is pressing


def test_a_demand_that_names_nothing_pressing_needs_a_confident_urgency_head(
    pipe: Pipeline,
) -> None:
    """Below ``urgent_uncued`` the uncued message stays ordinary even above the urgent threshold;
    the same probability with a pressing cue is urgent."""
    config = pipe.classifier.config
    assert config.urgent_uncued is not None
    assert pipe.classifier.urgent_threshold < config.urgent_uncued
    texts = ["电梯坏咗三日，28楼行到脚软", "救命！5栋2单元电梯困住人了，入面有个细路"]
    calm_one, pressing_one = pipe.analyse(texts)
    assert not calm_one[1].pressing and pressing_one[1].pressing
    results = pipe.classify(texts)
    assert results[0].urgent is (calm_one[2].urgent >= config.urgent_uncued)
    assert results[1].urgent is True


def test_one_urgent_sentence_makes_a_long_letter_urgent(pipe: Pipeline) -> None:
    """A letter of three complaints whose third is a gas smell filling the stairwell right now:
    the message's n-grams are mostly about the other two, its sentences are read one by one."""
    letter = (
        "尊敬的街道领导：您好！我是本小区6栋的住户，想反映几件事。第一，东门的保安晚上经常不在岗，"
        "外卖员随意进出。第二，垃圾桶清运不及时，夏天很臭，希望增加清运次数。"
        "第三，现在我们这栋楼道有很浓的煤气味，邻居们都跑到楼下了！"
    )
    (whole,) = pipe.analyse([letter])
    assert whole[2].urgent < pipe.classifier.urgent_threshold  # the whole message alone: ordinary
    (result,) = pipe.classify([letter])
    assert result.is_demand and result.urgent
    # … and the letter without that sentence is not
    (calm,) = pipe.classify([letter.rsplit("第三", 1)[0]])
    assert calm.urgent is False


@pytest.mark.parametrize(
    "text",
    [
        "救命！5栋2单元电梯困住人了，入面有个细路",
        "好大阵煤气味！翠竹苑5栋成层楼都闻到",
        "电线跌咗落地，仲喺度冒火花，啲人仲喺隔离行过",
        "我婆婆在家摔倒了，头上流血，起不来",
    ],
)
def test_urgent_demands_are_flagged(pipe: Pipeline, text: str) -> None:
    (result,) = pipe.classify([text])
    assert (result.is_demand, result.urgent) == (True, True)


@pytest.mark.parametrize(
    "text",
    [
        "电梯成日异响，麻烦物业睇下",
        "上个月电梯困过人，而家冇事，但想问下几时年检",
        "【通知】本周六上午消防演练，届时请勿惊慌",
        "感谢消防员，火已经扑灭咗",
    ],
)
def test_other_messages_are_not_urgent(pipe: Pipeline, text: str) -> None:
    (result,) = pipe.classify([text])
    assert result.urgent is False


@pytest.mark.parametrize(
    ("pattern", "chars"),
    [
        ("(煤气|燃气).{0,6}味|漏气", {"煤", "燃", "漏"}),
        ("(?:电线|高压线)断|[火烟]", {"电", "高", "火", "烟"}),
        ("(?<!没)火警|冒?烟", {"火", "冒", "烟"}),
        ("救命+|smoke(?! ?alarm)", {"救", "s"}),
        (".{0,3}着火", None),  # any character can start it
        ("好?", None),  # may match nothing, so everywhere
        ("\\s+火", None),
        ("(?i)fire", None),
    ],
)
def test_first_chars_lists_every_character_a_match_can_start_with(
    pattern: str, chars: set[str] | None
) -> None:
    import re

    from nlu.patterns import first_chars

    assert first_chars(re.compile(pattern)) == (None if chars is None else frozenset(chars))


@pytest.mark.parametrize(
    ("pattern", "grams"),
    [
        ("(煤气|燃气).{0,6}味|漏气", {"煤气", "燃气", "漏气"}),
        ("(?:电线|高压线)断|[火烟]", {"电线", "高压", "火", "烟"}),
        ("(?<!没)火警|冒?烟", {"火警", "冒烟", "烟"}),
        ("(卡|压)(住|了)", {"卡住", "卡了", "压住", "压了"}),
        ("电梯.{0,12}卡住", {"电梯"}),
        ("救命+|smoke(?! ?alarm)", {"救命", "sm"}),
        ("[0-9]+月", {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}),  # 12月: 1, then anything
        ("(浸|入)(入|进)?.{0,2}屋", {"浸", "入"}),  # .{0,2}: anything may follow 浸
        ("(浸|入)(入|进)?屋", {"浸入", "浸进", "浸屋", "入入", "入进", "入屋"}),
        ("[?？吗]\\s*$", {"?", "？", "吗"}),
        (".{0,3}着火", None),  # any character can start it
        ("好?", None),  # may match nothing, so everywhere
        ("\\s+火", None),
        ("(?i)fire", None),
    ],
)
def test_first_grams_lists_every_one_or_two_characters_a_match_can_start_with(
    pattern: str, grams: set[str] | None
) -> None:
    import re

    from nlu.patterns import first_grams

    assert first_grams(re.compile(pattern)) == (None if grams is None else frozenset(grams))


def test_the_gates_find_something_wherever_their_pattern_matches(normalizer: Normalizer) -> None:
    """Every urgency and lexicon pattern's ``gate`` on every training text: never a text where the
    pattern matches and its gate does not (that would lose a cue), and most texts ruled out."""
    import re

    from nlu.data import load_examples
    from nlu.features import Lexicon
    from nlu.patterns import gate

    rules = UrgencyRules()
    patterns = [rx for _, rx in rules._patterns] + [rules._calm, rules._any_context]
    patterns += [re.compile(rx) for rx in Lexicon.load().regexes.values()]
    bodies = [normalizer.body(normalizer.normalize(ex.text)) for ex in load_examples()]
    ruled_out = 0
    for rx in patterns:
        gate_rx = gate(rx)
        assert gate_rx is not None, rx.pattern
        missed = [t for t in bodies if rx.search(t) and gate_rx.search(t) is None]
        assert missed == [], rx.pattern
        ruled_out += sum(gate_rx.search(t) is None for t in bodies)
    assert ruled_out > len(patterns) * len(bodies) // 2
