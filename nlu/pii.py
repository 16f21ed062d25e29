"""Phone and ID-number detection and redaction (standard library only; runs in both environments).

Spans are character offsets into the text given. Detected:
- ``phone``: mainland mobile numbers (11 digits, 1[3-9]…), optionally +86/86-prefixed and written with
  spaces or dashes (138 1234 5678, 138-1234-5678); landlines with an area code (020-12345678).
- ``id_number``: 18-character resident ID numbers (6-digit region, a plausible birth date, 3 digits and a
  check character). Numbers with a wrong check digit are masked too: a mistyped ID is still personal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?![0-9])")
_COUNTRY = re.compile(r"\+?86[ \-]?(?=1)")
_THREE_DIGIT_AREAS = {"010"} | {f"02{d}" for d in range(10)}  # 010 and 02x are the 3-digit codes
_LANDLINE = re.compile(r"(?<![0-9])0\d{2,3}[ \-]?\d{7,8}(?![0-9])")
_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    kind: str  # "phone" | "id_number"
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "start": self.start, "end": self.end}


def valid_id_number(value: str) -> bool:
    """True when the 18th character is the GB 11643 check digit of the first 17."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


#: Every phone or ID number holds an ASCII digit; most messages hold none.
_DIGIT = re.compile(r"[0-9]")


def find_pii(text: str) -> list[PiiSpan]:
    """All phone and ID-number spans in ``text``, in order, non-overlapping (ID numbers win)."""
    if _DIGIT.search(text) is None:
        return []
    spans = [PiiSpan("id_number", m.start(), m.end()) for m in _ID.finditer(text)]
    taken = [(s.start, s.end) for s in spans]
    for pattern in (_MOBILE, _LANDLINE):
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            spans.append(PiiSpan("phone", m.start(), m.end()))
            taken.append((m.start(), m.end()))
    return sorted(spans, key=lambda s: s.start)


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    digits = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(digits[:keep_head]) | set(digits[len(digits) - keep_tail :])
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(value))


def mask(value: str, kind: str) -> str:
    """Mask one PII value: phones keep the first 3 and last 4 digits, ID numbers the first and last 2."""
    if kind == "id_number":
        return _mask(value, 2, 2)
    prefix = _COUNTRY.match(value)
    head, number = (value[: prefix.end()], value[prefix.end() :]) if prefix else ("", value)
    if number.startswith("1"):
        return head + _mask(number, 3, 4)
    return head + _mask(number, 3 if number[:3] in _THREE_DIGIT_AREAS else 4, 4)


def redact(text: str, spans: list[PiiSpan] | None = None) -> str:
    """``text`` with every PII span masked in place (length preserved, so other offsets stay valid)."""
    spans = find_pii(text) if spans is None else spans
    out = []
    last = 0
    for span in spans:
        out.append(text[last : span.start])
        out.append(mask(text[span.start : span.end], span.kind))
        last = span.end
    out.append(text[last:])
    return "".join(out)
