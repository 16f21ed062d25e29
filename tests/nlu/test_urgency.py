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
