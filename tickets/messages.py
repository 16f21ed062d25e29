"""Chinese texts of the core: what the tickets core sends (through the outbox) to residents and to the
staff group, the words the use cases write into tickets and views, and the few words both adapters
(the bot and the Rasa actions) say. Each adapter keeps the rest of its words (``bot/texts.py``,
``actions/texts.py``)."""

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


# ---------------------------------------------------------------- words the use cases write, and words shared by the adapters

SORRY = "抱歉，处理您的消息时出了点问题，我们已经记录下来。请稍后再试，或换个说法。"


STAFF_ONLY = "只有工作人员可以操作工单"


NOT_A_DEMAND_REASON = "网格员核实：不是诉求"


PHOTO_ONLY_INFO = "（补充了一张照片）"


UNKNOWN_ORIGIN = "（未知）"


def unsatisfied_reason(reason: str) -> str:
    return f"不满意原因：{reason}"


def grid_member(name: str) -> str:
    return f"网格员{name}"


def hotspot(category_name: str, title: str, reports: int) -> str:
    return f"{category_name}｜{title[:30]}（{reports} 次）"


def shared_location(latitude: float, longitude: float, title: str = "") -> str:
    coords = f"定位 {latitude:.5f},{longitude:.5f}"
    return f"{title}（{coords}）" if title else coords


def summary(text: str, limit: int = 40) -> str:
    """One line of ``text`` for confirmations and lists."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def web_resident_name(username: str) -> str:
    """The resident a console user plays in the 试一试 chat."""
    return f"网页居民（{username}）"


MY_NONE = "您还没有反映过问题。有什么问题直接告诉我就可以。"


def info_added(code: str) -> str:
    return f"已把您补充的内容加到工单 {code}，工作人员会看到。"


NOT_UNDERSTOOD = "不好意思，我没听明白。您可以直接描述遇到的问题，例如：3栋电梯坏了。"
