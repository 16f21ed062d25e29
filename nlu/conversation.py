"""A report told over several turns: what each turn contributes, and what the whole report is.

Residents rarely say everything at once: "我妈跌倒了" → "石岗村7号" → "佢而家好痛"; "屋企有啲问题" →
"煤气喉好似漏气" → an address; "其实不是漏水，是水压太低". Each turn is read once into a ``Turn`` (its
NLU result and its role in the report) and the report is decided over all of them by ``verdict``:

- a turn that only gives a place, answers a question or acknowledges carries no weight for the
  category; story turns count by how sure the NLU is that they are a demand;
- a turn that changes the story ("其实不是…", "唔系…系…") makes the turns before it count little;
- the classification of the whole story (the story turns joined, classified once more) is averaged in;
- urgency is sticky: once any turn meets the 立即办 rule the report is urgent, unless the resident
  later retracts it ("冇事了", "虚惊一场").

Also here: answers to "where?" that are not places (``non_answer``), and whether a turn after a filing
starts a new report or goes on with the last one (``starts_new_report``). Pure Python; the dialogue
(actions/report.py) keeps the turns in a slot and calls these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nlu.place_text import PlaceWords, join_spans

#: Weight of the whole story's classification (all its turns read together, as a dispatcher would)
#: against the average of the per-turn evidence.
STORY_WEIGHT = 0.7
#: How much the turns before a story change still count.
BEFORE_CHANGE = 0.15
#: A new report after a filing needs the NLU this sure of a demand and of a different category.
NEW_REPORT_DEMAND = 0.8
NEW_REPORT_CATEGORY = 0.6
#: ... and the report told so far must give that category less than this share.
NEW_REPORT_STORY_SHARE = 0.1


class Role(StrEnum):
    """What a turn does in the report."""

    STORY = "story"  # says what happened (or more about it)
    PLACE = "place"  # only where
    CORRECTION = "correction"  # says something understood was wrong
    NON_ANSWER = "non_answer"  # "刚才讲了", "唔知", "就系屋企"
    RETRACTION = "retraction"  # "冇事了", "虚惊一场"
    ACK = "ack"  # 好 / 嗯 / ok / a button press


class NonAnswer(StrEnum):
    """Replies to "where?" that are not a place."""

    ALREADY_SAID = "already_said"  # 刚才已经讲了呀: look back at the earlier turns
    UNKNOWN = "unknown"  # 唔知 / 说不清: the resident cannot say
    HOME = "home"  # 就系屋企: a place, but no address
    REFUSED = "refused"  # 你哋自己查啦


_NON_ANSWERS: tuple[tuple[NonAnswer, re.Pattern[str]], ...] = (
    (
        NonAnswer.ALREADY_SAID,
        re.compile(
            r"(刚才|頭先|头先|啱先|啱啱|之前|上面|前面|一早|已经|早就|都)"
            r".{0,4}(讲|說|说|话|講|写|寫|打|讲咗|讲过|说过|说了|话咗|话过|告诉|讲左)"
            r"|(讲|说|話|话)(过|咗|左|了)(啦|喇|呀|嘛|㗎|啊)"
        ),
    ),
    (
        NonAnswer.UNKNOWN,
        re.compile(
            r"^(我)?(都)?(唔知|唔清楚|不知道|不清楚|唔记得|不记得|忘了|唔识讲|说不清|讲唔清|讲不清|"
            r"说不上|讲唔出|搞唔清|不太清楚|唔太清楚|不确定|唔肯定|冇地址|没有地址|无地址)"
        ),
    ),
    (
        NonAnswer.REFUSED,
        re.compile(
            r"(你哋|你们|你地|你自己|自己)(去)?(查|睇|搵|找|问)|问咁多|问这么多|关你|唔使你理|不用你管"
        ),
    ),
    (
        NonAnswer.HOME,
        re.compile(
            r"^(就|就是|就系|係|系|是|喺|在)?(我)?(屋企|屋企度|家里|家裏|我家|屋里|屋裡|屋度|住的地方|住嘅地方)"
            r"(啊|呀|啦|喇|嘛|咯|度|里|入面|里面)?$"
        ),
    ),
)
_RETRACTION = re.compile(
    r"(冇事|没事|無事|无事)(了|喇|啦|嘞|咗)|虚惊一场|虛驚|误会|誤會|搞错咗|弄错了|"
    r"(已经|已經|都)(好返|好了|搞掂|处理好|修好|熄灭|扑灭|找到|搵到|返嚟|回来|回家|冇事)|"
    r"(唔使|不用|唔洗|不需要)(嚟|来|派人|过来|上来)"
)
_CORRECTION = re.compile(
    r"^(不对|唔对|唔啱|不是|唔系|唔係|不系|错|錯)|"
    r"(不对|唔对|唔啱|讲错|说错|搞错|弄错|打错|写错|更正|纠正|应该是|应该系|应该係|应该喺|应该在|其实是|其实系|其实係|"
    r"其实不是|其实唔系|其实唔係|不是.{1,12}(而)?是|唔系.{1,12}(而)?系|唔係.{1,12}係|sorry|不好意思|唔好意思)"
)
#: A correction that changes what the report is about, not where (其实不是漏水，是水压太低).
_STORY_CHANGE = re.compile(
    r"其实|其實|(不是|唔系|唔係).{1,12}(问题|問題|事|嘢)?[，,、 ]*(而是|是|系|係)"
)
#: Words that open a new problem after a filing (另外 / 仲有 / 还有一件事).
_NEW_TOPIC = re.compile(
    r"^(另外|此外|仲有|還有|还有|另一|另一个|另一件|顺便|順便|再反映|再投诉|再報)"
)
_ACK = re.compile(
    r"^(好|好的|好啊|好呀|嗯+|哦+|噢|ok|okay|收到|知道|明白|得|系|是|对|對|行|可以|多谢|谢谢|唔该|thx|thanks)[!！。.~～]*$",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"[\s，。、,.!！?？~～:：;；…·\"'“”‘’()（）\[\]【】0-9a-zA-Z一二三四五六七八九十百零两〇]"
    r"|在|喺|係|系|是|就|地址|位置|具体|呢度|这里|那里|嗰度|度|啊|呀|啦|喇|嘅|的|了|咗|号|號|楼|樓|栋|座|单元|房|室|层"
)


#: A status question refers to an earlier report: its progress, or the report itself.
_EARLIER = re.compile(
    r"进度|進度|进展|進展|怎么样了|怎樣了|点样(了|呀|啊|喇)|点呀|如何了|"
    r"(修|整|搞|处理|處理|解决|解決|弄)(好|掂|妥)?(了|咗|左)?(没|未|吗|冇|未呀|未啊)|"
    r"(有冇|有没有|有無)(人)?(理|跟进|跟進|处理|處理|回复|回覆|嚟|来|结果)|结果|結果|回复|回覆|跟进|跟進|"
    r"几时.{0,4}(修|整|搞|处理|嚟|来|有人)|什么时候.{0,4}(修|处理|来|有人)|"
    r"(跟|搞|整|处理|處理|跟进)(成|得)点|工单|工單|单号|單號|mw[\s-]?\d|"
    r"(我|之前|上次|上个?(礼拜|禮拜|星期|周|月)|前几日|前幾日|前几天|前日|琴日|尋日|昨天|早两日)"
    r".{0,8}(报|報|反映|投诉|投訴|提)(过|過|嘅|的|咗|左|了)"
)


#: Words that really mean "drop it" (the NLU's cancel intent alone must not throw a report away).
_CANCEL = re.compile(
    r"取消|撤回|撤销|撤銷|算了|算啦|算喇|唔使|不用|唔好|不要|不报|唔报|唔想报|不想报|报错|報錯|发错|撳错|按错|"
    r"删除|删掉|刪|放弃|放棄|停止|中止|退出|唔搞|不搞|当我冇讲|当我没说|cancel|stop",
    re.IGNORECASE,
)


def means_cancel(text: str) -> bool:
    """Whether the resident really asks to drop what they were reporting (or pressed /cancel)."""
    plain = text.strip()
    return plain.startswith("/cancel") or bool(_CANCEL.search(plain))


def asks_about_earlier(text: str) -> bool:
    """Whether ``text`` asks about an earlier report (a status question), not a new problem."""
    return bool(_EARLIER.search(text.lower()))


def non_answer(text: str) -> NonAnswer | None:
    """Which kind of non-answer to "where?" ``text`` is, or None when it may name a place."""
    plain = text.strip().strip("。.!！~～ ")
    for kind, pattern in _NON_ANSWERS:
        if pattern.search(plain):
            return kind
    return None


def is_retraction(text: str) -> bool:
    return bool(_RETRACTION.search(text))


def is_correction(text: str) -> bool:
    return bool(_CORRECTION.search(text.strip().lower()))


def changes_story(text: str) -> bool:
    """A correction of what happened, not of where (其实不是漏水，是水压太低)."""
    return bool(_STORY_CHANGE.search(text))


@dataclass(frozen=True)
class Turn:
    """One resident turn of a report, as the NLU read it."""

    text: str
    role: Role
    demand: float = 0.0
    category: str | None = None
    ranking: tuple[tuple[str, float], ...] = ()
    urgent: bool = False
    places: tuple[str, ...] = ()
    changes_story: bool = False

    @property
    def weight(self) -> float:
        """How much this turn says about the category."""
        if self.role in (Role.STORY, Role.CORRECTION):
            return max(self.demand, 0.05)
        return 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "role": self.role.value,
            "demand": round(self.demand, 4),
            "category": self.category,
            "ranking": [[c, round(p, 4)] for c, p in self.ranking],
            "urgent": self.urgent,
            "places": list(self.places),
            "changes_story": self.changes_story,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Turn:
        return cls(
            text=str(d.get("text") or ""),
            role=Role(str(d.get("role") or Role.STORY)),
            demand=float(d.get("demand") or 0.0),
            category=d.get("category"),
            ranking=tuple((str(c), float(p)) for c, p in d.get("ranking") or ()),
            urgent=bool(d.get("urgent")),
            places=tuple(str(p) for p in d.get("places") or ()),
            changes_story=bool(d.get("changes_story")),
        )


def places_of(text: str, nlu: Mapping[str, Any]) -> tuple[str, ...]:
    """The NLU's location spans of ``text`` as places (touching spans joined into one chain)."""
    spans = [
        (int(s["start"]), int(s["end"]), str(s["text"]))
        for s in nlu.get("locations") or ()
        if isinstance(s, Mapping) and s.get("text") and isinstance(s.get("start"), int)
    ]
    return tuple(join_spans(text, spans))


def read_turn(
    text: str,
    nlu: Mapping[str, Any],
    *,
    words: PlaceWords | None = None,
    asked_where: bool = False,
) -> Turn:
    """The role of one turn and what the NLU said about it. ``asked_where``: the turn answers
    "where?", so a short reply naming a place the extractor does not know is taken as one (``words``)."""
    places = places_of(text, nlu)
    if words is not None:  # the extractor's spans cleaned as answers are (喺莞城… → 莞城…)
        places = tuple(dict.fromkeys(words.clean(p) or p for p in places))
    ranking = tuple((str(c), float(p)) for c, p in nlu.get("ranking") or ())
    base = {
        "text": text,
        "demand": float(nlu.get("demand_confidence") or 0.0),
        "category": nlu.get("category"),
        "ranking": ranking,
        "urgent": bool(nlu.get("urgent")),
        "places": places,
    }
    plain = text.strip()
    if not plain or plain.startswith("/") or _ACK.match(plain):
        return Turn(**{**base, "urgent": False}, role=Role.ACK)  # type: ignore[arg-type]
    if non_answer(plain) is not None and not places:
        return Turn(**{**base, "urgent": False}, role=Role.NON_ANSWER)  # type: ignore[arg-type]
    if is_retraction(plain) and not base["urgent"]:
        return Turn(**base, role=Role.RETRACTION)  # type: ignore[arg-type]
    if is_correction(plain):
        return Turn(**base, role=Role.CORRECTION, changes_story=changes_story(plain) and not places)  # type: ignore[arg-type]
    rest = plain
    for place in places:
        rest = rest.replace(place, "")
    if words is not None and asked_where:
        # A reply that is only a place is the place as typed (the extractor may cut an unknown name
        # short: 喺市桥桥南路 → 市桥桥); a sentence that mentions places keeps the extractor's.
        answered = words.answer(plain)  # the whole reply, cleaned, when it is only a place
        if answered is not None:
            whole = _compact(answered)
            if not places or all(_compact(p) in whole for p in places):
                return Turn(**{**base, "places": (whole,), "urgent": False}, role=Role.PLACE)  # type: ignore[arg-type]
    if places and len(_content(rest)) < 2:
        return Turn(**{**base, "urgent": False}, role=Role.PLACE)  # type: ignore[arg-type]
    return Turn(**base, role=Role.STORY)  # type: ignore[arg-type]


def _content(text: str) -> str:
    return _FILLER.sub("", text)


def _compact(place: str) -> str:
    """A place without the spaces and punctuation residents put inside it (37号 一楼 → 37号一楼)."""
    return re.sub(r"[\s，。、,.!！?？~～:：;；·]", "", place)


@dataclass(frozen=True)
class Verdict:
    """What the report is, decided over its turns."""

    category: str | None
    confidence: float
    urgent: bool
    ranking: tuple[tuple[str, float], ...] = field(default=())


def story_text(turns: Sequence[Turn]) -> str:
    """The turns that tell what happened (since the last change of story), joined: the text the whole
    story is classified by."""
    start = _last_change(turns)
    return "。".join(
        t.text
        for t in turns[start:]
        if t.text and (t.role is Role.STORY or (t.role is Role.CORRECTION and t.changes_story))
    )


def _last_change(turns: Sequence[Turn]) -> int:
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].changes_story:
            return i
    return 0


def verdict(turns: Sequence[Turn], story: Mapping[str, Any] | None = None) -> Verdict:
    """Category and urgency of the report over all its turns (``story``: the NLU result of
    ``story_text(turns)``, when it could be classified)."""
    change = _last_change(turns)
    scores: dict[str, float] = {}
    total = 0.0
    for i, turn in enumerate(turns):
        weight = turn.weight * (BEFORE_CHANGE if i < change else 1.0)
        if not weight:
            continue
        total += weight
        ranking = turn.ranking or (((turn.category, 1.0),) if turn.category else ())
        for code, p in ranking:
            scores[code] = scores.get(code, 0.0) + weight * p
    combined = {c: s / total for c, s in scores.items()} if total else {}
    if story is not None and story.get("ranking"):
        mixed: dict[str, float] = {c: (1 - STORY_WEIGHT) * s for c, s in combined.items()}
        for code, p in story["ranking"]:
            mixed[str(code)] = mixed.get(str(code), 0.0) + STORY_WEIGHT * float(p)
        if not combined:
            mixed = {c: s / STORY_WEIGHT for c, s in mixed.items()}
        combined = mixed
    ranking = tuple(sorted(combined.items(), key=lambda kv: (-kv[1], kv[0])))[:5]
    return Verdict(
        category=ranking[0][0] if ranking else None,
        confidence=ranking[0][1] if ranking else 0.0,
        urgent=is_urgent(turns, story),
        ranking=ranking,
    )


def is_urgent(turns: Iterable[Turn], story: Mapping[str, Any] | None = None) -> bool:
    """Sticky urgency: any turn (or the whole story) urgent, and not retracted since."""
    urgent = False
    for turn in turns:
        if turn.urgent:
            urgent = True
        elif turn.role is Role.RETRACTION:
            urgent = False
    if story is not None and story.get("urgent"):
        retracted_after = False
        for turn in turns:
            retracted_after = turn.role is Role.RETRACTION or (retracted_after and not turn.urgent)
        urgent = urgent or not retracted_after
    return urgent


def starts_new_report(turn: Turn, story: Verdict, *, strict: bool = False) -> bool:
    """After a filing, whether ``turn`` reports a new problem rather than going on with the filed one
    (``story``: the verdict over the report's turns).

    "另外…" / "仲有…" always do. Otherwise the turn must be a confident demand of a category the story
    gives next to no weight to (more about the same emergency often sounds like another category:
    "撳咗警钟冇人应，电话得一格信号" after being trapped in a lift). An urgent turn after an urgent
    report goes on with it: a second emergency in the same minutes without "另外" is far more often the
    first one told in more detail (好似卡咗喺两层楼中间 after 困咗喺𨋢入面), and splitting it would file
    an urgent ticket without the address just given. ``strict`` (an urgent report whose place is
    still being asked) also wants the new problem to come with its own place."""
    if turn.role is not Role.STORY:
        return False
    if _NEW_TOPIC.match(turn.text.strip()) and turn.demand >= 0.5:
        return True
    if story.urgent and turn.urgent:
        return False
    if strict and not turn.places:
        return False
    confident = turn.ranking[0][1] if turn.ranking else 0.0
    in_story = dict(story.ranking).get(turn.category or "", 0.0)
    return (
        turn.demand >= NEW_REPORT_DEMAND
        and turn.category is not None
        and turn.category != story.category
        and confident >= NEW_REPORT_CATEGORY
        and in_story < NEW_REPORT_STORY_SHARE
    )
