"""Draw the supervision timeline (督办时间线) of the README from ``data/supervision.yml`` itself.

    .venv/bin/python scripts/draw_timeline.py [--out docs/supervision-timeline.svg]

One lane per rule of the file (办理时限 warnings and 督办, 立即办, 跟踪办, 上门办, 公开办, 回访 and
auto-close), its steps in time order and evenly spaced (the gaps are named, not drawn to scale), and
the quiet hours below. Plain SVG written by hand, byte for byte the same for the same rules, so a test
can check the picture in docs/ was drawn from the rules as they are.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: import the project next to it
    sys.path.insert(0, str(ROOT))

from tickets.clock import Duration, Rules, load_rules  # noqa: E402
from tickets.settings import DATA_DIR, Settings  # noqa: E402
from tickets.taxonomy import load_taxonomy  # noqa: E402

OUT = ROOT / "docs" / "supervision-timeline.svg"
WIDTH = 1000
LEFT = 200  # where the lanes' lines start (the lane names sit left of it)
RIGHT = 960
LANE = 92
TOP = 64
FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif"
COLOURS = {
    "start": "#606266",
    "warn": "#e6a23c",
    "escalate": "#d9534f",
    "ask": "#409eff",
    "publish": "#67c23a",
    "close": "#303133",
}


@dataclass(frozen=True)
class Node:
    """A step on a lane: what happens (above the dot), when (below), its colour."""

    what: str
    when: str
    kind: str
    order: int = 0  # minutes from the lane's start, for ordering only


def minutes(d: Duration) -> int:
    """A rough size for ordering (a working day counted as a day)."""
    return d.amount * {"m": 1, "h": 60, "d": 1440, "wd": 1440}[d.unit]


def before(d: Duration, what: str) -> str:
    return f"{what}时" if d.amount == 0 else f"{what}前{d.words}"


def lanes(
    rules: Rules, immediate_hours: int, urgent_hours: int
) -> list[tuple[str, str, list[Node]]]:
    """(name, subtitle, steps) of each lane, from the rules."""
    level = "一二三四五六七八九"
    deadline = [Node("派单", "到承办单位工作群", "start")]
    deadline += [
        Node("临期预警", before(d, "到期"), "warn")
        for d in sorted(rules.warnings["default"], key=lambda d: -minutes(d))
    ]
    deadline += [
        Node(f"督办·{level[n]}级", f"超期{d.words}\n报上{n + 1}级单位", "escalate")
        for n, d in enumerate(rules.escalation)
    ]
    due = immediate_hours * 60
    first = urgent_hours * 60
    urgent = [
        Node("立案", "紧急卡片即时发出", "start", 0),
        Node("紧急未受理督办", f"{urgent_hours}小时未受理\n报上级单位", "escalate", first),
        Node(
            "再次督办",
            f"再过{rules.urgent_again_after.words}仍未受理",
            "escalate",
            first + minutes(rules.urgent_again_after),
        ),
    ]
    urgent += [
        Node(
            "临期预警", f"时限{immediate_hours}小时\n{before(d, '到期')}", "warn", due - minutes(d)
        )
        for d in rules.warnings.get("immediate", rules.warnings["default"])
    ]
    urgent.sort(key=lambda n: n.order)
    every = rules.progress_every.words
    tracked = [
        Node("受理", "跟踪办", "start"),
        Node("进展催报", f"受理后{every}", "ask"),
        Node("进展转告居民", "单位填写进展后", "ask"),
        Node("进展催报", f"上次进展后{every}", "ask"),
    ]
    onsite = [Node("约定上门时间", "工作人员设定", "start")]
    onsite += [
        Node("上门提醒", before(d, "上门"), "ask")
        for d in sorted(rules.visit_remind_before, key=lambda d: -minutes(d))
    ]
    publish = rules.publish_after
    public = [
        Node("受理", "公开办", "start"),
        Node(
            "公示进度",
            "受理即公示（/board）" if publish.amount == 0 else f"受理后{publish.words}（/board）",
            "publish",
        ),
    ]
    callback = [
        Node("办结", "请居民评价", "start"),
        Node("回访", f"办结{rules.callback_ask_after.words}后仍未评价，再问一次", "ask"),
        Node("自动办结", f"再过{rules.callback_close_after.words}：未评价", "close"),
    ]
    return [
        ("办理时限", "预警与超期督办", deadline),
        ("立即办", "紧急工单", urgent),
        ("跟踪办", "定期催报进展", tracked),
        ("上门办", "上门提醒", onsite),
        ("公开办", "进度公示", public),
        ("回访", "与自动办结", callback),
    ]


def render(rules: Rules, immediate_hours: int, urgent_hours: int) -> str:
    """The SVG document."""
    drawn = lanes(rules, immediate_hours, urgent_hours)
    quiet = rules.quiet
    height = TOP + LANE * len(drawn) + 78
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" font-size="13">',
        "<title>民微 督办时间线（由 data/supervision.yml 生成）</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        '<text x="20" y="34" font-size="20" font-weight="bold" fill="#303133">'
        "跟进与督办：一张工单之后会发生什么</text>",
        f'<text x="{RIGHT}" y="34" font-size="12" fill="#909399" text-anchor="end">'
        "由 data/supervision.yml 生成（scripts/draw_timeline.py）；间隔不按比例</text>",
    ]
    for i, (name, subtitle, nodes) in enumerate(drawn):
        y = TOP + LANE * i + 46
        if i % 2 == 0:
            out.append(
                f'<rect x="8" y="{y - 40}" width="{WIDTH - 16}" height="{LANE}" fill="#f5f7fa" rx="6"/>'
            )
        out.append(
            f'<text x="24" y="{y - 4}" font-size="16" font-weight="bold" fill="#303133">'
            f"{escape(name)}</text>"
        )
        out.append(f'<text x="24" y="{y + 16}" fill="#606266">{escape(subtitle)}</text>')
        step = (RIGHT - LEFT - 100) / max(1, len(nodes) - 1)
        xs = [round(LEFT + 30 + step * n) for n in range(len(nodes))]
        out.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{RIGHT}" y2="{y}" stroke="#c0c4cc" stroke-width="2"/>'
        )
        out.append(f'<path d="M{RIGHT} {y} l-10 -5 v10 z" fill="#c0c4cc"/>')
        for x, node in zip(xs, nodes, strict=True):
            colour = COLOURS[node.kind]
            out.append(
                f'<circle cx="{x}" cy="{y}" r="7" fill="{colour}" stroke="#ffffff" stroke-width="2"/>'
            )
            out.append(
                f'<text x="{x}" y="{y - 14}" text-anchor="middle" font-weight="bold" '
                f'fill="{colour}">{escape(node.what)}</text>'
            )
            for n, line in enumerate(node.when.split("\n")):
                out.append(
                    f'<text x="{x}" y="{y + 24 + 15 * n}" text-anchor="middle" font-size="12" '
                    f'fill="#606266">{escape(line)}</text>'
                )
    y = TOP + LANE * len(drawn) + 22
    staff = "非紧急工单的员工提醒和督办也顺延" if quiet.staff else "员工提醒和督办照常发出"
    out += [
        f'<rect x="20" y="{y - 14}" width="18" height="18" fill="#2c3e50" rx="3"/>',
        f'<text x="46" y="{y}" fill="#303133">安静时段 {quiet.start:%H:%M}–{quiet.end:%H:%M}：'
        f"给居民的消息（回访、群内进度）顺延到 {quiet.end:%H:%M}；{staff}；"
        "紧急工单的督办从不等待。</text>",
        f'<text x="46" y="{y + 26}" fill="#606266">“工作日”按 data/calendar.yml 的节假日和调休计算；'
        "每条消息发往该单位的工作群（/bindunit），没有则发往上级单位的，再没有则发往 STAFF_CHAT_ID。</text>",
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def current(data_dir: Path = DATA_DIR) -> str:
    """The picture of the rules in ``data_dir`` with the default urgent response limit."""
    taxonomy = load_taxonomy(data_dir / "taxonomy.yml")
    return render(
        load_rules(data_dir / "supervision.yml"),
        taxonomy.immediate_hours,
        Settings().urgent_response_limit_hours,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(current(), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
