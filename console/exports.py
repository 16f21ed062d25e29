"""Export writers: the ticket list as CSV or Excel, label feedback as Rasa ``nlu.yml`` training data."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from nlu.pii import redact
from tickets.models import LabelFeedback, Ticket

HEADER = (
    "工单号",
    "状态",
    "类别",
    "紧急",
    "办理方式",
    "内容",
    "地点",
    "所在区域",
    "责任单位",
    "来源",
    "提交时间",
    "办理时限",
    "办结时间",
    "满意度",
    "类案",
)

#: Cells starting with these are formulas to Excel/WPS; they get a leading apostrophe (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def ticket_row(
    t: Ticket,
    *,
    text: str,
    category_name: Callable[[str], str],
    local_time: Callable[[datetime | None], str],
) -> list[str]:
    return [
        t.code,
        t.status.label,
        category_name(t.category),
        "是" if t.urgent else "",
        t.handling_mode.label,
        text,
        t.location_text,
        t.area.name if t.area else "",
        t.unit.name if t.unit else "",
        t.source.label,
        local_time(t.created_at),
        local_time(t.due_at),
        local_time(t.resolved_at) if t.resolved_at else "",
        t.satisfaction.label if t.satisfaction else "",
        t.case.code if t.case else "",
    ]


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """CSV for Excel and WPS: UTF-8 with a byte-order mark, CRLF line ends, formulas defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff"
    for row in _with_header(rows):
        writer.writerow([safe_cell(c) for c in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    yield list(HEADER)
    yield from rows


def xlsx_bytes(rows: Iterable[list[str]], *, title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    for row in _with_header(rows):
        sheet.append([safe_cell(c) for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------
# Training data

#: The intent a "not a demand" correction is exported as. Reviewers say only *that* a message is not a
#: demand, not which kind of non-demand it is; ``chitchat`` is the catch-all non-demand intent of
#: data/nlu (notices, thanks and greetings have their own, narrower intents).
NOT_DEMAND_INTENT = "chitchat"
_RESERVED = str.maketrans(
    {"[": "【", "]": "】", "(": "（", ")": "）", "\t": " ", "\r": " ", "\n": " "}
)


def _example(text: str, locations: list[dict[str, Any]]) -> str:
    """One training example: PII masked, markup characters replaced, locations marked up."""
    clean = redact(text).translate(_RESERVED)
    spans: list[tuple[int, int]] = []
    for loc in locations:
        start, end, value = loc.get("start"), loc.get("end"), loc.get("text")
        if not (isinstance(start, int) and isinstance(end, int) and value):
            continue
        if text[start:end] == value and not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(clean[last:start])
        out.append(f"[{clean[start:end]}](location)")
        last = end
    out.append(clean[last:])
    return " ".join("".join(out).split())


def training_yaml(
    feedback: Iterable[tuple[LabelFeedback, Ticket | None]], *, exported_at: str
) -> str:
    """Rasa 3 ``nlu.yml`` with one block per (intent, urgent); the latest correction of a text wins."""
    latest: dict[str, tuple[str, bool, str]] = {}
    for item, ticket in feedback:
        corrected = item.corrected or {}
        if corrected.get("is_demand") and corrected.get("category"):
            intent, urgent = f"demand_{corrected['category']}", bool(corrected.get("urgent"))
        elif corrected.get("is_demand") is False:
            intent, urgent = NOT_DEMAND_INTENT, False
        else:
            continue
        locations = ticket.locations if ticket is not None and intent != NOT_DEMAND_INTENT else []
        example = _example(item.text, locations or [])
        if example:
            latest[" ".join(redact(item.text).split())] = (intent, urgent, example)
    blocks: dict[tuple[str, bool], list[str]] = {}
    for intent, urgent, example in latest.values():
        blocks.setdefault((intent, urgent), []).append(example)
    lines = [
        f"# 民微标注反馈导出 {exported_at}：{len(latest)} 条（手机号、身份证号已脱敏）",
        f"# 不是诉求的更正导出为 intent {NOT_DEMAND_INTENT}。",
        'version: "3.1"',
        "nlu:",
    ]
    for (intent, urgent), examples in sorted(blocks.items()):
        lines.append(f"- intent: {intent}")
        if urgent:
            lines += ["  metadata:", "    urgent: true"]
        lines.append("  examples: |")
        lines += [f"    - {e}" for e in examples]
    return "\n".join(lines) + "\n"
