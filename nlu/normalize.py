"""Text normalisation with offsets back into the original text.

Steps, in order:

1. one character → one character (length kept): full-width ASCII → half-width, ideographic and other
   spaces → space, Latin letters → lower case, traditional → simplified (``data/lexicon/t2s_chars.tsv``);
2. forward framing at the start (``【转发】陈姨：``, ``转发：``, ``群里有人反映``, ``帮邻居问下``,
   ``Forwarded from …``) is stripped and kept as :class:`Framing` metadata; the speaker's words stay;
3. ``@mentions`` and placeholders such as ``[图片]`` are stripped and kept as metadata;
4. common Cantonese colloquialisms → standard written Chinese (``data/lexicon/cantonese.tsv``,
   longest match first), whitespace runs → one space, leading and trailing space removed;
5. long numbers (phone and ID numbers, 7+ digits) → one ``☎``, so eleven digits do not outweigh the
   words of a short message.

:class:`Normalized` maps any span of the normalised text back to the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlu.patterns import first_chars
from nlu.resources import LEXICON_DIR, TableFile

_FORWARD_TAG = re.compile(r"转|反映|反应|群消息|fw")
_PREFIX = re.compile(
    r"^\s*(?:【\s*(?P<tag>[^】]{1,12}?)\s*】|\[(?P<tag2>转发|转|fwd?)\]|(?P<tag3>转发|转|fwd?)\s*[:：]"
    r"|forwarded from (?P<origin>[^:：\n]{1,40})[:：]?)\s*"
)
_RELAY = re.compile(
    r"(?P<relay>(?:群里|群入面|有)(?:有人|街坊|居民|邻居|业主|村民)?(?:反映|反应|讲|话|说|投诉)"
    r"|帮(?:邻居|街坊|隔离|隔篱|楼上|楼下)[^，,：:\s]{0,4}?问(?:下|一下)?)"
    r"(?=[:：，, ]|[^\s:：，,]{2})[:：，,]?\s*"
)
_SPEAKER = re.compile(r"(?P<speaker>[^\s：:，,。！!？?\[\]【】]{1,10})[：:]\s*")
_MENTION = r"@(?:[a-z0-9_]{3,32}|[^\s@，,。:：!！?？、\[\]【】]{1,12}(?=[\s,，:：]|$))\s*"
_LONG_NUMBER = r"(?<![0-9])\+?[0-9](?:[ \-]?[0-9]){6,}x?(?![0-9])"
_PLACEHOLDER = r"[\[【](?:图片|照片|语音|视频|表情|动画表情|文件|位置|链接|贴纸|红包|sticker|photo|image|voice|video)[\]】]"


@dataclass(frozen=True, slots=True)
class Framing:
    """What the normaliser stripped: forward markers, the quoted speaker, mentions, placeholders."""

    forwarded: bool = False
    speaker: str | None = None
    relay: str | None = None
    mentions: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Only what was found, e.g. ``{"forwarded": True, "speaker": "陈姨"}``."""
        out: dict[str, Any] = {}
        if self.forwarded:
            out["forwarded"] = True
        if self.speaker:
            out["speaker"] = self.speaker
        if self.relay:
            out["relay"] = self.relay
        if self.mentions:
            out["mentions"] = list(self.mentions)
        if self.attachments:
            out["attachments"] = list(self.attachments)
        return out


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text and how its characters map to the original text."""

    original: str
    text: str
    framing: Framing = field(default_factory=Framing)
    starts: tuple[int, ...] | None = None  # None: identity mapping
    ends: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span covering normalised ``[start, end)`` (``end > start``)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _load_t2s(path: Path, keep: set[str]) -> dict[int, str]:
    return {ord(t): s for t, s in TableFile(path).pairs() if t not in keep}


_SPACE = re.compile(r"\s")
#: Characters nobody sees: zero-width spaces and joiners, the word joiner, the BOM, bidi controls.
_INVISIBLE = "[\u200b-\u200f\u2060-\u2064\u2066-\u2069\u202a-\u202e\ufeff]"


class Normalizer:
    """Build once (reads two lexicon files); ``normalize`` is pure and thread-safe."""

    def __init__(self, lexicon_dir: Path | None = None, *, skip_searches: bool = True) -> None:
        lexicon_dir = lexicon_dir or LEXICON_DIR
        self._phrases = dict(TableFile(lexicon_dir / "cantonese.tsv").pairs())
        single_keys = {k for k in self._phrases if len(k) == 1}
        table: dict[int, str] = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
        table.update({c: " " for c in (0x3000, 0xA0, 0x2002, 0x2003, 0x2009, 0x9, 0xA, 0xD)})
        table.update({c: chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
        table.update(_load_t2s(lexicon_dir / "t2s_chars.tsv", keep=single_keys))
        # A full-width letter must end lower case too.
        for c in range(0xFF21, 0xFF3B):
            table[c] = chr(c - 0xFEE0 + 32)
        self._table = str.maketrans(table)
        keys = sorted(self._phrases, key=len, reverse=True)
        self._inline = re.compile(
            f"(?P<zw>{_INVISIBLE}+)"
            f"|(?P<mention>{_MENTION})|(?P<ph>{_PLACEHOLDER})|(?P<num>{_LONG_NUMBER})"
            f"|(?P<ws>\\s{{2,}}|^\\s+|\\s+$)"
            f"|(?P<yue>{'|'.join(map(re.escape, keys))})"
        )
        # The same scan in two patterns: Python's re cannot skip ahead in the alternation above
        # (its first branches start with look-arounds), but it can in an alternation of literal
        # phrases alone (4x faster). ``_inline_matches`` merges them as the one pattern would.
        self._marks = re.compile(
            f"(?P<zw>{_INVISIBLE}+)"
            f"|(?P<mention>{_MENTION})|(?P<ph>{_PLACEHOLDER})|(?P<num>{_LONG_NUMBER})"
            f"|(?P<ws>\\s{{2,}}|^\\s+|\\s+$)"
        )
        self._yue = re.compile("|".join(map(re.escape, keys))) if keys else None
        # Most messages hold no mark at all: none of the characters the marks other than spaces
        # can start with (``first_chars``), and no whitespace. Then the scan for marks is skipped
        # (``skip_searches=False``: never; the reference for tests).
        self._mark_chars = (
            first_chars(re.compile(f"{_INVISIBLE}+|{_MENTION}|{_PLACEHOLDER}|{_LONG_NUMBER}"))
            if skip_searches
            else None
        )

    def body(self, norm: Normalized) -> str:
        """The normalised text without the quoted speaker of a forward (``陈姨:`` of
        ``【转发】陈姨：…``): what the classifier reads. The name says nothing about the demand, and a
        forwarded complaint must read like the same complaint sent directly. Locations still see the
        whole normalised text (a speaker may be named after a building)."""
        speaker = norm.framing.speaker
        text = norm.text
        if not (norm.framing.forwarded and speaker):
            return text
        name = speaker.translate(self._table)
        if text.startswith(name) and text[len(name) : len(name) + 1] == ":":
            return text[len(name) + 1 :].lstrip()
        return text

    def normalize(self, original: str) -> Normalized:
        """Normalise one message; see the module docstring for the steps."""
        text = original.translate(self._table)
        edits: list[tuple[int, int, str]] = []
        pos = 0
        forwarded = False
        speaker = relay = None
        m = _PREFIX.match(text)
        if m and (m.group("tag") is None or _FORWARD_TAG.search(m.group("tag"))):
            forwarded = True
            edits.append((0, m.end(), ""))
            pos = m.end()
            if m.group("origin"):
                speaker = original[m.start("origin") : m.end("origin")].strip()
            tag = m.group("tag") or ""
            if "反映" in tag or "反应" in tag:
                relay = tag
        r = _RELAY.match(text, pos)
        if r:
            relay = original[r.start("relay") : r.end("relay")]
            edits.append((pos, r.end(), ""))
            pos = r.end()
        if forwarded and speaker is None:
            s = _SPEAKER.match(text, pos)
            if s:
                speaker = original[s.start("speaker") : s.end("speaker")]
        mentions: list[str] = []
        attachments: list[str] = []
        for m, kind in self._inline_matches(text, pos):
            if kind == "yue":
                replacement = self._phrases[m.group()]
                if replacement != m.group():
                    edits.append((m.start(), m.end(), replacement))
            elif kind == "zw":  # 路\u200d灯 is 路灯: invisible characters never split a word
                edits.append((m.start(), m.end(), ""))
            elif kind == "num":
                edits.append((m.start(), m.end(), "☎"))
            elif kind == "ws":
                at_edge = m.start() == 0 or m.end() == len(text)
                edits.append((m.start(), m.end(), "" if at_edge else " "))
            elif kind == "mention":
                mentions.append(original[m.start() + 1 : m.end()].strip())
                edits.append((m.start(), m.end(), ""))
            else:
                attachments.append(m.group()[1:-1])
                edits.append((m.start(), m.end(), ""))
        framing = Framing(forwarded, speaker, relay, tuple(mentions), tuple(attachments))
        if not edits:
            return Normalized(original, text, framing)
        return _apply(original, text, edits, framing)

    def _inline_matches(self, text: str, pos: int) -> list[tuple[re.Match[str], str | None]]:
        """``[(m, m.lastgroup) for m in self._inline.finditer(text, pos)]``, from two faster scans.

        At a position where both match, the marks win (their branches come first in ``_inline``);
        a match found earlier stays the first one at or after any later position before it."""
        out: list[tuple[re.Match[str], str | None]] = []
        marks, yue = self._marks, self._yue
        n = len(text)
        chars = self._mark_chars
        if chars is not None and chars.isdisjoint(text) and _SPACE.search(text) is None:
            mark = None  # the same as marks.search(text, pos), without the scan
        else:
            mark = marks.search(text, pos)
        phrase = yue.search(text, pos) if yue is not None else None
        while pos <= n and (mark is not None or phrase is not None):
            if mark is not None and (phrase is None or mark.start() <= phrase.start()):
                m, kind = mark, mark.lastgroup
            else:
                assert phrase is not None
                m, kind = phrase, "yue"
            out.append((m, kind))
            pos = m.end()
            if mark is not None and mark.start() < pos:
                mark = marks.search(text, pos)
            if phrase is not None and phrase.start() < pos:
                phrase = yue.search(text, pos) if yue is not None else None
        return out


def _apply(
    original: str, text: str, edits: list[tuple[int, int, str]], framing: Framing
) -> Normalized:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for start, end, replacement in sorted(edits):
        if start < last:  # overlapping edit (e.g. trailing space after a stripped prefix)
            start = last
            if end <= start:
                continue
        out.append(text[last:start])
        starts.extend(range(last, start))
        ends.extend(range(last + 1, start + 1))
        out.append(replacement)
        starts.extend([start] * len(replacement))
        ends.extend([end] * len(replacement))
        last = end
    out.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    joined = "".join(out)
    if not (joined.startswith(" ") or joined.endswith(" ") or "  " in joined):
        return Normalized(original, joined, framing, tuple(starts), tuple(ends))
    # Stripping can leave a space at either end or two spaces in a row; drop them.
    keep = [
        i
        for i, ch in enumerate(joined)
        if ch != " " or (0 < i < len(joined) - 1 and joined[i - 1] != " " and joined[i + 1] != " ")
    ]
    if len(keep) != len(joined):
        joined = "".join(joined[i] for i in keep)
        starts = [starts[i] for i in keep]
        ends = [ends[i] for i in keep]
    return Normalized(original, joined, framing, tuple(starts), tuple(ends))
