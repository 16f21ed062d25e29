"""Chinese texts of the console that are not labels of an enum (those live in ``tickets.statuses``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tickets.messages import ESCALATION_REASONS
from tickets.statuses import HandlingMode, Satisfaction

#: Why a group message waits for a person (``tickets.review``); the usual "unsure" reason has no badge.
REVIEW_REASONS: dict[str, str] = {
    "too_long": "内容过长：立案时截断，原文完整保存在这里",
    "failed": "自动登记失败，请人工处理",
}

OUTBOX_KINDS: dict[str, str] = {
    "accepted": "受理通知",
    "assigned": "派单通知",
    "in_progress": "处理中通知",
    "resolved": "办结通知（请居民评价）",
    "rejected": "不予受理通知",
    "reopened": "重新打开通知",
    "merged": "合并通知",
    "note": "进展通知",
    "category_changed": "类别调整通知",
    "staff_card": "工作群工单卡片",
    "staff_card_urgent": "工作群紧急工单卡片",
    "staff_digest": "工作群积压工单合并消息",
}

OUTBOX_STATUSES: dict[str, str] = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已送达",
    "failed": "发送失败",
    "folded": "已并入积压合并消息",
    "skipped": "未发送（卡片已并入合并消息）",
}

FLAGS: dict[str, str] = {"urgent": "紧急", "overdue": "超期", "needs_review": "待复核"}

STATUS_TABS: dict[str, str] = {
    "all": "全部",
    "new": "待受理",
    "working": "办理中",
    "done": "已办结",
    "rejected": "不予受理/已合并",
}

SORT_LABELS: dict[str, str] = {
    "created": "提交时间",
    "updated": "更新时间",
    "due": "办理时限",
    "code": "工单号",
}

PERIODS: dict[str, str] = {
    "today": "今日",
    "week": "近7日",
    "30d": "近30日",
    "month": "本月",
    "90d": "近90日",
    "365d": "近一年",
}


def event_summary(
    kind: str,
    data: dict[str, Any],
    category_name: Callable[[Any], str],
    unit_name: Callable[[str], str],
) -> str:
    """One line describing an event's data for the history panel."""
    parts: list[str] = []
    if kind == "filed":
        parts.append(f"类别：{category_name(data.get('category'))}")
        if data.get("unit"):
            parts.append(f"责任单位：{unit_name(data['unit'])}")
        if data.get("case"):
            parts.append(f"类案：{data['case']}")
        if data.get("urgent"):
            parts.append("紧急")
    elif kind == "reclassified":
        parts.append(f"{category_name(data.get('from'))} → {category_name(data.get('to'))}")
        if data.get("by") == "resident":
            parts.append("（按居民后来的描述）")
    elif kind == "assign":
        parts.append(f"派至 {data.get('unit_name') or data.get('unit')}")
    elif kind == "handling_mode":

        def mode(v: Any) -> str:
            try:
                return HandlingMode(v).label
            except ValueError:
                return str(v)

        parts.append(f"{mode(data.get('from'))} → {mode(data.get('to'))}")
    elif kind == "urgent":
        parts.append("标为紧急" if data.get("urgent") else "取消紧急")
    elif kind in ("place_added", "place_corrected"):
        parts.append(f"{data.get('from') or '（无）'} → {data.get('to')}")
    elif kind in ("note", "resident_info"):
        parts.append(str(data.get("text", "")))
        if data.get("public"):
            parts.append("（已告知居民）")
    elif kind == "resolve":
        parts.append(str(data.get("note", "")))
    elif kind in ("reject", "reopen"):
        parts.append(str(data.get("reason", "")))
        if data.get("not_demand"):
            parts.append("（不是诉求）")
    elif kind == "merge":
        parts.append(f"合并到 {data.get('into')}")
    elif kind == "merged_in":
        parts.append(f"{data.get('merged')} 并入本工单")
    elif kind == "rated":
        with contextlib.suppress(ValueError):
            parts.append(Satisfaction(str(data.get("satisfaction"))).label)
        if data.get("note"):
            parts.append(str(data["note"]))
    elif kind == "review_confirmed":
        parts.append(f"确认类别：{category_name(data.get('category'))}")
    elif kind == "send_back":
        parts.append(
            f"{unit_name(str(data.get('unit', '')))} 退回 {unit_name(str(data.get('to', '')))}"
        )
        parts.append(f"原因：{data.get('reason', '')}")
        if data.get("count"):
            parts.append(f"（第 {data['count']} 次退单）")
    elif kind == "escalated":
        parts.append(f"{data.get('level', '')}级督办 → {unit_name(str(data.get('to') or ''))}")
        reason = str(data.get("reason", ""))
        parts.append(ESCALATION_REASONS.get(reason, reason))
    elif kind == "helper_added":
        parts.append(f"协办单位：{data.get('unit_name') or unit_name(str(data.get('unit', '')))}")
    elif kind == "helper_done":
        parts.append(str(data.get("note", "")))
    elif kind == "visit_set":
        with contextlib.suppress(ValueError, TypeError):
            at = datetime.fromisoformat(str(data.get("at")))
            parts.append(f"上门时间：{at.strftime('%Y-%m-%d %H:%M')}")
    elif kind == "callback":
        with contextlib.suppress(ValueError):
            parts.append(Satisfaction(str(data.get("satisfaction"))).label)
        parts.append("电话回访" if data.get("by") == "phone" else "再次请居民评价")
        if data.get("note"):
            parts.append(str(data["note"]))
    return "　".join(p for p in parts if p)


def sign_in_throttled(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"这台设备登录失败次数过多，请 {minutes} 分钟后再试。"
