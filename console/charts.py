"""Charts drawn on the server as SVG (no JavaScript, nothing loaded from the internet)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    css: str  # a class in console.css that sets the stroke colour


def _nice_max(value: float) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return int(10 * magnitude)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 760,
    height: int = 240,
    title: str = "",
) -> Markup:
    """A line chart of ``series`` over ``labels`` (e.g. days), with a legend and y gridlines."""
    left, right, top, bottom = 44, 12, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for s in series for v in s.values), default=0))
    n = max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / top_value

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for k in range(6):  # _nice_max values divide by 5
        v = top_value * k / 5
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{int(v)}</text>'
        )
    step = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            parts.append(
                f'<text class="axis" x="{x(i):.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for s in series:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline class="line {escape(s.css)}" points="{points}"/>')
        if len(s.values) <= 45:
            for i, v in enumerate(s.values):
                parts.append(
                    f'<circle class="dot {escape(s.css)}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5">'
                    f"<title>{escape(labels[i])} {escape(s.name)}：{v}</title></circle>"
                )
    for j, s in enumerate(series):
        lx = left + j * 120
        parts.append(
            f'<line class="line {escape(s.css)}" x1="{lx}" x2="{lx + 18}" y1="12" y2="12"/>'
            f'<text class="legend" x="{lx + 24}" y="16">{escape(s.name)}（{sum(s.values)}）</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    items: Sequence[tuple[str, int]], *, width: int = 760, bar: int = 20, title: str = ""
) -> Markup:
    """Horizontal bars, largest first as given; the value is written at the end of each bar."""
    label_w, value_w = 120, 60
    height = max(1, len(items)) * (bar + 6) + 8
    top_value = max((v for _, v in items), default=0) or 1
    plot_w = width - label_w - value_w
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for i, (label, value) in enumerate(items):
        y = 4 + i * (bar + 6)
        w = max(1.0, plot_w * value / top_value) if value else 0
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + bar * 0.72:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + bar * 0.72:.1f}">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
