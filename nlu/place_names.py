"""Names of administrative divisions and how people write them: 番禺区 is also 番禺, 钟村街道 is
钟村街 and 钟村, 沙湾镇 is 沙湾, 谢村 is 谢村村委会, 东环社区 is 东环社区居委会 and 东环居委会.

Used by the tickets core (``tickets.divisions``: lookups, generated units files) and by the NLU (the
division gazetteer). Pure functions, standard library only (importable in both environments).

Levels are the division levels of ``data/divisions``: ``province``, ``city``, ``county`` (district,
county, county-level city), ``town`` (town, township, street) and ``village`` (village or community).
"""

from __future__ import annotations

import re

LEVELS = ("province", "city", "county", "town", "village")

#: Suffix → level it marks, longest first (a name's suffix tells its level when the data does not).
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("特别行政区", "province"),
    ("自治区", "province"),
    ("省", "province"),
    ("自治州", "city"),
    ("地区", "city"),
    ("自治县", "county"),
    ("自治旗", "county"),
    ("县", "county"),
    ("区", "county"),
    ("市", "city"),
    ("街道办事处", "town"),
    ("街道办", "town"),
    ("街道", "town"),
    ("民族乡", "town"),
    ("镇", "town"),
    ("乡", "town"),
)
#: The committee words after a village or community name, and what they stand for.
_VILLAGE_COMMITTEE = ("村民委员会", "村委会", "村委")
_COMMUNITY_COMMITTEE = ("社区居民委员会", "社区居委会", "社区居委", "居民委员会", "居委会", "居委")
#: Ethnic group names inside autonomous county and township names (连山壮族瑶族自治县 → 连山).
_ETHNIC_GROUPS = (
    *(
        "蒙古",
        "回",
        "藏",
        "维吾尔",
        "苗",
        "彝",
        "壮",
        "布依",
        "朝鲜",
        "满",
        "侗",
        "瑶",
        "白",
        "土家",
    ),
    *(
        "哈尼",
        "哈萨克",
        "傣",
        "黎",
        "傈僳",
        "佤",
        "畲",
        "高山",
        "拉祜",
        "水",
        "东乡",
        "纳西",
        "景颇",
    ),
    *(
        "柯尔克孜",
        "土",
        "达斡尔",
        "仫佬",
        "羌",
        "布朗",
        "撒拉",
        "毛南",
        "仡佬",
        "锡伯",
        "阿昌",
        "普米",
    ),
    *(
        "塔吉克",
        "怒",
        "乌孜别克",
        "俄罗斯",
        "鄂温克",
        "德昂",
        "保安",
        "裕固",
        "京",
        "塔塔尔",
        "独龙",
    ),
    *("鄂伦春", "赫哲", "门巴", "珞巴", "基诺"),
)
_GROUP = "(?:" + "|".join(sorted(_ETHNIC_GROUPS, key=len, reverse=True)) + ")族"
_ETHNIC = re.compile(f"(?:{_GROUP})+$")
_MIN_STEM = 2


def strip_suffix(name: str, level: str | None = None) -> str:
    """``name`` without its administrative suffix (番禺区 → 番禺, 乳源瑶族自治县 → 乳源, 深渡水瑶族乡
    → 深渡水, 钟村街道 → 钟村); the name itself when what is left would be shorter than two characters
    (城区, 郊区 stay) or it has no such suffix. Villages keep 村 (谢村 is the name)."""
    if level == "village":
        return village_name(name)
    for suffix, suffix_level in _SUFFIXES:
        if (
            level is not None
            and suffix_level != level
            and not (
                level == "county" and suffix == "市"  # county-level cities: 台山市
            )
        ):
            continue
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            if suffix.startswith("自治") or suffix == "民族乡" or suffix == "乡":
                stem = _ETHNIC.sub("", stem) or stem
            if len(stem) >= _MIN_STEM:
                return stem
    return name


def village_name(name: str) -> str:
    """The name of a village or community as the division data has it, from the ways committees are
    written: 谢村村委会 → 谢村, 东沙村委会 → 东沙村, 东环社区居委会 → 东环社区, 东环居委会 → 东环社区."""
    for word in _COMMUNITY_COMMITTEE:
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)] + "社区"
    for word in _VILLAGE_COMMITTEE:
        if name.endswith(word) and len(name) > len(word):
            stem = name[: -len(word)]
            return stem if stem.endswith("村") and len(stem) >= _MIN_STEM else stem + "村"
    return name


def short_forms(name: str, level: str) -> list[str]:
    """Shorter ways to write a division's name, most specific first (the name itself excluded):
    钟村街道 → [钟村街, 钟村]; 番禺区 → [番禺]; 东环社区 → [东环]; 华南碧桂园社区 → [华南碧桂园]."""
    out: list[str] = []
    if level == "village":
        if name.endswith("社区") and len(name) - 2 >= _MIN_STEM:
            out.append(name[:-2])
        return out
    stem = strip_suffix(name, level)
    if stem == name:
        return out
    if level == "town" and name.endswith("街道"):
        out.append(stem + "街")
    out.append(stem)
    return out


def long_forms(name: str, level: str) -> list[str]:
    """Longer ways to write it, with the office or committee (the name itself excluded):
    钟村街道 → [钟村街道办, 钟村街道办事处]; 谢村 → [谢村村委会, 谢村村委, 谢村村民委员会]."""
    if level == "village":
        if name.endswith("社区"):
            stem = name[:-2]
            return [name + "居委会", name + "居委", stem + "居委会", stem + "居委"]
        if name.endswith("村"):
            return [name + w for w in _VILLAGE_COMMITTEE]
        return []
    if level == "town":
        if name.endswith("街道"):
            return [name + "办", name + "办事处"]
        if name.endswith(("镇", "乡")):
            return [name + "政府", name + "人民政府"]
    return []


def forms(name: str, level: str) -> list[str]:
    """Every way to write the name: itself, the short forms and the long forms (no duplicates)."""
    out = [name]
    for form in (*short_forms(name, level), *long_forms(name, level)):
        if form not in out:
            out.append(form)
    return out


def level_of(name: str) -> str | None:
    """The level a name's suffix implies (番禺区 → county, 沙湾镇 → town, 谢村 → village), or None."""
    if village_name(name) != name or name.endswith(("村", "社区")):
        return "village"
    for suffix, level in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return level
    return None
