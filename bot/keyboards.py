"""Inline keyboards as Bot API JSON (they are stored in the outbox as they are sent).

Callback data: ``t:<action>:<code>[:<arg>]`` staff card buttons (tickets.messages.staff_keyboard),
``rate:<code>:<value>`` rating buttons (tickets.messages.rating_keyboard), ``g:<action>:<code>[:<arg>]``
a grid member's corrections of a forward, ``r<payload>`` a Rasa button (the payload, e.g. ``/affirm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import texts
from tickets.taxonomy import Taxonomy

Keyboard = dict[str, Any]
MAX_CALLBACK_BYTES = 64


def _button(text: str, data: str) -> dict[str, str]:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return {"text": text, "callback_data": data}


def _rows(buttons: Sequence[dict[str, str]], per_row: int) -> list[list[dict[str, str]]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def rasa_buttons(buttons: Sequence[dict[str, Any]]) -> Keyboard | None:
    """Rasa's ``buttons`` ({title, payload}) as an inline keyboard; payloads that do not fit are dropped."""
    row = [
        _button(str(b["title"]), "r" + str(b["payload"]))
        for b in buttons
        if b.get("title") and b.get("payload") and len(("r" + str(b["payload"])).encode()) <= 64
    ]
    return {"inline_keyboard": _rows(row, 3)} if row else None


def categories(taxonomy: Taxonomy, code: str, prefix: str) -> Keyboard:
    """Every category as a button ``<prefix>:<code>:<category>`` and a way back."""
    buttons = [_button(c.name, f"{prefix}:{code}:{c.code}") for c in taxonomy.categories]
    back = prefix.split(":")[0] + ":back:" + code
    return {"inline_keyboard": [*_rows(buttons, 3), [_button(texts.BACK, back)]]}


def units(code: str, choices: Sequence[tuple[int, str]], action: str = "unit") -> Keyboard:
    """Units to dispatch to (``t:unit``) or to ask for help (``t:hunit``), and a way back."""
    buttons = [_button(name[:30], f"t:{action}:{code}:{unit_id}") for unit_id, name in choices]
    return {"inline_keyboard": [*_rows(buttons, 2), [_button(texts.BACK, f"t:back:{code}")]]}


def send_back_reasons(code: str, reasons: Sequence[str]) -> Keyboard:
    """退单: the usual reasons as one-click buttons (``t:sb:<code>:<n>``), other words, and back."""
    buttons = [_button(r, f"t:sb:{code}:{n}") for n, r in enumerate(reasons)]
    return {
        "inline_keyboard": [
            *_rows(buttons, 1),
            [
                _button(texts.OTHER_REASON, f"t:sbother:{code}"),
                _button(texts.BACK, f"t:back:{code}"),
            ],
        ]
    }


def forward_result(code: str) -> Keyboard:
    return {
        "inline_keyboard": [
            [
                _button(texts.FORWARD_CONFIRM, f"g:ok:{code}"),
                _button(texts.FORWARD_RECLASSIFY, f"g:cat:{code}"),
                _button(texts.FORWARD_NOT_DEMAND, f"g:no:{code}"),
            ]
        ]
    }


FORCE_REPLY: Keyboard = {"force_reply": True}
