"""What the resident dialogue's actions say (the Rasa responses live in domain.yml; words the bot says
too are in ``tickets.messages``)."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from tickets.messages import own_photos, when
from tickets.usecases.views import TicketView


def filed(
    code: str,
    category_name: str,
    due: str,
    contact_allowed: bool | None,
    *,
    on_telegram: bool = True,
) -> str:
    contact = "工作人员可能会联系您了解情况。" if contact_allowed else "工作人员不会主动联系您。"
    head = f"已为您登记 ✅\n工单号：{code}（{category_name}）\n办理时限：{due} 前\n"
    if not on_telegram:  # the console's web chat: nobody to notify on Telegram
        return f"{head}{contact}\n想知道进度，随时问我，例如：我报的问题处理了没有？"
    return (
        f"{head}受理、派单、办结时我都会通知您；{contact}\n"
        "想补充情况，直接回复这条消息就可以；发送 /my 可查看进度。"
    )


def filed_urgent(code: str, category_name: str, advice: str) -> str:
    return (
        f"⚠️ 已按紧急事项登记，工单号：{code}（{category_name}），值班工作人员已同时收到。\n"
        f"请您现在：{advice}"
    )


NO_PLACE_FILED = "（没有具体位置：工作人员可能需要联系您确认地点。）"


#: What may answer "where?": said whenever the bot asks.
PLACE_KINDS = "镇、村、街道、小区楼栋门牌、附近的地标都可以，也可以直接发送 Telegram 定位"


def ask_place(summary: str, category_name: str, attempt: int) -> str:
    """Ask where the reported problem is, saying what was understood so far."""
    if attempt == 0:
        return f"收到：{summary}（{category_name}）。\n请问具体在哪里？{PLACE_KINDS}。"
    return f"还需要知道地点才能派人：{summary}（{category_name}）。\n请说一下在哪里（{PLACE_KINDS}）；实在说不清的话回复“不知道”。"


def ask_urgent_place(code: str, attempt: int) -> str:
    """After an urgent filing: where exactly, so that someone can be sent."""
    if attempt == 0:
        return f"📍 请马上告诉我具体地址（工单 {code}）：{PLACE_KINDS}，值班人员好尽快找到您。"
    if attempt == 1:
        return "📍 还没有收到地址。请发一下具体位置，例如“XX村X巷X号”“XX花园X栋X楼”，或者点左下角📎发送定位。说不清的话回复“不知道”。"
    return f"📍 地址对派人很重要：{PLACE_KINDS}。如果确实说不清，回复“不知道”，值班人员会打电话跟您确认。"


def place_added(code: str, place: str, urgent: bool) -> str:
    if urgent:
        return f"📍 已把地点「{place}」补充到紧急工单 {code}，值班人员已同时收到。"
    return f"📍 已把地点「{place}」补充到工单 {code}，工作人员会看到。"


def place_unknown(code: str) -> str:
    return f"好的。工单 {code} 已经在处理，值班人员会尽快联系您确认位置；想起地址或方便发定位时，随时发给我。"


def place_looked_back(place: str) -> str:
    return f"好的，按您前面说的地点「{place}」登记。"


FOLLOWUP_ACK = "好的 🙏 有新的情况随时告诉我，我会补充到工单里。"


#: What a resident should do right now, by words in an urgent report (first match wins).
URGENT_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("燃气", "煤气", "漏气", "石油气", "天然气", "气味", "气罐"),
        "立即关闭燃气总阀，打开门窗通风；不要开关电器、不要点火，也不要在室内打电话。人员撤到室外后拨打燃气抢修电话或 119。",
    ),
    (
        ("着火", "火灾", "起火", "冒烟", "烟雾", "火警", "烧着", "失火"),
        "马上远离火场，用湿毛巾捂住口鼻，沿楼梯和安全出口撤离，不要乘电梯；立即拨打 119。",
    ),
    (
        ("困住", "被困", "困人", "关住", "卡住", "困咗"),
        "被困人员请保持冷静，按电梯内警铃或拨打轿厢内的应急电话，不要强行扒门；同时拨打 119 或电梯上的维保电话。",
    ),
    (
        ("电线", "漏电", "触电", "电箱", "电缆", "火花", "跌落的线"),
        "远离电线和积水，不要触碰；拨打 95598 供电抢修。有人触电请先切断电源再施救，并拨打 120。",
    ),
    (
        ("水浸", "进水", "浸水", "水淹", "倒灌", "水浸街", "入屋"),
        "先切断家里电源，把老人小孩和贵重物品转移到高处；情况危急请拨打 119。",
    ),
    (
        ("晕倒", "跌倒", "摔倒", "受伤", "流血", "昏迷", "不省人事", "唔郁", "起唔到身"),
        "立即拨打 120 急救电话，不要随意搬动伤者，有人陪着等救护车。",
    ),
    (
        ("走失", "失踪", "不见了", "唔见咗", "找不到人", "揾唔到"),
        "立即拨打 110 报警，准备好走失人员的照片、衣着和最后出现的地点。",
    ),
    (
        ("倒塌", "坍塌", "塌", "裂开", "掉落", "危房"),
        "马上远离危险区域，提醒周围的人不要靠近，拨打 119。",
    ),
    (
        ("打架", "持刀", "抢劫", "砍人", "行凶"),
        "注意自身安全，远离现场，立即拨打 110。",
    ),
)


URGENT_DEFAULT_ADVICE = "如有人员生命危险，请立即拨打 110 / 119 / 120。"


def ticket_status(t: TicketView, tz: ZoneInfo) -> str:
    lines = [f"工单 {t.code}（{t.category_name}）", f"内容：{t.summary}"]
    if t.location:
        lines.append(f"地点：{t.location}")
    lines.append(f"状态：{t.status_label}")
    if t.unit_name:
        lines.append(f"责任单位：{t.unit_name}")
    if t.due_at and t.is_open:
        lines.append(f"办理时限：{when(t.due_at, tz)} 前")
    if t.latest:
        lines.append(f"最新进展：{t.latest}")
    if t.photos:
        lines.append(own_photos(t.photos))
    if t.is_open:
        lines.append("如需补充信息，直接回复这条消息即可。")
    return "\n".join(lines)


def status_choices(tickets: Sequence[TicketView]) -> str:
    lines = ["您反映过几个问题，想问哪一个？可以发工单号给我："]
    lines += [f"• {t.code}｜{t.category_name}｜{t.summary[:20]}｜{t.status_label}" for t in tickets]
    return "\n".join(lines)


def rate_with_buttons(code: str) -> str:
    return f"工单 {code} 已办结，请点下面的按钮评价："
