"""Case clustering (个案到类案): repeated demands about the same thing in the same place become one case.

A new ticket joins a case when all of these hold, otherwise it opens a new case:
- same category;
- same area, taken at community level (a grid's community; tickets with no known area only join
  cases with no known area);
- the case had a report within the window (``Settings.cluster_window_days``);
- text similarity to one of the case's recent tickets reaches ``Settings.cluster_threshold``.

Similarity is the cosine of character bigram counts (plus unigrams at a lower weight) of the text with
particles, pronouns and other function characters removed. Place matters most within a category and area:
when both texts name building numbers (3栋, 五座 …) a shared one adds a bonus and none shared scales the
score down (different buildings are different problems). Paraphrases with no words in common (e.g. 车位太少
vs 搵唔到位停) are not caught; staff merge those by hand.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import Case, Ticket
from tickets.units import UnitTree

RECENT_TICKETS_PER_CASE = 5
#: Upper bound on tickets read per filing (the newest reports of the candidate cases).
MAX_COMPARED_TICKETS = 400
DIFFERENT_BUILDING_FACTOR = 0.3
SAME_BUILDING_BONUS = 0.15
UNIGRAM_WEIGHT = 0.3
#: Characters that carry no topic: particles (Mandarin and Cantonese), pronouns, copulas, negation,
#: degree words, time fillers.
STOP_CHARS = frozenset(
    "的了咗嘅啲吖啊呀吗嘛呢喇啦咯喎噉咁个個嗰这那我你佢他她它们哋又都也就还仲好很太真系是係有冇没无"
    "唔不在喺到去来嚟把俾给被让同和与跟及或一下次些点樣样么乜嘢咩吧哦喔哈嘿再先成日天今晚朝早"
)

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_BUILDING = re.compile(r"([0-9]+|[零一二两三四五六七八九十]+)\s*(?:栋|座|幢|号楼|棟)")
_NOISE = re.compile(r"[^\w]|_", re.UNICODE)


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _CN_DIGITS.get(ones, 0) if ones else 0
        )
    return int("".join(str(_CN_DIGITS.get(ch, 0)) for ch in text))


def buildings(text: str) -> set[int]:
    """Building numbers named in ``text``: 3栋 → 3, 十二座 → 12."""
    return {_cn_number(m.group(1)) for m in _BUILDING.finditer(text)}


def _features(text: str) -> dict[str, float]:
    clean = _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())
    kept = "".join(ch for ch in clean if ch not in STOP_CHARS)
    grams: dict[str, float] = dict(Counter(kept[i : i + 2] for i in range(len(kept) - 1)))
    for ch, count in Counter(kept).items():
        grams[ch] = grams.get(ch, 0.0) + UNIGRAM_WEIGHT * count
    return grams


def _cosine(fa: dict[str, float], fb: dict[str, float]) -> float:
    if not fa or not fb:
        return 0.0
    dot = sum(weight * fb[gram] for gram, weight in fa.items() if gram in fb)
    return dot / (
        math.sqrt(sum(v * v for v in fa.values())) * math.sqrt(sum(v * v for v in fb.values()))
    )


def _place_adjusted(score: float, ba: set[int], bb: set[int]) -> float:
    if ba and bb:
        return (
            min(1.0, score + SAME_BUILDING_BONUS) if ba & bb else score * DIFFERENT_BUILDING_FACTOR
        )
    return score


def similarity(a: str, b: str) -> float:
    """Topic-and-place similarity of two demand texts, from 0 (unrelated) to 1."""
    return _place_adjusted(_cosine(_features(a), _features(b)), buildings(a), buildings(b))


def cluster_area(tree: UnitTree, area_id: int | None) -> int | None:
    """The area a case is grouped by: the community of a grid, or the area itself above that."""
    unit = tree.by_id.get(area_id) if area_id is not None else None
    if unit is None:
        return None
    community = tree.area_at(unit, "community")
    return (community or unit).id


def find_case(
    session: Session,
    *,
    category: str,
    area_id: int | None,
    text: str,
    now: datetime,
    window_days: int,
    threshold: float,
) -> tuple[Case | None, float]:
    """The recent case of ``category`` in ``area_id`` (already at cluster level) that ``text`` belongs to,
    with its similarity; (None, best score) when no case reaches ``threshold``.

    One query: the latest tickets of every candidate case, newest first; each case is compared through
    its RECENT_TICKETS_PER_CASE most recent reports.
    """
    since = now - timedelta(days=window_days)
    rows = session.execute(
        select(Ticket.case_id, Ticket.redacted_text)
        .join(Case, Case.id == Ticket.case_id)
        .where(
            Case.category == category,
            Case.area_id.is_(None) if area_id is None else Case.area_id == area_id,
            Case.last_report_at >= since,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(MAX_COMPARED_TICKETS)
    )
    features, places = _features(text), buildings(text)
    seen: dict[int, int] = {}
    best_score, best_id = 0.0, None
    for case_id, other in rows:
        if seen.get(case_id, 0) >= RECENT_TICKETS_PER_CASE:
            continue
        seen[case_id] = seen.get(case_id, 0) + 1
        score = _place_adjusted(_cosine(features, _features(other)), places, buildings(other))
        if score > best_score:
            best_score, best_id = score, case_id
    if best_id is None or best_score < threshold:
        return None, best_score
    return session.get(Case, best_id), best_score
