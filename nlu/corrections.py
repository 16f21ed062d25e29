"""Understanding a resident's correction: "不对，是5栋不是3栋", "唔系电梯，系楼道灯".

A place or category the resident negates (不是 / 唔系 / 并非 … right before it) is the old one; one they do
not negate is the new one. Places come from the NLU's location spans, else from building-number patterns;
categories from the taxonomy's keywords, else from a confident NLU category.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nlu.place_text import merge_place

NEGATIONS = ("不是", "唔系", "唔係", "不系", "並非", "并非", "不在", "唔喺", "唔在", "冇")
#: Building, unit, floor and street numbers when the NLU found no location span.
PLACE = re.compile(
    r"[0-9０-９A-Za-z一二三四五六七八九十百零两]+\s*(?:号楼|栋|座|幢|單元|单元|楼|層|层|室|号|號|巷|街|弄)"
)
#: Words saying the place understood was wrong (the new one replaces it rather than adding to it).
WRONG = ("错", "錯", "不对", "唔啱", "唔对", "唔係", "唔系", "不是", "搞错", "弄错")
#: How sure the NLU must be before its category replaces the one the resident confirmed earlier.
MIN_CATEGORY_CONFIDENCE = 0.6


#: Words residents put before a place when asked where ("就在东风市场门口").
PLACE_PREFIXES = (
    "位置是",
    "位置在",
    "地点是",
    "地址是",
    "地址：",
    "就在",
    "就喺",
    "就係",
    "在",
    "喺",
    "係",
    "系",
    "是",
)


def clean_place(words: str) -> str:
    """A place as the resident typed it, without the leading 就在 / 喺 and trailing punctuation."""
    place = words.strip().strip("。.!！~～")
    for prefix in PLACE_PREFIXES:
        if place.startswith(prefix) and len(place) > len(prefix):
            return place[len(prefix) :].lstrip("：: ")
    return place


@dataclass(frozen=True)
class Correction:
    location: str | None = None
    category: str | None = None

    @property
    def found(self) -> bool:
        return self.location is not None or self.category is not None


def negated(text: str, start: int) -> bool:
    """True when the words right before ``start`` negate what follows (不是3栋)."""
    window = text[max(0, start - 3) : start]
    return any(n in window for n in NEGATIONS)


def _merge(current: str | None, new: str, negated_places: Sequence[str], replacing: bool) -> str:
    """Fit the new place into the one understood before: a negated place is swapped for the new one
    (幸福花园3栋, 不是3栋是5栋 → 幸福花园5栋); otherwise ``nlu.place_text.merge_place`` (a corrected number,
    a detail added, or — when the resident said the place was wrong — a replacement)."""
    if not current or new in current:
        return current or new
    for old in negated_places:
        if old and old in current:
            return current.replace(old, new, 1)
    return merge_place(current, new, replacing=replacing)


def _place(text: str, spans: Sequence[Mapping[str, Any]], current: str | None) -> str | None:
    candidates = [
        (int(s["start"]), str(s["text"]))
        for s in spans
        if s.get("text") and isinstance(s.get("start"), int) and s["start"] >= 0
    ]
    if not candidates:
        candidates = [(m.start(), m.group(0)) for m in PLACE.finditer(text)]
    fresh = [
        place
        for start, place in sorted(candidates)
        if place != current and not negated(text, start)
    ]
    if not fresh:
        return None
    old = [place for start, place in candidates if negated(text, start)]
    replacing = bool(old) or any(w in text for w in WRONG)
    return _merge(current, fresh[0], old, replacing)


def _category(
    text: str, keywords: Mapping[str, Sequence[str]], nlu: Mapping[str, Any], current: str | None
) -> str | None:
    named = set()
    for code, words in keywords.items():
        for word in words:
            at = text.find(word)
            if at >= 0 and not negated(text, at):
                named.add(code)
    named.discard(current or "")
    if len(named) == 1:
        return named.pop()
    guess = nlu.get("category")
    confidence = float(nlu.get("category_confidence") or 0.0)
    if guess and guess != current and confidence >= MIN_CATEGORY_CONFIDENCE:
        return str(guess)
    return None


def correct(
    text: str,
    *,
    current_location: str | None,
    current_category: str | None,
    spans: Sequence[Mapping[str, Any]],
    nlu: Mapping[str, Any],
    keywords: Mapping[str, Sequence[str]],
) -> Correction:
    """What the resident's correction changes (nothing found → both None)."""
    return Correction(
        location=_place(text, spans, current_location),
        category=_category(text, keywords, nlu, current_category),
    )
