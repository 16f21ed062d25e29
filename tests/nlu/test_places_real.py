"""Places with real Guangdong names: chains of district, town, village, estate and building come out
as one span, short forms and former names are known, words that are also short forms (大石, 新造) are
places only inside a chain, relational words stay out and joined places stay apart.

``places_dev.txt`` is the team's development set for this (written for it, never taken from
data/eval); every line is checked, and the few the extractor still gets wrong are listed below."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nlu.pipeline import Pipeline

DEV = Path(__file__).with_name("places_dev.txt")
_SPAN = re.compile(r"\[([^\]]+?)\]\(location\)")
#: Lines the extractor gets wrong, and why (kept honest: the test fails when one starts passing).
KNOWN_MISSES = {
    "[花都区狮岭镇](location)啲皮具厂将废水排落河": "皮具厂 is taken for a named factory",
    "[沙湾](location)啲古村冇人维修": "古村 is also a village's name",
    "[沙头街道](location)社区活动中心今晚有讲座，欢迎参加": "社区 continues the street's name",
}


def parse(line: str) -> tuple[str, list[str]]:
    """The text of a marked-up line and its places."""
    return _SPAN.sub(r"\1", line), _SPAN.findall(line)


def dev_lines() -> list[object]:
    out: list[object] = []
    for line in DEV.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        reason = KNOWN_MISSES.get(line)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(line, marks=marks, id=line[:24]))
    return out


@pytest.mark.parametrize("line", dev_lines())
def test_development_set(pipe: Pipeline, line: str) -> None:
    text, places = parse(line)
    (result,) = pipe.classify([text])
    assert [loc.text for loc in result.locations] == places


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        # a whole chain is one span, also with province and city in front
        (
            "广东省广州市番禺区钟村街道谢村东街5号3楼漏水",
            ["广东省广州市番禺区钟村街道谢村东街5号3楼"],
        ),
        ("番禺区钟村街道祈福新村8栋2单元停电", ["番禺区钟村街道祈福新村8栋2单元"]),
        ("番禺大石植村有个坑", ["番禺大石植村"]),
        # short forms, former names and the statistical spelling
        ("钟村街谢村有只狗", ["钟村街谢村"]),
        ("番禺县沙湾镇三善村啲路灯唔着", ["番禺县沙湾镇三善村"]),
        ("石基镇金山村停水", ["石基镇金山村"]),
        # relational words stay out
        ("谢村村口有堆垃圾", ["谢村"]),
        ("钟村街道办门口成日塞车", ["钟村街道办"]),
        ("大塘村路口有个坑", ["大塘村"]),
        ("东湖路边倒咗棵树", ["东湖路"]),
        ("西丽南路88号楼下有人烧嘢", ["西丽南路88号"]),
        ("谢村东街5号之一门口有个坑", ["谢村东街5号之一"]),
        ("上漖村嘅公厕冇人清洁", ["上漖村"]),
        ("汉溪村委会冇人接电话", ["汉溪村委会"]),
        ("大岭村西约二巷7号二楼漏水", ["大岭村西约二巷7号二楼"]),
        ("下雨后人民公园积水", ["人民公园"]),
        # joined places are separate
        ("沙湾街道同钟村街道都停电", ["沙湾街道", "钟村街道"]),
        ("化龙镇和石楼镇之间条路烂咗", ["化龙镇", "石楼镇"]),
        ("从石碁镇到市桥街道成日塞车", ["石碁镇", "市桥街道"]),
        # a short form that is an ordinary word is a place only in a chain
        ("大石头挡住条路", []),
        ("新造的楼梯好滑", []),
        ("番禺大石有个井盖冇咗", ["番禺大石"]),
        ("大石街道有个井盖冇咗", ["大石街道"]),
    ],
)
def test_real_places(pipe: Pipeline, text: str, spans: list[str]) -> None:
    (result,) = pipe.classify([text])
    assert [loc.text for loc in result.locations] == spans
    for loc in result.locations:
        assert text[loc.start : loc.end] == loc.text
