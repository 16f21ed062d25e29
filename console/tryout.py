"""试一试: the web channel of the console, through the bot's own logic, filing real ``web`` tickets.

    outcomes = await paste_group_messages(pasted_text, grid_code="YX-SG-XF-01", actor_id=7,
                                          classifier=..., config=BotConfig.from_env(), db=db, domain=domain)
    replies = await resident_turn("3栋电梯坏咗", rasa=RasaClient(settings.rasa_url), person_id=42,
                               name="网页居民（chen）", action_server_port=5055)

Pasted group messages get the same classifier call and the same file / review / drop decision as in a
bound grid group (``tickets.usecases.groups.record_group_message``); a resident's turn goes to the same Rasa
dialogue and action server under the sender ``web:<person id>`` (``tickets.usecases.web``), so the form asks
what is missing, accepts corrections and files the ticket; the replies come back with their buttons.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.rasa import RasaClient, ServiceUnavailable, action_server_up, to_outgoing
from tickets import messages
from tickets.classification import Classifier
from tickets.cleaning import clean, scrub
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import InvalidInput
from tickets.settings import Settings
from tickets.usecases import web
from tickets.usecases.groups import Thresholds
from tickets.usecases.people import Speaker
from tickets.usecases.views import PastedMessage, PastedOutcome

T = TypeVar("T")

MAX_PASTE_CHARS = 20_000
MAX_PASTE_MESSAGES = 200
MAX_TURN_CHARS = 1_000

_TIME = r"(?:[01]?\d|2[0-3])[:：][0-5]\d(?:[:：][0-5]\d)?"
_DATE = (
    r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}|\d{1,2}月\d{1,2}日"
    r"|昨天|前天|今天|星期[一二三四五六日天]|周[一二三四五六日天])"
)
_WHEN = rf"(?:{_DATE}[\s,，]*)?(?:上午|下午|早上|中午|晚上|凌晨)?\s*{_TIME}"
#: A line that only says who spoke and when (``陈姨 10:32``, ``陈姨, [22.11.2026 10:32]``); the lines
#: below it, up to the next such line or a blank line, are that person's message.
HEADER = re.compile(rf"^(?P<name>[^\s\[\]：:][^\[\]：:]{{0,23}}?)[,，]?\s+\[?(?P<when>{_WHEN})\]?$")
#: ``陈姨：井盖冇咗``, ``陈姨: 井盖冇咗``, ``[10:32] 陈姨：井盖冇咗``. A name has no digits, spaces or
#: punctuation (so ``3栋：电梯坏咗`` and ``路灯10:30先熄咗`` stay whole messages).
INLINE = re.compile(
    rf"^(?:\[?(?P<when>{_WHEN})\]?\s*)?(?P<name>[^\s\d：:，,。！？!?、；;（）()\[\]【】]{{1,16}})\s*[：:]\s*(?P<text>\S.*)$"
)


def parse_paste(
    pasted: str, *, is_place: Callable[[str], bool] = lambda name: False
) -> list[PastedMessage]:
    """Pasted group chat → messages: one per line, or per block under a ``name time`` line.

    A ``name：`` prefix names the speaker unless ``is_place(name)`` (``幸福花园：电梯又坏咗`` is about a
    place, not said by it). Blank lines are skipped.
    """
    if len(pasted) > MAX_PASTE_CHARS:
        raise InvalidInput(f"粘贴的内容过长（{len(pasted)} 字），一次最多 {MAX_PASTE_CHARS} 字")
    found: list[tuple[str | None, str | None, str]] = []
    header: re.Match[str] | None = None  # the ``name time`` line above the current block
    lines: list[str] = []

    def end_block() -> None:
        nonlocal header, lines
        if header is not None and lines:
            found.append(
                (header["name"].strip(), " ".join(header["when"].split()), "\n".join(lines))
            )
        elif header is not None:  # nothing under it: it was a message after all (停水到 18:00)
            found.append((None, None, header.string))
        header, lines = None, []

    for raw in scrub(pasted).split("\n"):
        line = raw.strip()
        starts = HEADER.match(line)
        inline = INLINE.match(line)
        if inline is not None and is_place(inline["name"]):
            inline = None
        if not line or starts or inline:
            end_block()
            header = starts
        if inline is not None:
            when = " ".join(inline["when"].split()) if inline["when"] else None
            found.append((inline["name"], when, inline["text"].strip()))
        elif header is not None and not starts:
            lines.append(line)
        elif line and not starts:
            found.append((None, None, line))
    end_block()
    if len(found) > MAX_PASTE_MESSAGES:
        raise InvalidInput(f"一次最多粘贴 {MAX_PASTE_MESSAGES} 条消息（这次有 {len(found)} 条）")
    seen: dict[tuple[str | None, str | None, str], int] = {}
    messages = []
    for speaker, when, text in found:
        key = (speaker, when, text)
        messages.append(PastedMessage(text, speaker, when, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return messages


async def paste_group_messages(
    pasted: str,
    *,
    grid_code: str,
    actor_id: int,
    classifier: Classifier,
    settings: Settings,
    db: Database,
    domain: Domain,
) -> list[PastedOutcome]:
    """File what a grid's group said, pasted by the console user ``actor_id``, as the group would."""

    def places(session: Any) -> Callable[[str], bool]:
        web.paste_grid(session, domain, grid_code=grid_code, actor_id=actor_id)  # refused early
        tree = domain.units(session)
        return lambda name: tree.locate([name]) is not None

    is_place = await db.run(places)
    messages = parse_paste(pasted, is_place=is_place)
    if not messages:
        raise InvalidInput("没有可以识别的消息：请粘贴群聊内容，每行一条")
    results = await classifier.classify([m.text for m in messages])
    thresholds = Thresholds(
        file=settings.group_file_threshold, review=settings.group_review_threshold
    )
    return await db.run(
        web.record_pasted_messages,
        domain,
        messages,
        results,
        thresholds=thresholds,
        grid_code=grid_code,
        actor_id=actor_id,
    )


@dataclass(frozen=True)
class Button:
    label: str
    #: What pressing it sends as the resident's next turn (a Rasa payload such as ``/affirm``); None
    #: for a button only the Telegram bot can answer (e.g. rating a resolved ticket).
    payload: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    #: The ticket the reply is about, and ``filed`` when the reply says it was just filed.
    ticket_code: str | None = None
    kind: str = "reply"


def _buttons(markup: dict[str, Any] | None) -> tuple[Button, ...]:
    found = []
    for row in (markup or {}).get("inline_keyboard", []):
        for b in row:
            data = str(b.get("callback_data") or "")
            payload = data[1:] if data.startswith("r/") else None  # keyboards.rasa_buttons
            found.append(Button(str(b.get("text") or ""), payload))
    return tuple(found)


async def resident_turn(
    text: str,
    *,
    rasa: RasaClient,
    person_id: int,
    name: str,
    action_server_port: int,
) -> list[Reply]:
    """One turn of the web resident ``person_id`` in the resident dialogue.

    Raises ``ServiceUnavailable`` when Rasa or the action server cannot take the turn (the resident
    sends it again)."""
    text = clean(text, limit=MAX_TURN_CHARS, what="要说的话").text
    metadata = {
        "web": {
            "chat_id": web.web_chat_id(person_id),
            "message_id": secrets.randbits(53),
            "name": name,
        }
    }
    replies = await rasa.send(
        sender=Speaker(person_id=person_id).sender, text=text, metadata=metadata
    )
    shown = bubbles(replies)
    if not shown:
        if not await action_server_up(action_server_port):
            raise ServiceUnavailable("动作服务器无法连接，请确认它在运行（make run）")
        return [Reply(messages.NOT_UNDERSTOOD)]
    return shown


def bubbles(replies: list[dict[str, Any]]) -> list[Reply]:
    """Rasa's answers to a turn as the chat shows them; ``ServiceUnavailable`` when an action asked
    for the turn to be sent again (its database was down)."""
    outgoing, retry = to_outgoing(replies)
    if retry:
        raise ServiceUnavailable("动作服务器暂时无法处理（数据库忙），请稍后再发一次")
    return [Reply(m.text, _buttons(m.reply_markup), m.ticket_code, m.kind) for m in outgoing]
