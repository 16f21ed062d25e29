"""Chinese texts the tickets core sends (through the outbox) to residents and to the staff group."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tickets.models import Ticket
from tickets.statuses import Satisfaction, Source

RATE_PROMPT = "请对本次办理结果进行评价："


def when(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m月%d日 %H:%M") if at else "—"


def status_update(
    ticket: Ticket, kind: str, category_name: str, tz: ZoneInfo, extra: str = ""
) -> str:
    """The resident's message for a status change of ``ticket`` (kind = accepted, assigned, …)."""
    head = f"【民微】您反映的「{category_name}」问题（工单号 {ticket.code}）"
    unit = ticket.unit.name if ticket.unit else "相关部门"
    body = {
        "accepted": f"已受理，预计 {when(ticket.due_at, tz)} 前办结。",
        "assigned": f"已派单至{unit}处理，预计 {when(ticket.due_at, tz)} 前办结。",
        "in_progress": f"{unit}正在处理中。",
        "resolved": "已办结。",
        "rejected": "未予受理。",
        "reopened": "已重新打开，工作人员会继续跟进。",
        "merged": f"与同一问题的工单 {extra} 合并办理，后续进展会继续通知您。",
        "note": "有新的办理进展。",
        "category_changed": f"已调整为「{category_name}」类别。",
    }[kind]
    lines = [head + body]
    if kind == "resolved" and ticket.resolution_note:
        lines.append(f"办理结果：{ticket.resolution_note}")
        lines.append(RATE_PROMPT)
    elif kind == "rejected" and extra:
        lines.append(f"原因：{extra}")
    elif kind == "note" and extra:
        lines.append(extra)
    lines.append("发送 /my 可查看您的全部工单。")
    return "\n".join(lines)


def rating_keyboard(code: str) -> dict[str, Any]:
    """Inline buttons 满意 / 基本满意 / 不满意 (callback data ``rate:<code>:<value>``)."""
    return {
        "inline_keyboard": [
            [
                {"text": s.label, "callback_data": f"rate:{code}:{s.value}"}
                for s in (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.UNSATISFIED)
            ]
        ]
    }


def staff_card(
    ticket: Ticket,
    category_name: str,
    tz: ZoneInfo,
    *,
    area_name: str | None,
    unit_name: str | None,
    additions: list[str] | None = None,
) -> str:
    """The ticket card posted in the staff group (redacted text only), with the resident's latest
    additions (redacted) when there are any."""
    mark = "🔴 紧急 " if ticket.urgent else ""
    place = ticket.location_text or area_name or "未识别"
    source = Source(ticket.source).label
    confidence = (
        f"{ticket.category_confidence:.0%}" if ticket.category_confidence is not None else "—"
    )
    lines = [
        f"{mark}【{category_name}】{ticket.code}",
        f"地点：{place}",
        f"来源：{source}　分类置信度：{confidence}",
        f"状态：{ticket.status.label}　时限：{when(ticket.due_at, tz)}",
        f"内容：{ticket.redacted_text[:600]}",
    ]
    if unit_name:
        lines.insert(3, f"责任单位：{unit_name}")
    lines.extend(f"居民补充：{a[:200]}" for a in additions or ())
    return "\n".join(lines)


def place_notice(ticket: Ticket, place: str) -> str:
    """The line posted under an urgent ticket's card when the resident says where."""
    return f"📍 {ticket.code} 居民补充地址：{place}"


def staff_keyboard(code: str) -> dict[str, Any]:
    """The staff card's buttons (callback data ``t:<action>:<code>``)."""

    def button(text: str, action: str) -> dict[str, str]:
        return {"text": text, "callback_data": f"t:{action}:{code}"}

    return {
        "inline_keyboard": [
            [button("受理", "accept"), button("改类别", "reclassify"), button("派单", "assign")],
            [button("处理中", "start"), button("办结", "resolve"), button("不受理", "reject")],
            [button("合并", "merge")],
        ]
    }
