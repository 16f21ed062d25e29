"""试一试: run a pasted group message or a resident's chat turn through the bot's own logic, changing
nothing. For the console's "试一试" page (and anyone who wants to see what the bot would do).

    verdict = await try_group_message("北门嗰度垃圾堆咗三日", classifier=..., config=BotConfig.from_env())
    replies = await try_resident_turn("3栋电梯坏咗", rasa=RasaClient(settings.rasa_url), session="console-7")

A group message gets the same classifier call and the same file / review / drop decision as in a bound
grid group, without a ticket. A resident turn goes to the same Rasa dialogue and actions, under a sender id
that is not a Telegram user (``tryout:<session>``), so the form runs but the filing action files nothing
and says so; the replies come back as the bot would send them (text and button labels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.classify import Classifier
from bot.config import BotConfig
from bot.dialogue import to_outgoing
from bot.rasa import RasaClient
from bot.services.groups import Thresholds, verdict


@dataclass(frozen=True)
class GroupVerdict:
    decision: str  # file | review | drop
    nlu: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: list[str] = field(default_factory=list)


async def try_group_message(
    text: str, *, classifier: Classifier, config: BotConfig
) -> GroupVerdict:
    """What the bot would do with ``text`` said in a bound grid group."""
    [result] = await classifier.classify([text])
    thresholds = Thresholds(file=config.group_file_threshold, review=config.group_review_threshold)
    return GroupVerdict(verdict(result, thresholds), result)


async def try_resident_turn(text: str, *, rasa: RasaClient, session: str) -> list[Reply]:
    """One turn of the resident dialogue (the conversation continues per ``session``)."""
    replies = await rasa.send(sender=f"tryout:{session}", text=text, metadata={})
    outgoing, _ = to_outgoing(replies)
    return [
        Reply(
            m.text,
            [b["text"] for row in (m.reply_markup or {}).get("inline_keyboard", []) for b in row],
        )
        for m in outgoing
    ]
