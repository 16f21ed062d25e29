"""Every Chinese string the bot says (the Rasa responses live in domain.yml; the actions' words in
actions/texts.py; words the use cases write and words both say in tickets/messages.py).

Plain strings are constants; texts with data are small functions. Nothing here touches the database or
Telegram.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tickets.messages import own_photos, when

if TYPE_CHECKING:
    from tickets.usecases.views import (
        Digest,
        FiledForward,
        ForwardBurstResult,
        StatsView,
        TicketView,
    )

# ---------------------------------------------------------------- residents: /start, /help, privacy

START = """您好！我是「民微」社区诉求助手 🏠

有什么问题，直接用自己的话告诉我就行，例如：
• 3栋电梯又坏了，老人家落唔到楼
• 幸福路的路灯一直不亮
• 楼下广场舞太吵，晚上十点还在跳

我会跟您确认问题和地点，登记成工单，告诉您工单号和办理时限。工作人员受理、派单、处理、办结时，我都会通知您；办结后请您评价，不满意的会重新办理。

常用命令：
/my 查看我反映过的问题和进度
/cancel 取消正在填写的内容
/help 查看本说明

关于您的信息：我们只保存您发来的内容、Telegram 帐号编号和昵称，只用于登记、办理和回访您反映的问题。手机号、身份证号在工单里会自动打码，只有负责回访的工作人员能看到原文；是否允许工作人员联系您，由您决定。

⚠️ 遇到火情、燃气泄漏、有人被困、有人受伤等紧急情况，请先拨打 119 / 110 / 120，再告诉我。"""

HELP = START

GROUP_HELP = """我是「民微」社区诉求助手。网格员在本群发送 /bind 网格编码 即可绑定本群；绑定后，群里提到的问题会自动登记为工单交工作人员处理（默认不在群里回复）。
/digest 查看本网格未办结的工单和热点
/unbind 解除绑定
单位（社区、街道、部门）的工作群发送 /bindunit 单位编码，本单位的工单卡片、预警和督办就发到该群；/card 工单号 在群里调出一张工单的卡片。
居民反映问题，也可以直接私聊我。"""

ADDED_TO_GROUP = "大家好，我是「民微」社区诉求助手。请本网格的网格员发送 /bind 网格编码 绑定本群，例如 /bind YX-SG-XF-01。"


def whoami(user_id: int, role_label: str | None, group_id: int | None = None) -> str:
    role = f"，当前身份：{role_label}" if role_label else "，尚未关联工作人员帐号"
    text = (
        f"您的 Telegram 帐号编号是 {user_id}{role}。\n"
        "工作人员和网格员请把这个编号发给管理员，由管理员执行：\n"
        f"python -m tickets user link --username 您的帐号 --telegram-id {user_id}"
    )
    if group_id is not None:
        text += f"\n本群的 chat id 是 {group_id}（把工作群设为 STAFF_CHAT_ID 时用）。"
    return text


# ---------------------------------------------------------------- messages the bot cannot use

TRY_LATER = "系统有点忙，暂时处理不了您的消息 🙏 消息已经保存，稍后会自动处理并回复您，不用重发。"
STICKER = "收到您的表情 😊 如需反映问题，请直接用文字描述，例如：3栋电梯坏了。"
VOICE = "暂时还听不了语音 🙏 请用文字描述您遇到的问题（手机上可以长按语音转成文字再发送）。"
EMPTY = "请用文字描述您遇到的问题，例如：幸福花园3栋电梯坏了。"
EMOJI_ONLY = "😊 收到。如需反映问题，请用文字描述您遇到的情况。"
UNSUPPORTED = "暂时只能处理文字、图片和位置消息，请用文字描述您遇到的问题。"
EDITED = "看到您修改了之前的消息。如需更正已提交的内容，请直接发一条新消息说明，例如：不对，是5栋不是3栋。"
CANCELLED = "好的，已取消。有问题随时告诉我。"
UNKNOWN_COMMAND = "没有这个命令。可以用：/my 查看我的工单，/cancel 取消正在填写的内容，/help 查看说明；反映问题直接发文字就行。"


def too_long(chars: int, limit: int) -> str:
    return f"内容太长了（{chars} 字，最多 {limit} 字）。请分几条发送，或简要说明问题和地点。"


# ---------------------------------------------------------------- residents: filing through the dialogue


# ---------------------------------------------------------------- residents: /my, status, adding information

ADD_USAGE = "补充信息：请直接回复（引用）那张工单的通知消息，或发送 /add 工单号 补充内容，例如：\n/add MW-20261123-0001 漏水已经流到楼下了"
ADD_PHOTO_CAPTION = "（居民补充了一张照片）"


def my_tickets(tickets: Sequence[TicketView], tz: ZoneInfo) -> str:
    lines = [f"您最近反映的 {len(tickets)} 个问题："]
    for t in tickets:
        place = f"｜{t.location}" if t.location else ""
        lines.append(
            f"\n{t.code}｜{t.category_name}{place}\n状态：{t.status_label}　{when(t.created_at, tz)} 提交"
        )
        if t.latest:
            lines.append(f"最新进展：{t.latest}")
        if t.photos:
            lines.append(own_photos(t.photos))
    lines.append(
        "\n想补充信息，回复该工单的通知消息即可；问进度可以直接问我，例如：我上周报的路灯修好了吗？"
    )
    return "\n".join(lines)


def rated(code: str, label: str) -> str:
    return f"感谢您的评价（{label}）！工单 {code} 已办结归档。"


def unsatisfied_ask(code: str) -> str:
    return f"抱歉没能让您满意，工单 {code} 已重新打开，工作人员会继续跟进。\n请简单说说哪里不满意？（直接回复文字即可，发送 /cancel 跳过）"


def unsatisfied_noted(code: str) -> str:
    return f"谢谢，您的意见已转给工作人员（工单 {code}）。"


ALREADY_RATED = "这张工单已经评价过了，谢谢您！"


# ---------------------------------------------------------------- staff group

NOT_STAFF = "抱歉，只有工作人员可以操作工单。如您是工作人员，请先让管理员关联您的帐号（发送 /id 查看编号）。"
STAFF_ONLY_COMMAND = "这个命令只对工作人员开放。"
CARD_USAGE = "调出工单卡片：发送 /card 工单号，例如 /card MW-20261123-0001"
CHOOSE_CATEGORY = "请选择新的类别："
CHOOSE_UNIT = "请选择派单单位："
BACK = "« 返回"
OTHER_REASON = "其他原因…"
STAFF_CANCELLED = "已取消。"


def staff_ask_note(code: str) -> str:
    return f"请回复本条消息，填写工单 {code} 的办结说明（居民会看到）。发送 /cancel 取消。"


def staff_ask_reason(code: str) -> str:
    return f"请回复本条消息，填写工单 {code} 不予受理的原因（居民会看到）。发送 /cancel 取消。"


def staff_ask_merge(code: str) -> str:
    return f"请回复本条消息，填写要把工单 {code} 合并到的主工单号，例如 MW-20261123-0001。发送 /cancel 取消。"


def staff_ask_send_back(code: str) -> str:
    return f"请回复本条消息，填写工单 {code} 的退单原因（退回派单单位）。发送 /cancel 取消。"


def staff_ask_visit(code: str) -> str:
    return (
        f"请回复本条消息，填写工单 {code} 的上门时间，例如“明天 15:00”或“12-08 09:30”"
        "（居民会收到通知，到时前会提醒本单位）。发送 /cancel 取消。"
    )


def staff_ask_progress(code: str) -> str:
    return f"请回复本条消息，填写工单 {code} 的最新办理进展（会转告居民）。发送 /cancel 取消。"


def staff_ask_note_only(code: str) -> str:
    return f"请回复本条消息，填写工单 {code} 的备注（只有工作人员能看到）。发送 /cancel 取消。"


def staff_done(code: str, action_label: str, actor: str) -> str:
    return f"{actor} 已{action_label}：{code}"


def card_footer(status_log: Sequence[str]) -> str:
    return "\n".join(["", *status_log]) if status_log else ""


def stats(view: StatsView) -> str:
    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:.0%}"

    def hours(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f} 小时"

    lines = [f"📊 民微统计（{view.scope_name}）"]
    for f in (view.today, view.month):
        lines += [
            f"\n【{f.label}】诉求 {f.filed}　受理 {f.accepted}　办结 {f.done}",
            f"响应率 {pct(f.response_rate)}　办结率 {pct(f.completion_rate)}　按时办结率 {pct(f.on_time_rate)}",
            f"满意率 {pct(f.satisfaction_rate)}　告知率 {pct(f.inform_rate)}",
            f"平均响应 {hours(f.mean_response_hours)}　平均办结 {hours(f.mean_resolution_hours)}",
        ]
    if view.hotspots:
        lines.append("\n本月热点：")
        lines += [f"• {h}" for h in view.hotspots]
    return "\n".join(lines)


# ---------------------------------------------------------------- grid groups and grid members

BIND_USAGE = "用法：/bind 网格编码，例如 /bind YX-SG-XF-01（在要绑定的网格群里发送）。"
BIND_ONLY_IN_GROUPS = "请在要绑定的网格群里发送 /bind 网格编码。"
BIND_NOT_ALLOWED = "只有本网格的网格员或管理员可以绑定群。如您是网格员，请先让管理员关联您的帐号（私聊我发送 /id 查看编号）。"
NOT_BOUND = "本群还没有绑定网格。网格员可发送 /bind 网格编码 绑定。"
UNBOUND = "已解除本群与网格的绑定，我不会再登记本群的消息。"
GRID_ONLY_COMMAND = "这个命令只对网格员和工作人员开放。"

# ---------------------------------------------------------------- units' work chats

BINDUNIT_USAGE = "用法：/bindunit 单位编码，例如 /bindunit YX-SG-XF（在本单位的工作群里发送）。"
BINDUNIT_ONLY_IN_GROUPS = "请在本单位的工作群里发送 /bindunit 单位编码。"
UNIT_CHAT_NOT_BOUND = "本群不是任何单位的工作群。"


def unit_bound(unit_name: str, unit_code: str) -> str:
    return (
        f"已把本群设为「{unit_name}」（{unit_code}）的工作群。\n"
        "派给本单位的工单卡片、临期预警、督办和回访提醒会发到这里；卡片上的按钮只有辖区内的工作人员能操作。"
    )


def unit_unbound(unit_name: str) -> str:
    return f"本群已不再是「{unit_name}」的工作群，工单卡片会发到上级单位的工作群。"


def bound(grid_name: str, grid_code: str, reply_in_group: bool) -> str:
    reply = (
        "会在群里回复登记结果" if reply_in_group else "不会在群里回复（发送 /groupreply on 可开启）"
    )
    return (
        f"已把本群绑定到「{grid_name}」（{grid_code}）。\n"
        f"群里提到的问题会自动登记为工单并交工作人员处理，拿不准的交人工复核；{reply}。\n"
        "请群主在 @BotFather 用 /setprivacy 关闭隐私模式，我才能看到群里的全部消息。"
    )


def group_reply_set(on: bool) -> str:
    return "已开启：登记工单后会在群里回复。" if on else "已关闭：登记工单后不在群里回复。"


def digest(d: Digest, tz: ZoneInfo) -> str:
    lines = [f"📋 {d.area_name}：未办结工单 {d.open_count} 张（超时 {d.overdue_count} 张）"]
    if d.by_status:
        lines.append("　".join(f"{label} {n}" for label, n in d.by_status))
    for t in d.tickets:
        flag = "🔴" if t.urgent else ("⏰" if t.overdue else "•")
        place = f"｜{t.location}" if t.location else ""
        lines.append(
            f"{flag} {t.code}｜{t.category_name}{place}｜{t.status_label}｜{t.summary[:24]}"
        )
    if d.open_count > len(d.tickets):
        lines.append(f"……另有 {d.open_count - len(d.tickets)} 张，请到网页后台查看。")
    if d.hotspots:
        lines.append("\n🔥 近30日热点：")
        lines += [f"• {h}" for h in d.hotspots]
    if d.pending_review:
        lines.append(f"\n待复核消息 {d.pending_review} 条（网页后台「待复核」）。")
    return "\n".join(lines)


FORWARD_NOT_GRID = (
    "收到转发的消息。代邻居登记问题需要网格员身份；如果是您自己的问题，请直接用文字告诉我。"
)
FORWARD_CONFIRM = "✓ 确认"
FORWARD_RECLASSIFY = "改类别"
FORWARD_NOT_DEMAND = "不是诉求"


def forward_burst(result: ForwardBurstResult) -> str:
    lines = [f"收到 {result.messages} 条转发消息，登记了 {len(result.filed)} 张工单。"]
    if result.skipped:
        lines.append(f"另有 {result.skipped} 条看起来不是诉求，没有登记。")
    if result.filed:
        lines.append("请逐条核对下面的识别结果：")
    return "\n".join(lines)


def forward_ticket(f: FiledForward) -> str:
    urgent = "🔴 紧急　" if f.urgent else ""
    place = f.location or "未识别"
    return (
        f"{urgent}{f.code}｜{f.category_name}（置信度 {f.confidence:.0%}）\n"
        f"反映人：{f.origin}\n地点：{place}\n内容：{f.summary}"
    )


def forward_confirmed(text: str) -> str:
    return text + "\n\n✓ 已确认"


def forward_reclassified(text: str, category_name: str) -> str:
    return text + f"\n\n✓ 已改为「{category_name}」"


def forward_rejected(text: str) -> str:
    return text + "\n\n✗ 已标记为不是诉求，工单已撤销"


# ---------------------------------------------------------------- words the services write into tickets and views


def your_rating(notice: str, label: str) -> str:
    return f"{notice}\n\n您的评价：{label}"


# ---------------------------------------------------------------- shared helpers
