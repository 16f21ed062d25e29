"""Text from outside, made safe to store and classify: one cleaning for every input path.

Telegram (private, group, forwards, edits), Open311, console forms, the 试一试 page and the command line all
pass what people typed through :func:`clean` before it reaches a shared transaction, the NLU or a log line:

- lone surrogates (``\\ud800``; valid in a JSON string, not encodable as UTF-8) become U+FFFD;
- NUL and other control characters go (PostgreSQL refuses NUL in text; SQLite would keep it); ``\\r\\n``
  and ``\\r`` become ``\\n``; tabs stay;
- zero-width characters and bidirectional overrides go (``路\\u200d灯`` is 路灯 to a reader, and an
  override can make a log line or a staff card read backwards), keeping the joiners that hold an emoji
  sequence together;
- the result is NFC-normalised and stripped.

:func:`clean` also applies a length limit: refuse (the default) or cut with a mark, so a caller that must
never drop a message (a grid group) can keep the whole text elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tickets.errors import InvalidInput

#: Characters removed: C0/C1 controls except tab and newline, zero-width spaces and marks, the word
#: joiner, the BOM, and bidirectional embeddings/overrides/isolates.
_REMOVE = re.compile(
    "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u200b\\u200c\\u200e\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]"
)
_SURROGATE = re.compile("[\\ud800-\\udfff]")
TRUNCATION_MARK = "……（内容过长，已截断）"


@dataclass(frozen=True)
class Cleaned:
    """A cleaned text and what cleaning did to it."""

    text: str
    original_length: int
    removed: int = 0
    truncated: bool = False


def _pictograph(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F000 <= ord(ch) <= 0x1FAFF


def _strip_joiners(text: str) -> str:
    """Zero-width joiners out, except between two pictographs (an emoji sequence: 👨‍👩‍👧)."""
    if "\u200d" not in text:
        return text
    out = []
    for i, ch in enumerate(text):
        if ch == "\u200d":
            before = text[i - 1] if i > 0 else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            if (
                before
                and after
                and _pictograph(before.replace("\ufe0f", ""))
                and (_pictograph(after))
            ):
                out.append(ch)
            continue
        out.append(ch)
    return "".join(out)


def scrub(value: str) -> str:
    """``value`` without what no reader sees or no store takes (no length limit, no stripping)."""
    text = _SURROGATE.sub("\ufffd", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n")
    text = _REMOVE.sub("", text)
    text = _strip_joiners(text)
    return unicodedata.normalize("NFC", text)


def clean(
    value: object,
    *,
    limit: int,
    what: str = "内容",
    truncate: bool = False,
    allow_empty: bool = False,
) -> Cleaned:
    """Clean ``value`` for storing (see the module docstring).

    Raises ``InvalidInput`` (with a message for the person who typed it) when ``value`` is not text, is
    empty after cleaning (unless ``allow_empty``) or is longer than ``limit`` (unless ``truncate``: then
    it is cut and marked)."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}必须是文字")
    text = scrub(value).strip()
    removed = max(0, len(value.strip()) - len(text))
    if not text and not allow_empty:
        raise InvalidInput(f"{what}不能为空")
    if len(text) > limit:
        if not truncate:
            raise InvalidInput(f"{what}过长（{len(text)} 字），最多 {limit} 字")
        cut = text[: max(0, limit - len(TRUNCATION_MARK))].rstrip() + TRUNCATION_MARK
        return Cleaned(cut, len(value), removed, truncated=True)
    return Cleaned(text, len(value), removed)


def clean_text(value: object, *, limit: int, what: str = "内容") -> str:
    """The cleaned text of ``value`` within ``limit`` (refused when longer or empty)."""
    return clean(value, limit=limit, what=what).text
