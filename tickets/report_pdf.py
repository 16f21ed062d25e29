"""成绩单 as a PDF staff print (A4): the figures of ``tickets.report_card`` as they are, never computed
again here, with the unit and period, the projects one by one (逐一销号), the definitions and when it
was generated.

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1): no font file is read
or embedded, the PDF reader supplies a Song face, so it works on any machine reportlab installs on.
Its character map has no U+00B7 (·) or U+2212 (−): the text here avoids them.
reportlab is imported when a PDF is drawn, not when this module is imported.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from tickets import messages
from tickets.report_card import DEFINITIONS, ReportCard

if TYPE_CHECKING:
    from tickets.usecases.projects import ProjectRow

FONT = "STSong-Light"


def generated_line(at: datetime, tz: ZoneInfo) -> str:
    """``生成时间：2026-12-07 15:30`` in the deployment's time zone."""
    return f"生成时间：{at.astimezone(tz):%Y-%m-%d %H:%M}（{tz.key}）"


def filename(card: ReportCard) -> str:
    """An ASCII file name for downloads: ``report-card-YX-SG-XF-20261101-20261201.pdf``."""
    start, end = card.period.start, card.period.end
    return f"report-card-{card.unit_code}-{start:%Y%m%d}-{end:%Y%m%d}.pdf"


def _days(card: ReportCard, tz: ZoneInfo) -> str:
    """The period's first and last local day: ``2026-11-01 至 2026-11-30``."""
    first = card.period.start.astimezone(tz).date()
    last = (card.period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return f"{first} 至 {last}"


def render(
    card: ReportCard, projects: Sequence[ProjectRow], *, generated_at: datetime, tz: ZoneInfo
) -> bytes:
    """The printable 成绩单 of ``card`` with ``projects`` (the unit's projects as they stand now)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))

    def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=FONT, fontSize=size, leading=size * 1.45, wordWrap="CJK", **kw
        )

    title, heading, body, small = (
        style("title", 18, alignment=1, spaceAfter=4),
        style("heading", 13, spaceBefore=10, spaceAfter=4),
        style("body", 10.5),
        style("small", 9, textColor=colors.HexColor("#444444")),
    )

    def para(text: str, st: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text), st)

    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )
    lines = card.lines()
    pairs = [lines[i : i + 2] for i in range(0, len(lines), 2)]
    figures = Table(
        [[para(c) for label, value in pair for c in (label, value)] for pair in pairs],
        colWidths=[28 * mm, 57 * mm, 28 * mm, 57 * mm],
        style=grid,
    )
    figures.setStyle([("BACKGROUND", (c, 0), (c, -1), colors.HexColor("#EEF2F6")) for c in (0, 2)])
    rows = [[para(h) for h in ("项目号", "项目", "状态", "预算（元）", "已支出（元）")]]
    rows += [
        [
            para(p.code),
            para(p.title),
            para(p.status_label),
            para(messages.yuan(round(p.budget * 100))),
            para(messages.yuan(round(p.spent * 100))),
        ]
        for p in projects
    ] or [[para("暂无"), "", "", "", ""]]
    table = Table(
        rows, colWidths=[34 * mm, 66 * mm, 20 * mm, 25 * mm, 25 * mm], style=grid, repeatRows=1
    )
    table.setStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEF2F6"))])
    story = [
        para(f"{card.unit_name} {card.period.label} 成绩单", title),
        para(f"单位编码 {card.unit_code}　时段 {card.period.label}（{_days(card, tz)}）", small),
        Spacer(1, 4 * mm),
        figures,
        para("项目逐一销号", heading),
        table,
        para("指标定义", heading),
        *[para(f"{n}. {line}", small) for n, line in enumerate(DEFINITIONS, start=1)],
        Spacer(1, 6 * mm),
        para(f"{generated_line(generated_at, tz)}　民微", small),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{card.unit_name} {card.period.label} 成绩单",
        author="民微",
    ).build(story)
    return out.getvalue()
