"""Location spans: our jieba segmenter's words, token classes from ``data/lexicon/places.yml`` and the
gazetteer, and patterns of one to three tokens over those classes. The patterns are found by one scan
over the tokens (``LocationExtractor._matches``); spaCy's ``Matcher`` over a blank ``zh`` ``Doc`` with the
same patterns is the reference it was checked against (``spacy_matcher=True``; building the ``Doc``
cost more than the rest of the extraction).

Patterns (token classes in capitals):

- ``NUM UNIT`` — 3栋, 5号楼, 2单元, 18楼, 1203房, b086号车位, c出口, 二期, b区; also 负一层;
- ``NAME+ SUFFIX``, ``NAME_SUFFIX``, ``GAZ`` — 翠竹苑, 大岭村市场, 文昌路巴士站, 锦绣华庭, 幸福花园;
- ``GATE`` — 东门口, 北门; ``NUM 区 FACILITY`` — c区地下车库;
- ``ROOM_CONTEXT NUM`` — 楼上1203.

``GAZ`` are the gazetteer's names (the deployed units' places and Guangdong's divisions, see
:mod:`nlu.gazetteer`): 番禺区, 钟村街, 谢村; ``GAZW`` its weak names (大石, 新造), places only inside a
chain. Matches that overlap or touch are one chain (锦绣华庭 + 3期 + 8栋, 番禺区 + 钟村街道 + 谢村 +
东街5号); places joined by 同/和/与/到/、 stay separate. A name keeps at most :data:`MAX_NAME_CHARS`
characters before its suffix and never crosses generic words (楼下, 小区, 门口 …) or function
characters; relational words after a place stay out (谢村|村口, 东湖路|边). Offsets returned are into
the ORIGINAL text (through :class:`~nlu.normalize.Normalized`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.normalize import Normalized, Normalizer
from nlu.resources import LEXICON_DIR, read_yaml
from nlu.segment import Segmenter

MAX_NAME_CHARS = 6
_CJK = re.compile(r"^[\u3400-\u9fff\U00020000-\U0002ffff]+$")
_DIGITS = re.compile(r"^(?:[0-9]+[a-z]?|[a-z][0-9]*)$")
_CN_NUM = re.compile(r"^[一二三四五六七八九十百零两〇]+$")
_NUMBER = re.compile(r"^(?:[0-9]+[a-z]?|[a-z][0-9]*|[一二三四五六七八九十百零两〇]+)$")
_RELATIONAL = set("口边头尾里内外旁")
_ROADS = ("路", "街", "巷", "横路")
#: jieba words that join a village's 村 to a direction: 猎德村东约 comes out 猎德 + 村东 + 约.
_VILLAGE_SIDES = frozenset({"村东", "村西", "村南", "村北"})
#: ... and a road's 路/街 to a relational word: 东湖路边 comes out 东湖 + 路边.
_ROAD_SIDES = frozenset({"路边", "路口", "街边", "街口"})
_SUB_NUMBERS = frozenset({"之一", "之二", "之三", "之四", "之五", "之六"})
#: Common first characters of village names that are also words (上漖村, 大塘村, 新围村); not 下,
#: which ends verbs in Cantonese (问下竹园村), nor 前 and 后 (雨后人民公园).
_NAME_PREFIXES = frozenset("东西南北大小新旧老中上")
#: Endings of administrative names (a generic place word after them is no estate: 民治街道 + 小区).
_AREA_ENDS = ("街道", "镇", "区", "县", "市", "乡", "省")
_NAME_TAGS = ("NAME", "NSUF", "GAZ", "GAZW", "SUF1")
#: The token classes (``LocationExtractor._classify``).
_TAGS = ("GAZ", "GAZW", "GATE", "NUM", "SUFW", "GEN", "X", "UNIT", "STOP", "SUF1", "NAME", "NSUF")
#: Classes a place can end on (the ``NAMED`` pattern); the name in front is found by walking left.
_ANCHOR_TAGS = frozenset({"SUF1", "SUFW", "NSUF", "GAZ", "GAZW"})
#: Units of a building number after a name: 书香门第5栋.
_BUILDINGS = ("栋", "座", "幢", "号楼", "期")
_NUMBER_CUE = re.compile(
    r"[0-9a-z一二三四五六七八九十百零两〇][栋座幢号楼层单元室房期区巷车出铺档门街坊队组]|[0-9]{3}"
)
_SPLIT = re.compile(
    r"[0-9a-z]+|[一二三四五六七八九十百零两〇]+|[^0-9a-z一二三四五六七八九十百零两〇]+"
)


@dataclass(frozen=True, slots=True)
class LocationSpan:
    """A place named in the message; ``start``/``end`` index the original text."""

    text: str
    start: int
    end: int

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "start": self.start, "end": self.end}


def _street_number(words: list[str]) -> bool:
    """``words`` end with road + number + 号楼 (西丽南路 88 号楼)."""
    return (
        len(words) >= 3
        and bool(_NUMBER.match(words[-2]))
        and words[-3][-1:] in ("路", "街", "巷", "道")
    )


class _Tokenizer:
    """spaCy tokenizer over our jieba segmenter, with words re-split where names meet numbers and units.

    ``3座部`` → 3 座 部, ``村村口`` → 村 村口, ``隧道口`` → 隧道 口: jieba's words sometimes straddle the
    end of a place, and a span can only end on a token boundary.
    """

    def __init__(self, segmenter: Segmenter, extractor: LocationExtractor) -> None:
        self.segmenter = segmenter
        self.x = extractor
        self._plain: dict[str, bool] = {}

    def split(self, text: str) -> list[str]:
        """``split_by_rules``, with the rules skipped for the words they keep whole in any context
        (``_is_plain``, remembered per word): most words. A test checks both on every training
        text."""
        plain = self._plain
        words: list[str] = []
        for word in self.segmenter.cut(text):
            keep = plain.get(word)
            if keep is None:
                keep = self._is_plain(word)
                if len(plain) < 100_000:
                    plain[word] = keep
            if keep:
                words.append(word)
            else:
                self._add(words, word)
        return words

    def _is_plain(self, word: str) -> bool:
        """Whether ``_add`` appends ``word`` unchanged whatever words come before it."""
        x = self.x
        if not word or word in _ROAD_SIDES or word in _VILLAGE_SIDES:
            return False
        if len(word) == 1 or word in x.known:
            return word[0] not in "上下"
        if len(_SPLIT.findall(word)) > 1 or word[0] in x.units:
            return False
        if len(word) == 2 and word[0] in x.suffix_chars:
            return not (word[1] in x.suffix_chars or word[1] in x.stop_chars)
        return not (len(word) > 2 and word[-1] in _RELATIONAL and word[:-1] in x.suffix_words)

    def split_by_rules(self, text: str) -> list[str]:
        """The words of ``text``, re-split by the rules of ``_add`` (the reference of ``split``)."""
        words: list[str] = []
        for word in self.segmenter.cut(text):
            self._add(words, word)
        return words

    def _add(self, words: list[str], word: str) -> None:
        """Append ``word`` to ``words``, or its pieces where a place ends inside it."""
        x = self.x
        if (
            word in _ROAD_SIDES
            and words
            and len(words[-1]) >= 2
            and _CJK.match(words[-1])
            and words[-1] not in x.generic
            and not words[-1].endswith(word[0])
        ):
            words.extend(word)  # 东湖 路边 → 东湖 路 边
            return
        if len(word) == 1 or word in x.known:  # 三善村, 蔡边一村: names keep their numerals
            if words and words[-1] == "号楼" and word[0] in "上下" and _street_number(words):
                words[-1] = "号"  # 西丽南路88号楼下: No. 88, downstairs
                words.extend(["楼" + word[0], *([word[1:]] if word[1:] else [])])
                return
            words.append(word)
            return
        pieces = _SPLIT.findall(word)
        for piece in pieces if len(pieces) > 1 else [word]:
            after_number = bool(words) and bool(_NUMBER.match(words[-1]))
            if after_number and piece not in x.known and len(piece) > 1 and piece[0] in x.units:
                words.extend([piece[0], piece[1:]])  # 3座部 → 3 座 部, 3楼窗口 → 3 楼 窗口
                continue
            if len(piece) == 2 and piece not in x.known:
                first, second = piece[0], piece[1]
                if first in x.suffix_chars and (second in x.suffix_chars or second in x.stop_chars):
                    words.extend(piece)  # 村村 → 村 村
                    continue
            if len(piece) > 2 and piece[-1] in _RELATIONAL and piece[:-1] in x.suffix_words:
                words.extend([piece[:-1], piece[-1]])
                continue
            if (
                piece in _VILLAGE_SIDES
                and words
                and len(words[-1]) >= 2
                and _CJK.match(words[-1])
                and words[-1] not in x.generic
            ):
                words.extend(piece)  # 猎德 村东 约 → 猎德 村 东 约
                continue
            words.append(piece)


class LocationExtractor:
    """Build once per pipeline; ``extract`` is thread-safe."""

    def __init__(
        self,
        segmenter: Segmenter,
        gazetteer: Iterable[str] = (),
        lexicon: Path | None = None,
        outside_words: Iterable[str] = (),
        weak: Iterable[str] = (),
        *,
        spacy_matcher: bool = False,
    ) -> None:
        doc = read_yaml(lexicon or LEXICON_DIR / "places.yml") or {}
        self.units = set(doc.get("units") or [])
        self.suffix_words = set(doc.get("suffix_words") or [])
        self.suffix_chars = set(doc.get("suffix_chars") or [])
        self.gates = set(doc.get("gates") or [])
        self.zone_facilities = set(doc.get("zone_facilities") or [])
        self.generic = set(doc.get("generic") or [])
        self.stop_chars = set(doc.get("stop_chars") or [])
        self.room_context = set(doc.get("room_context") or [])
        self.gazetteer = {g.lower() for g in gazetteer}
        self.weak = {w.lower() for w in weak} - self.gazetteer
        self.outside_words = set(outside_words)
        self.known = (
            self.units | self.suffix_words | self.gates | self.generic | self.gazetteer | self.weak
        )
        self._classes: dict[str, str] = {}
        # A cheap pre-filter implied by the patterns: without a number before a unit, a 3–4 digit
        # number, a suffix character after the first character or a suffix word, gate or gazetteer
        # name there is no location, and segmentation and spaCy are skipped. (A weak name alone is
        # no place.) Cue words are looked up by their first character: tens of thousands of names.
        self._suffix_chars = frozenset(self.suffix_chars)
        cues: dict[str, set[int]] = {}
        self._cue_words = frozenset(self.suffix_words | self.gates | self.gazetteer)
        for word in self._cue_words:
            if word:
                cues.setdefault(word[0], set()).add(len(word))
        self._cue_lengths = {c: tuple(sorted(n)) for c, n in cues.items()}
        # The same lookup by the first two characters: a cue word starts at a pair of the text that
        # is the first pair of some cue words (one C-level set test rules most texts out), then only
        # those words' lengths are tried. The few one-character cue words are looked up apart.
        pairs: dict[str, set[int]] = {}
        for word in self._cue_words:
            if len(word) >= 2:
                pairs.setdefault(word[:2], set()).add(len(word))
        self._cue_pairs = {p: tuple(sorted(n)) for p, n in pairs.items()}
        self._cue_singles = frozenset(w for w in self._cue_words if len(w) == 1)

        self._tokenizer = _Tokenizer(segmenter, self)
        # The patterns, read by ``_matches`` (the spaCy Matcher patterns of ``_spacy_matcher``):
        self._buildings = frozenset(_BUILDINGS)
        self._roads = frozenset(_ROADS)
        self._zone_facilities = frozenset(self.zone_facilities)
        self._room_context = frozenset(self.room_context)
        self._units = frozenset(self.units)
        self.spacy_matcher = spacy_matcher
        if spacy_matcher:
            self._build_spacy_matcher()

    def _build_spacy_matcher(self) -> None:
        """spaCy's ``Matcher`` with the patterns ``_matches`` scans for: the reference the scan was
        checked against (``spacy_matcher=True``; tests compare both on every training text)."""
        import spacy
        from spacy.attrs import TAG
        from spacy.matcher import Matcher
        from spacy.tokens import Doc

        self._doc = Doc
        self._tag_attr = [TAG]
        self.nlp = spacy.blank("zh")
        self._tag_hashes = {t: self.nlp.vocab.strings.add(t) for t in _TAGS}
        self.matcher = Matcher(self.nlp.vocab)
        number = {"TAG": "NUM"}
        unit = {"LOWER": {"IN": sorted(self.units)}}
        self.matcher.add("UNIT", [[number, unit], [{"LOWER": "负"}, number, unit]])
        # Anchors: the name in front of a suffix or a building number is found by walking left
        # over name-class tokens (``_name_start``), which is cheaper than "NAME+" patterns.
        self.matcher.add("NAMED", [[{"TAG": {"IN": list(_ANCHOR_TAGS)}}]])
        # 中山八路: a numbered road
        self.matcher.add("ROAD", [[number, {"LOWER": {"IN": list(_ROADS)}}]])
        # 书香门第5栋: a name without a suffix word right before a building number
        building = {"LOWER": {"IN": list(_BUILDINGS)}}
        self.matcher.add("BUILDING", [[number, building]])
        self.matcher.add("GATE", [[{"TAG": "GATE"}]])
        self.matcher.add(
            "ZONE", [[number, {"LOWER": "区"}, {"LOWER": {"IN": sorted(self.zone_facilities)}}]]
        )
        self.matcher.add(
            "ROOM",
            [[{"LOWER": {"IN": sorted(self.room_context)}}, {"TAG": "NUM", "LENGTH": {">=": 3}}]],
        )

    def _classify(self, word: str) -> str:
        if word in self.gazetteer:
            return "GAZ"
        if word in self.weak:
            return "GAZW"
        if word in self.gates:
            return "GATE"
        if _DIGITS.match(word) or _CN_NUM.match(word):
            return "NUM"
        if word in self.suffix_words:
            return "SUFW"
        if word in self.generic:
            return "GEN"
        if not _CJK.match(word):
            return "X"
        if word in self.units and word not in self.suffix_chars:
            return "UNIT"
        if word in self.outside_words:
            return "STOP"
        if len(word) == 1:
            if word in self.suffix_chars:
                return "SUF1"
            return "STOP" if word in self.stop_chars else "NAME"
        if word[-1] in self.suffix_chars and word not in self.units:
            return "NSUF"
        if len(word) >= 3 and any(word.endswith(w) for w in self.suffix_words):
            return "NSUF"  # 南门市场 as one jieba word
        return "NAME" if len(word) <= 4 else "X"

    def _tag(self, word: str) -> str:
        tag = self._classes.get(word)
        if tag is None:
            tag = self._classify(word)
            if len(self._classes) < 100_000:
                self._classes[word] = tag
        return tag

    def extract(self, norm: Normalized) -> list[LocationSpan]:
        """Location spans of one normalised message, in order, non-overlapping."""
        text = norm.text
        if (
            self._suffix_chars.isdisjoint(text[1:])
            and not _NUMBER_CUE.search(text)
            and not (
                self._has_cue_word_by_char(text) if self.spacy_matcher else self._has_cue_word(text)
            )
        ):
            return []
        tokenizer = self._tokenizer
        words = tokenizer.split_by_rules(text) if self.spacy_matcher else tokenizer.split(text)
        classes = self._classes
        tags = [classes.get(w) or self._tag(w) for w in words]
        matches = (
            self.spacy_matches(words, tags) if self.spacy_matcher else self._matches(words, tags)
        )
        if not matches:
            return []
        starts = [0]
        for w in words:
            starts.append(starts[-1] + len(w))
        out = []
        for s, e in self._assemble(matches, words, tags):
            start, end = norm.to_original(starts[s], starts[e])
            original = norm.original[start:end]
            stripped = original.strip()
            if not stripped:
                continue
            start += len(original) - len(original.lstrip())
            out.append(LocationSpan(stripped, start, start + len(stripped)))
        return out

    def _has_cue_word(self, text: str) -> bool:
        """Whether a cue word (suffix word, gate, gazetteer name) occurs in ``text``: the same
        answer as ``_has_cue_word_by_char`` (the reference; a test compares both)."""
        if not self._cue_singles.isdisjoint(text):
            return True
        pairs = self._cue_pairs
        if pairs.keys().isdisjoint(map(operator.add, text, text[1:])):
            return False
        words = self._cue_words
        for i, pair in enumerate(map(operator.add, text, text[1:])):
            for n in pairs.get(pair, ()):
                if text[i : i + n] in words:
                    return True
        return False

    def _has_cue_word_by_char(self, text: str) -> bool:
        lengths = self._cue_lengths
        words = self._cue_words
        for i, ch in enumerate(text):
            for n in lengths.get(ch, ()):
                if text[i : i + n] in words:
                    return True
        return False

    def _matches(self, words: list[str], tags: list[str]) -> list[tuple[str, int, int]]:
        """``(label, start, end)`` of every pattern match, in the spaCy Matcher's order (by end,
        then start, then pattern): the patterns are one to three tokens long, so one pass over the
        tokens finds them all, without building a ``Doc`` (which cost more than everything else)."""
        out: list[tuple[str, int, int]] = []
        units = self._units
        for j, tag in enumerate(tags):  # j: the last token of a match
            if tag != "NUM" and (j < 1 or tags[j - 1] != "NUM") and (j < 2 or tags[j - 2] != "NUM"):
                if tag in _ANCHOR_TAGS:  # the only patterns without a number
                    out.append(("NAMED", j, j + 1))
                elif tag == "GATE":
                    out.append(("GATE", j, j + 1))
                continue
            low = words[j].lower()
            if j >= 2 and tags[j - 1] == "NUM" and low in units and words[j - 2].lower() == "负":
                out.append(("UNIT", j - 2, j + 1))  # 负 NUM unit
            if (
                j >= 2
                and tags[j - 2] == "NUM"
                and low in self._zone_facilities
                and words[j - 1].lower() == "区"
            ):
                out.append(("ZONE", j - 2, j + 1))  # NUM 区 facility
            if j >= 1:
                if tags[j - 1] == "NUM":
                    if low in units:
                        out.append(("UNIT", j - 1, j + 1))
                    if low in self._roads:
                        out.append(("ROAD", j - 1, j + 1))
                    if low in self._buildings:
                        out.append(("BUILDING", j - 1, j + 1))
                if (
                    tag == "NUM"
                    and len(words[j]) >= 3
                    and words[j - 1].lower() in self._room_context
                ):
                    out.append(("ROOM", j - 1, j + 1))
            if tag in _ANCHOR_TAGS:
                out.append(("NAMED", j, j + 1))
            elif tag == "GATE":
                out.append(("GATE", j, j + 1))
        return out

    def spacy_matches(self, words: list[str], tags: list[str]) -> list[tuple[str, int, int]]:
        """``_matches`` by spaCy's ``Matcher`` over a ``Doc`` of the tokens and their classes."""
        if not hasattr(self, "matcher"):
            self._build_spacy_matcher()
        doc = self._doc(self.nlp.vocab, words=words, spaces=[False] * len(words))
        # Doc(tags=...) costs ~40 µs a message; setting the TAG column from hashes costs ~5.
        hashes = self._tag_hashes
        tag_ids: Any = np.array([[hashes[t]] for t in tags], dtype=np.uint64)
        doc.from_array(self._tag_attr, tag_ids)
        strings = self.nlp.vocab.strings
        return [(strings[match_id], s, e) for match_id, s, e in self.matcher(doc)]

    def _assemble(
        self, matches: list[tuple[str, int, int]], words: list[str], tags: list[str]
    ) -> list[tuple[int, int]]:
        n = len(words)
        candidates: list[tuple[int, int, str]] = []
        for label, s, e in matches:
            if label == "NAMED":
                if (
                    e < n
                    and words[e] in _RELATIONAL
                    and tags[e - 1] == "SUF1"
                    and s > 0
                    and words[s - 1][-1] in self.suffix_chars
                ):
                    # 大岭村 村 尾, 大塘村 路 口: after a whole place the suffix starts a generic
                    # place (村尾, 路口); after 东湖 it ends the name (东湖路 边)
                    continue
                if tags[s] == "GAZ":
                    # A gazetteer name is whole; only a character jieba gave to the word in front
                    # of a short name belongs to it (宝 + 岗新村 is 宝岗新村, 聚 + 龙湾 聚龙湾).
                    before = words[s - 1] if s else ""
                    if (
                        len(words[s]) <= 3
                        and words[s][-1] in self.suffix_chars
                        and len(before) == 1
                        and (tags[s - 1] == "NAME" or before in _NAME_PREFIXES)
                    ):
                        s -= 1
                    candidates.append((s, e, label))
                    continue
                # 民治街道 + 小区 is no estate's name: a generic word takes no gazetteer name
                start = self._name_start(
                    words, tags, s, 1, whole_names=words[s] not in self.generic
                )
                if start is None:
                    # no name in front: only a gazetteer name or a 3+ character word like 锦绣华庭
                    if not (
                        tags[s] in ("GAZ", "GAZW") or (tags[s] == "NSUF" and len(words[s]) >= 3)
                    ):
                        continue
                    start = s
                s = start
            elif label in ("ROAD", "BUILDING"):
                start = self._name_start(words, tags, s, 1 if label == "ROAD" else 2)
                if start is None:
                    continue
                s = start
            elif label == "ROOM":
                s += 1  # the context word is not part of the place
            candidates.append((s, e, label))
        # Overlapping matches are one place and touching ones one chain (番禺区 + 钟村街道 + 谢村,
        # 祈福新村 + 8栋 + 2单元); the label is the last piece's.
        candidates.sort(key=lambda c: (c[0], -c[1]))
        merged: list[list[Any]] = []
        for s, e, label in candidates:
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1][1] = e
                    merged[-1][2] = label
            else:
                merged.append([s, e, label])
        # 30号 (a date) or 第二期 (a course) alone are no places; after a name they are (328号).
        merged = [
            m
            for m in merged
            if not (m[2] == "UNIT" and m[1] - m[0] == 2 and words[m[1] - 1] in ("号", "期"))
        ]
        for span in merged:
            # 大岭村 + 卫生站, 景泰街社区 + 广场: a place word right after a name continues it (a
            # generic one does not: 西乡街道 + 城中村, 民治街道 + 小区)
            while (
                span[1] < n
                and tags[span[1]] == "SUFW"
                and span[2] == "NAMED"
                and words[span[1]] not in self.generic
            ):
                span[1] += 1
        for span in merged:  # 7座1808: a room number right after a chain joins it
            e = span[1]
            if e < n and tags[e] == "NUM" and words[e].isdigit() and 3 <= len(words[e]) <= 4:
                span[1] = e + 1
            e = span[1]
            if words[e - 1] == "号" and e < n:  # 5号之一: a house number's sub-number
                if words[e] in _SUB_NUMBERS:
                    span[1] = e + 1
                elif words[e] == "之" and e + 1 < n and tags[e + 1] == "NUM":
                    span[1] = e + 2
        # 大石, 新造 alone are words; inside a chain (番禺大石, 新造镇) they are places.
        return [(s, e) for s, e, _ in merged if any(tags[i] != "GAZW" for i in range(s, e))]

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """``(word, start, end)`` of the normalised ``text`` as the patterns see it."""
        out = []
        pos = 0
        for word in self._tokenizer.split(text):
            out.append((word, pos, pos + len(word)))
            pos += len(word)
        return out

    def _name_start(
        self,
        words: list[str],
        tags: list[str],
        end: int,
        min_chars: int,
        *,
        whole_names: bool = True,
    ) -> int | None:
        """Start of the name that ends right before token ``end``; None when shorter than
        ``min_chars``. A name is a run of name-class tokens of at most MAX_NAME_CHARS characters
        (gazetteer names among them only when ``whole_names``)."""
        start = end
        chars = 0
        while start > 0:
            prev = start - 1
            if tags[prev] not in _NAME_TAGS or chars + len(words[prev]) > MAX_NAME_CHARS:
                break
            if not whole_names and tags[prev] == "GAZ" and words[prev].endswith(_AREA_ENDS):
                break
            start = prev
            chars += len(words[prev])
        if 0 < chars <= 2 and start > 0 and words[start - 1] in _NAME_PREFIXES:
            start -= 1  # 上 + 漖 + 村: a common first character of village names, not a word here
            chars += 1
        return start if chars >= min_chars else None


def learn_outside_words(
    extractor: LocationExtractor, examples: Iterable[tuple[Normalized, Iterable[tuple[int, int]]]]
) -> list[str]:
    """Words that occur at least twice in training texts and (almost) never inside a location.

    They can never be part of a name (住, 最近, 交楼, 下雨 …), which keeps names from swallowing the
    words in front of them. ``examples`` pairs a normalised text with its gold spans (original offsets).
    """
    inside: dict[str, int] = {}
    outside: dict[str, int] = {}
    for norm, spans in examples:
        gold = list(spans)
        for word, s, e in extractor.tokens(norm.text):
            if not _CJK.match(word):
                continue
            os_, oe = norm.to_original(s, e)
            hit = any(os_ < ge and gs < oe for gs, ge in gold)
            counts = inside if hit else outside
            counts[word] = counts.get(word, 0) + 1
    return sorted(
        w
        for w, n in outside.items()
        if n >= 2 and inside.get(w, 0) <= 0.05 * (n + inside.get(w, 0))
    )


#: A building, unit, floor or room number at the end of a place (锦绣花园9栋2单元 → 锦绣花园).
_NUMBERED_TAIL = re.compile(
    r"(?:(?:[0-9]+[a-z]?|[一二三四五六七八九十百零两〇]+)"
    r"(?:栋|座|幢|号楼|号|楼|层|单元|室|房|期|区|巷|铺|档|街|坊|队|组))+$"
)


def learn_place_names(
    extractor: LocationExtractor,
    normalizer: Normalizer,
    corrections: Iterable[tuple[Normalized, Iterable[tuple[int, int]]]],
) -> list[str]:
    """Names staff taught by correcting a ticket's place, which the extractor does not find whole.

    ``corrections`` pairs a normalised message with its corrected place spans (original offsets). A
    place the extractor already returns is not learned; otherwise its name (without a trailing
    building, floor or room number, which the patterns find) is, when it is 2–12 Chinese characters
    or letters and not a generic place word. The pipeline adds learned names to the gazetteer and
    the segmenter, so a village name staff gave once is a place in the next message."""
    learned: set[str] = set()
    for norm, spans in corrections:
        found = {(x.start, x.end) for x in extractor.extract(norm)}
        for start, end in spans:
            if (start, end) in found:
                continue
            place = normalizer.normalize(norm.original[start:end]).text.strip()
            name = _NUMBERED_TAIL.sub("", place)
            if (
                2 <= len(name) <= 12
                and re.fullmatch(r"[\u3400-\u9fffa-z]+", name)
                and name not in extractor.generic
                and name not in extractor.gazetteer
            ):
                learned.add(name)
    return sorted(learned)
