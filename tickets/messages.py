"""Chinese texts of the core: what the tickets core sends (through the outbox) to residents and to the
staff group, the words the use cases write into tickets and views, and the few words both adapters
(the bot and the Rasa actions) say. Each adapter keeps the rest of its words (``bot/texts.py``,
``actions/texts.py``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tickets.models import Ticket
from tickets.statuses import Satisfaction, Source

RATE_PROMPT = "请对本次办理结果进行评价："


def when(at: datetime | None, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%m月%d日 %H:%M") if at else "—"


def status_update(
    ticket: Ticket, kind: str, category_name: str, tz: ZoneInfo, extra: str = "", link: str = ""
) -> str:
    """The resident's message for a status change of ``ticket`` (kind = accepted, assigned, …), with
    the signed link to its public progress page."""
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
        "visit": f"工作人员将于 {extra} 上门处理，请留意。",
    }[kind]
    lines = [head + body]
    if kind == "resolved" and ticket.resolution_note:
        lines.append(f"办理结果：{ticket.resolution_note}")
        lines.append(RATE_PROMPT)
    elif kind == "rejected" and extra:
        lines.append(f"原因：{extra}")
    elif kind == "note" and extra:
        lines.append(extra)
    if link:
        lines.append(f"办理进度：{link}")
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
    helpers: list[tuple[str, bool]] | None = None,
    pin: str | None = None,
) -> str:
    """The ticket card posted in the staff group (redacted text only), with the resident's latest
    additions (redacted) when there are any, the 协办 units with whether their part is done, and
    where the ticket's pin is (``pin``)."""
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
    if helpers:
        done = "、".join(f"{name}（{'已完成' if ok else '协办中'}）" for name, ok in helpers)
        lines.insert(4 if unit_name else 3, f"协办单位：{done}")
    if pin:
        lines.insert(2, pin)
    if ticket.visit_at is not None and ticket.status.is_open:
        lines.append(f"预约上门：{when(ticket.visit_at, tz)}")
    if ticket.sent_back_count:
        lines.append(f"已退单 {ticket.sent_back_count} 次")
    lines.extend(f"居民补充：{a[:200]}" for a in additions or ())
    return "\n".join(lines)


def urgent_notice(ticket: Ticket) -> str:
    """The line posted under a ticket's card when staff mark it urgent after filing."""
    return f"🔴 {ticket.code} 已标为紧急，请立即处理"


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
            [
                button("退单", "sendback"),
                button("协办", "help"),
                button("上门", "visit"),
                button("合并", "merge"),
            ],
        ]
    }


def helper_keyboard(code: str) -> dict[str, Any]:
    """A 协办 unit's card: a note, or its part done (callback data ``t:<action>:<code>``)."""
    return {
        "inline_keyboard": [
            [
                {"text": "备注", "callback_data": f"t:note:{code}"},
                {"text": "协办完成", "callback_data": f"t:helped:{code}"},
            ]
        ]
    }


def progress_keyboard(code: str) -> dict[str, Any]:
    """Under a 跟踪办 progress request: write the progress the resident will be told."""
    return {"inline_keyboard": [[{"text": "填写进展", "callback_data": f"t:progress:{code}"}]]}


#: 退单 reasons offered as buttons (the last asks for words).
SEND_BACK_REASONS = ("不属于本单位职责", "地址不在本辖区", "信息不全无法办理")


def sent_back_notice(ticket: Ticket, unit_name: str, reason: str) -> str:
    return (
        f"↩️ {unit_name}退单（第 {ticket.sent_back_count} 次）：{reason[:200]}\n请改派或自行办理。"
    )


ESCALATION_REASONS = {
    "overdue": "已超过办理时限",
    "urgent_not_accepted": "紧急诉求未及时受理",
    "sent_back": "多次退单",
}


def escalation_notice(
    ticket: Ticket, reason: str, level: int, unit_name: str, now: datetime, tz: ZoneInfo
) -> str:
    """The line above a ticket's card posted to the unit above (督办)."""
    why = ESCALATION_REASONS.get(reason, reason)
    late = ""
    if reason == "overdue" and ticket.due_at is not None:
        hours = max(0, int((now - ticket.due_at).total_seconds() // 3600))
        late = f"，超期 {hours} 小时" if hours else ""
    return f"🚨【督办·{'一二三四'[min(level, 4) - 1]}级】{why}{late}。承办单位：{unit_name}。请督促办理。"


def escalated_told(ticket: Ticket, to_name: str, reason: str) -> str:
    """The line to the responsible unit that its ticket was escalated."""
    why = ESCALATION_REASONS.get(reason, reason)
    return f"⚠️ 工单 {ticket.code}{why}，已报{to_name}督办。"


def due_warning(ticket: Ticket, before: str, tz: ZoneInfo) -> str:
    """临期预警 to the responsible unit (``before`` = "24h", "2h", "15m" or "0")."""
    mark = "🔴 " if ticket.urgent else ""
    if before == "0":
        return (
            f"{mark}⏰ 工单 {ticket.code} 已到办理时限（{when(ticket.due_at, tz)}），请尽快办结。"
        )
    amount, unit = before[:-1], {"m": "分钟", "h": "小时", "d": "天"}.get(before[-1], "")
    if before.endswith("wd"):
        amount, unit = before[:-2], "个工作日"
    return (
        f"{mark}⏰ 工单 {ticket.code} 将在 {amount}{unit}后到期（{when(ticket.due_at, tz)}），"
        f"当前状态：{ticket.status.label}。"
    )


def progress_request(ticket: Ticket, category_name: str) -> str:
    return (
        f"📝【跟踪办】工单 {ticket.code}（{category_name}）：请填写最新办理进展，我们会转告居民。"
    )


def visit_reminder(ticket: Ticket, tz: ZoneInfo, place: str) -> str:
    return (
        f"🚪【上门提醒】工单 {ticket.code} 约定 {when(ticket.visit_at, tz)} 上门，地点：{place}。"
    )


def callback_question(ticket: Ticket, category_name: str, link: str) -> str:
    """回访: the resident is asked once more to rate a resolved ticket."""
    lines = [
        f"【民微回访】您反映的「{category_name}」问题（工单号 {ticket.code}）已办结。",
        f"办理结果：{ticket.resolution_note}" if ticket.resolution_note else "",
        "问题解决了吗？请对办理结果进行评价，不满意我们会继续跟进。",
        f"办理进度：{link}",
    ]
    return "\n".join(line for line in lines if line)


def callback_unreachable(ticket: Ticket) -> str:
    return f"📞【回访】工单 {ticket.code} 已办结未评价，居民无法通过机器人联系，请电话回访。"


def group_status_line(code: str, category_name: str, what: str, link: str) -> str:
    """One de-identified line about a ticket for its grid group."""
    return f"📋 {code}（{category_name}）{what}　进度：{link}"


def group_status(lines: list[str]) -> str:
    head = "【民微】本群反映的问题有新进展：" if len(lines) > 1 else "【民微】"
    return head + ("\n" if len(lines) > 1 else "") + "\n".join(lines)


# ---------------------------------------------------------------- words the use cases write, and words shared by the adapters

SORRY = "抱歉，处理您的消息时出了点问题，我们已经记录下来。请稍后再试，或换个说法。"


STAFF_ONLY = "只有工作人员可以操作工单"
NOT_IN_SCOPE = "这张工单不在您的辖区内"


NOT_A_DEMAND_REASON = "网格员核实：不是诉求"


PHOTO_ONLY_INFO = "（补充了一张照片）"


def own_photos(count: int) -> str:
    """The resident's photos on their ticket, in its status (staff see them; the public only after
    staff approve, without location data)."""
    return f"您发送的照片：{count} 张（已去除位置信息，工作人员可见；经审核后才会公开）"


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


_PIN_TEXT = re.compile(r"（?定位 -?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?）?")


def without_pin(place: str) -> str:
    """``place`` without the coordinates ``shared_location`` wrote into it (for the public pages,
    which show no pins): 幸福花园（定位 23.1,113.2）→ 幸福花园; 定位 23.1,113.2 → ''."""
    parts = (_PIN_TEXT.sub("", p).strip() for p in place.split("、"))
    return "、".join(p for p in parts if p)


def pin(latitude: float, longitude: float, near: str | None = None) -> str:
    """Where a ticket's pin is, for staff: 定位（23.12910, 113.26440）· 近 幸福社区."""
    coords = f"定位（{latitude:.5f}, {longitude:.5f}）"
    return f"{coords}· 近 {near}" if near else coords


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


# --- 民微实事 projects -----------------------------------------------------------------------------


def yuan(fen: int | None) -> str:
    """An amount of money in fen as yuan for people: ``12,000`` or ``12,000.50``."""
    if fen is None:
        return "—"
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if not cents else f"{whole:,}.{cents:02d}"


def project_poll_question(code: str, title: str, place: str, budget_fen: int) -> str:
    """The question of a project's poll in a grid group (Telegram allows 300 characters)."""
    where = f"（{place}）" if place else ""
    text = f"【民微实事表决】{title}{where}，预算约 {yuan(budget_fen)} 元。您是否赞成立项？项目号 {code}"
    return text[:300]


def project_rating_keyboard(code: str) -> dict[str, Any]:
    """满意 / 基本满意 / 不满意 under the 验收 notice (callback data ``prate:<project>:<value>``)."""
    return {
        "inline_keyboard": [
            [{"text": s.label, "callback_data": f"prate:{code}:{s.value}"} for s in Satisfaction]
        ]
    }


PROJECT_RATE_PROMPT = "请对项目结果进行评价："


#: The poll's options, in the order of ``tickets.projectstatus.POLL_OPTIONS``.
POLL_OPTION_TEXTS = ("赞成", "反对")


def project_told(
    what: str, project_title: str, project_code: str, ticket_code: str, link: str, detail: str = ""
) -> str:
    """A resident whose ticket fed a project hears it was approved (立项) or finished (验收)."""
    head = f"【民微】您反映的问题（工单号 {ticket_code}）已纳入民微实事项目「{project_title}」（{project_code}），"
    body = {
        "approved": "项目已立项，将按计划实施。",
        "finished": "项目已完成并通过验收。",
    }[what]
    lines = [head + body]
    if detail:
        lines.append(("预算：" if what == "approved" else "结果：") + detail)
    if link:
        lines.append(f"办理进度：{link}")
    if what == "finished":
        lines.append(PROJECT_RATE_PROMPT)
    return "\n".join(lines)


def pct(value: float | None) -> str:
    """A rate as people read it: ``85.7%``, or ``—`` when it is undefined (nothing to count)."""
    return "—" if value is None else f"{value:.1%}"


def report_card_message(
    unit_name: str,
    period_label: str,
    *,
    demands: int,
    completion_rate: float | None,
    on_time_rate: float | None,
    satisfaction_rate: float | None,
    proposed: int,
    approved: int,
    finished: int,
    committed_fen: int,
    spent_fen: int,
    link: str = "",
) -> str:
    """The short 成绩单 posted to a unit's grid groups."""
    lines = [
        f"【民微成绩单】{unit_name} {period_label}",
        f"收集诉求 {demands} 件，办结率 {pct(completion_rate)}，按时办结率 {pct(on_time_rate)}，"
        f"满意率 {pct(satisfaction_rate)}。",
        f"民微实事：提议 {proposed} 个，立项 {approved} 个，完成 {finished} 个；"
        f"落实资金 {yuan(committed_fen)} 元，已支出 {yuan(spent_fen)} 元。",
    ]
    if link:
        lines.append(f"清单和项目公示：{link}")
    return "\n".join(lines)


def services_message(
    unit_name: str, services: list[tuple[str, str, str]], projects: list[tuple[str, str]], link: str
) -> str:
    """The 服务项目清单 posted to grid groups: (title, place, schedule) and (project title, stage)."""
    lines = [f"【民微】{unit_name}服务项目清单"]
    for title, place, schedule in services:
        detail = "，".join(x for x in (place, schedule) if x)
        lines.append(f"· {title}" + (f"（{detail}）" if detail else ""))
    for title, stage in projects:
        lines.append(f"· 民微实事：{title}（{stage}）")
    if len(lines) == 1:
        lines.append("暂无服务项目")
    lines.append(f"详情：{link}")
    return "\n".join(lines)


#: Of a folded card's text, this many characters go into its digest line.
DIGEST_TEXT = 30


def digest_line(ticket: Ticket, category_name: str, place: str | None) -> str:
    """One ticket in a backlog digest: code｜category｜place｜the start of its redacted text."""
    text = " ".join(ticket.redacted_text.split())
    short = text if len(text) <= DIGEST_TEXT else text[:DIGEST_TEXT] + "…"
    return f"{ticket.code}｜{category_name}｜{place or '未识别'}｜{short}"


def backlog_digests(lines: list[str], console_url: str, limit: int = 4096) -> list[tuple[str, int]]:
    """The backlog digest of a work chat whose new-ticket cards piled up: one message (or several,
    each within Telegram's ``limit``) listing them, with where to handle each; each text with how
    many of ``lines`` it holds, in order."""
    hint = (
        "逐件处理：在本群发送 /card 工单号 调出带按钮的卡片，"
        f"或打开管理台 {console_url.rstrip('/')}/tickets/工单号 。"
    )
    total = len(lines)
    room = limit - len(hint) - 64  # the heading, its part number and line breaks
    parts: list[list[str]] = [[]]
    used = 0
    for line in lines:
        if parts[-1] and used + len(line) + 1 > room:
            parts.append([])
            used = 0
        parts[-1].append(line[:room])
        used += len(line[:room]) + 1
    texts = []
    for n, part in enumerate(parts, start=1):
        count = f"，{n}/{len(parts)}" if len(parts) > 1 else ""
        head = f"📋 新工单 {total} 件（积压合并{count}）："
        texts.append(("\n".join([head, *part, hint]), len(part)))
    return texts
