"""Places as residents type them when asked where: cleaning an answer, telling a place from words that are
not one, finding places in earlier turns, and fitting a new piece into the place known so far.

The location extractor (``nlu.locations``) finds places inside messages; a reply to "在哪里？" is often a
place the extractor does not know (a bare town or village, "沙湾镇的一间五金厂", "市场后面条巷", a shop
name). ``PlaceWords`` judges such replies with the same word classes (``data/lexicon/places.yml``) plus
the administrative suffixes of Chinese place names, never with a list of names.

Pieces of a place have levels, coarse to fine: area (镇/街道/村/社区) → estate or road → building → unit →
floor → room. ``merge_place`` puts a new piece where it belongs: 锦绣花园9栋 + 一楼 → 锦绣花园9栋一楼;
5栋 + 幸福花园 → 幸福花园5栋; 幸福花园5栋 + 6栋 → 幸福花园6栋 (a corrected building drops the floor and
room that belonged to the old one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlu.resources import LEXICON_DIR, read_yaml

#: Administrative suffixes of Chinese place names and their levels (province 10 … village 14).
AREA_LEVELS = {
    "街道办事处": 13,
    "街道办": 13,
    "街道": 13,
    "村委会": 14,
    "居委会": 14,
    "社区": 14,
    "省": 10,
    "市": 11,
    "区": 12,
    "县": 12,
    "镇": 13,
    "乡": 13,
    "村": 14,
    "围": 14,
}
AREA_SUFFIXES = tuple(AREA_LEVELS)
#: Words ending in 区 that are not districts (幸福小区, 工业区, c区 is a numbered zone).
NOT_DISTRICTS = (
    "小区",
    "园区",
    "校区",
    "片区",
    "厂区",
    "景区",
    "工业区",
    "住宅区",
    "生活区",
    "商业区",
    "宿舍区",
    "城区",
)
#: Words before a place in an answer ("就在东风市场门口", "地址系…").
PREFIXES = (
    "具体位置是",
    "具体地址是",
    "位置是",
    "位置在",
    "位置系",
    "地点是",
    "地点在",
    "地址是",
    "地址系",
    "地址在",
    "地址",
    "位置",
    "就在",
    "就喺",
    "就係",
    "就系",
    "我住",
    "住在",
    "住喺",
    "我喺",
    "我在",
    "系喺",
    "是在",
    "在",
    "喺",
    "係",
    "系",
    "是",
    "去",
    "到",
)
#: Relational and vague words at the end of an answer that are not part of the place (5栋门口 → 5栋).
RELATIONAL_TAIL = (
    "门口",
    "附近",
    "旁边",
    "隔离",
    "隔篱",
    "侧边",
    "对面",
    "后面",
    "前面",
    "那边",
    "这边",
    "嗰边",
    "呢边",
    "嗰度",
    "呢度",
    "那里",
    "这里",
    "一带",
    "周边",
    "周围",
    "里面",
    "入面",
    "楼下",
    "楼上",
)
_PARTICLES = "啊呀啦喇嘅咯噃呢吧嘛哦喔噢嗯咧啰囉喎㗎嚟了的"
#: Who lives or is where, before the place: 我哋住中山沙溪龙瑞村, 佢而家喺…, 我们就住在…
_SUBJECT = re.compile(
    r"^(我哋|我地|我们|我們|我|佢哋|佢|他们|他們|她们|他|她|阿[\u4e00-\u9fff]|老人家|屋企人)"
    r"(而家|现在|現在|就|都|一直)?(住|係|系|是|在|喺|响|響)(在|喺|响|響)?"
)
_PUNCT = " \t\r\n，。、,.!！?？~～:：;；…·\"'“”‘’()（）[]【】<>《》-—_/\\|"
#: Number + unit pieces, by level (building 3, unit 4, floor 5, room 6); a lane number is an estate-level
#: piece of its road.
_NUMBER = r"[0-9０-９a-zA-Z一二三四五六七八九十百零两〇]+"
_PIECE = re.compile(
    rf"(?P<room>{_NUMBER}(?:号房|室|房))"
    rf"|(?P<unit>{_NUMBER}单元)"
    rf"|(?P<building>{_NUMBER}(?:号楼|栋|幢|座|期|区))"
    rf"|(?P<floor>(?:负)?{_NUMBER}(?:楼|层|樓|層))"
    rf"|(?P<lane>{_NUMBER}(?:横街|巷|弄|街))"
    rf"|(?P<number>{_NUMBER}(?:号|號))"
)
LEVELS = {
    "estate": 20,
    "lane": 21,
    "number": 25,
    "building": 30,
    "gate": 30,
    "unit": 40,
    "floor": 50,
    "room": 60,
}
#: Longer replies are sentences about the problem, not a place.
MAX_ANSWER_CHARS = 30
#: A reply naming a place may hold this many other content characters (沙湾镇的一间五金厂: 一).
MAX_NON_PLACE_CHARS = 3
#: Words before a generic place that still name none (大马路, 呢条街, 嗰个市场).
_VAGUE_HEADS = frozenset("大小呢嗰这那条个间座")
_GATE = re.compile(r"[东南西北][门閘闸]口?|正门")
#: A relational word between a named thing and what is near it: 市场后面条巷, 天河城对面间铺.
_RELATIONAL_INSIDE = re.compile(r"..(?:门口|附近|旁边|隔离|隔篱|侧边|对面|后面|前面|楼下)..")
#: Replies that acknowledge rather than answer.
ACKS = frozenset(
    {
        "好",
        "好的",
        "好啊",
        "嗯",
        "嗯嗯",
        "ok",
        "okay",
        "收到",
        "知道",
        "明白",
        "得",
        "系",
        "是",
        "对",
    }
)


@dataclass(frozen=True)
class Piece:
    text: str
    level: int
    kind: str


def pieces(place: str) -> list[Piece]:
    """``place`` cut into pieces with their levels (names between numbers are estates or areas)."""
    out: list[Piece] = []
    pos = 0
    for m in _PIECE.finditer(place):
        if m.start() > pos:
            out.extend(_name_pieces(place[pos : m.start()]))
        kind = m.lastgroup or "building"
        out.append(Piece(m.group(0), LEVELS[kind], kind))
        pos = m.end()
    if pos < len(place):
        out.extend(_name_pieces(place[pos:]))
    return out


def _name_pieces(name: str) -> list[Piece]:
    gate = _GATE.search(name)
    if gate and gate.end() == len(name):
        head = name[: gate.start()]
        piece = Piece(gate.group(0), LEVELS["gate"], "gate")
        return [*_name_pieces(head), piece] if head else [piece]
    cut = _area_end(name)
    if cut is None:
        return [Piece(name, LEVELS["estate"], "estate")]
    head = name[:cut]
    level = next(v for k, v in AREA_LEVELS.items() if head.endswith(k))
    rest = name[cut:]
    return [Piece(head, level, "area"), *(_name_pieces(rest) if rest else [])]


def _area_end(name: str) -> int | None:
    """Where the first administrative name in ``name`` ends (番禺区南村镇 → after 番禺区), if any."""
    best: int | None = None
    for suffix in AREA_SUFFIXES:
        at = name.find(suffix, 1)
        while at > 0:
            end = at + len(suffix)
            if suffix == "区" and (
                any(name[:end].endswith(w) for w in NOT_DISTRICTS)
                or not name[at - 1].isalpha()
                or name[at - 1].isascii()
            ):
                at = name.find(suffix, at + 1)
                continue
            if suffix == "村" and name[end : end + 1] in ("委", "镇"):  # 村委会, 南村镇
                at = name.find(suffix, at + 1)
                continue
            if best is None or end < best or (end == best and len(suffix) > 1):
                best = end
            break
    return best


def merge_place(current: str | None, new: str, *, replacing: bool = False) -> str:
    """Fit ``new`` into the place known so far (see the module docstring).

    ``replacing``: the resident said the place understood was wrong, so a new name replaces the old
    place instead of being added to it."""
    new = new.strip()
    if not current:
        return new
    if not new or new in current:
        return current
    if current in new:
        return new
    old, add = pieces(current), pieces(new)
    if not add:
        return current
    if all(p.kind not in ("area", "estate") for p in add):
        # Numbers only (6栋, 一楼, 102房): replace the piece of the same kind, or slot them in (a
        # place said to be wrong with nothing of that kind in it is replaced whole: 3栋 → 东门口).
        if replacing and not {p.kind for p in add} & {p.kind for p in old}:
            return new
        result = old
        for piece in add:
            result = _put(result, piece)
        return "".join(p.text for p in result)
    if replacing:
        return new
    if max(p.level for p in add) < min(p.level for p in old):
        return new + current  # a broader place named after the detail: 5栋 + 幸福花园
    if min(p.level for p in add) > max(p.level for p in old):
        return current + new  # a finer place inside the known one: 沙湾镇 + 三善村5号
    if (
        max(p.level for p in old) <= AREA_LEVELS["村"]
        and min(p.level for p in add) >= max(p.level for p in old)
        and max(p.level for p in add) > LEVELS["estate"]
    ):
        return current + new  # a hamlet and house number inside the village: 林村 + 新围二巷5号
    return new  # another place at the same level: the later one is what the resident means


def _put(result: list[Piece], piece: Piece) -> list[Piece]:
    for i, p in enumerate(result):
        if p.kind == piece.kind:
            # The corrected piece drops the finer ones that belonged to the old one.
            return [*result[:i], piece, *[q for q in result[i + 1 :] if q.level <= piece.level]]
    at = len(result)
    for i, p in enumerate(result):
        if p.level > piece.level:
            at = i
            break
    return [*result[:at], piece, *result[at:]]


@dataclass(frozen=True)
class PlaceWords:
    """The word classes that make a reply a place, from ``data/lexicon/places.yml``."""

    suffix_words: tuple[str, ...]
    suffix_chars: frozenset[str]
    gates: tuple[str, ...]
    stop_chars: frozenset[str]
    generic: frozenset[str]

    @classmethod
    def load(cls, lexicon_dir: Path | None = None) -> PlaceWords:
        doc = read_yaml((lexicon_dir or LEXICON_DIR) / "places.yml")
        return cls(
            suffix_words=tuple(sorted(map(str, doc["suffix_words"]), key=len, reverse=True)),
            suffix_chars=frozenset(map(str, doc["suffix_chars"])),
            gates=tuple(map(str, doc["gates"])),
            stop_chars=frozenset(map(str, doc["stop_chars"])),
            generic=frozenset(map(str, doc["generic"])),
        )

    def clean(self, words: str) -> str:
        """An answer without the words around the place: 就在东风市场门口啊 → 东风市场."""
        place = words.strip(_PUNCT)
        subject = _SUBJECT.match(place)
        if subject and len(place) > subject.end() + 1:
            place = place[subject.end() :]
        changed = True
        while changed and place:
            changed = False
            for prefix in PREFIXES:
                if place.startswith(prefix) and len(place) > len(prefix) + 1:
                    place = place[len(prefix) :].lstrip(_PUNCT)
                    changed = True
                    break
            stripped = place.rstrip(_PARTICLES + _PUNCT)
            if stripped != place and stripped:
                place, changed = stripped, True
            for tail in RELATIONAL_TAIL:
                if place.endswith(tail) and len(place) > len(tail) + 1:
                    place = place[: -len(tail)].rstrip(_PUNCT + "的嘅")
                    changed = True
                    break
        return place

    def generic_place(self, place: str) -> bool:
        """A place without a name (小区, 学校, 屋企, 大马路, 呢条街): the resident has not said which."""
        if place in self.generic or place in self.suffix_words:
            return True
        head, rest = place[:1], place[1:]
        return head in _VAGUE_HEADS and (rest in self.generic or rest in self.suffix_words)

    def _mostly_place(self, place: str) -> bool:
        """Whether a reply with place words is a place and not a sentence that mentions one: what is
        left after the places in it are only function words and a few characters."""
        rest = place
        for found in self.scan(place):
            rest = rest.replace(found, "")
        for tail in RELATIONAL_TAIL:
            rest = rest.replace(tail, "")
        content = [c for c in rest if _is_cjk_or_alnum(c) and c not in self.stop_chars]
        return len(content) <= MAX_NON_PLACE_CHARS

    def has_cue(self, text: str) -> bool:
        """Whether ``text`` names a place by its form: an area or place-type suffix after a name, a
        numbered building/floor/room, or a gate."""
        if _PIECE.search(text) or _GATE.search(text) or any(g in text for g in self.gates):
            return True
        for word in (*self.suffix_words, *AREA_SUFFIXES):
            at = text.find(word)
            while at > 0:
                if self._named(text, at):
                    return True
                at = text.find(word, at + 1)
        for i, ch in enumerate(text):
            if i > 1 and ch in self.suffix_chars and self._named(text, i, shortest=2):
                return True
        return False

    def _named(self, text: str, at: int, shortest: int = 1) -> bool:
        """A name of at least ``shortest`` content characters stands right before position ``at``."""
        before = text[max(0, at - 4) : at]
        name = ""
        for ch in reversed(before):
            if ch in self.stop_chars or not _is_cjk_or_alnum(ch):
                break
            name = ch + name
        if len(name) < shortest:
            return False
        return not any(name.endswith(g) for g in self.generic if len(g) <= len(name))

    def answer(self, words: str) -> str | None:
        """The place in a reply to "where?" when the location extractor found none, or None when the
        reply is not a place. A short reply without place words is taken as a name (万达, 天河城) only
        when it holds no function words (佢而家好痛 is not a place)."""
        place = self.clean(words)
        if len(place) < 2 or len(place) > MAX_ANSWER_CHARS or place.lower() in ACKS:
            return None
        if self.generic_place(place):
            return None  # 学校, 屋企, 大马路: which one?
        if self.has_cue(place) or _RELATIONAL_INSIDE.search(place):
            return place if self._mostly_place(place) else None
        plain = [c for c in place if _is_cjk_or_alnum(c)]
        if not any(not c.isascii() or c.isdigit() for c in plain):
            return None
        if len(plain) <= 8 and not any(c in self.stop_chars for c in plain):
            return place
        return None

    def scan(self, text: str) -> list[str]:
        """Places named in free text by their form (for looking back over earlier turns): a name
        before an area or place-type suffix, with the numbers that follow it (我喺大岭村7号屋企 →
        大岭村7号)."""
        found: list[tuple[int, int]] = []
        for word in (*self.suffix_words, *AREA_SUFFIXES):
            for m in re.finditer(re.escape(word), text):
                start = self._name_start(text, m.start())
                if start is None:
                    continue
                end = m.end()
                tail = _PIECE.match(text, end)
                while tail:
                    end = tail.end()
                    tail = _PIECE.match(text, end)
                found.append((start, end))
        for m in _PIECE.finditer(text):
            found.append((m.start(), m.end()))
        return [text[a:b] for a, b in _outermost(found)]

    def _name_start(self, text: str, at: int) -> int | None:
        start = at
        while start > 0 and at - start < 6:
            ch = text[start - 1]
            if ch in self.stop_chars or not _is_cjk_or_alnum(ch):
                break
            start -= 1
        if start == at:
            return None
        name = text[start:at]
        if any(name.endswith(g) for g in self.generic if len(g) <= len(name)):
            return None
        return start


def _outermost(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(set(spans), key=lambda s: (s[0], -s[1])):
        if out and a < out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
            continue
        if out and a == out[-1][1]:  # touching pieces are one chain: 大岭村 + 7号
            out[-1] = (out[-1][0], b)
            continue
        out.append((a, b))
    return out


def _is_cjk_or_alnum(ch: str) -> bool:
    return ch.isalnum() or "\u3400" <= ch <= "\u9fff"


def join_spans(text: str, spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """Location spans of one message as places: spans separated only by punctuation or spaces are one
    chain (锦绣花园9栋，一楼 → 锦绣花园9栋一楼); others stay separate (大石街 and 钟村街道)."""
    places: list[str] = []
    last_end = -1
    for start, end, span in sorted(spans):
        gap = text[last_end:start] if 0 <= last_end <= start else None
        if places and gap is not None and gap.strip(_PUNCT) == "":
            places[-1] = merge_place(places[-1], span)
        elif span not in places:
            places.append(span)
        last_end = end
    return places
