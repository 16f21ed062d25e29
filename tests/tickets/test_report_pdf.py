"""The printable 成绩单 (PDF): its text, read back out of the PDF, carries the figures found by counting
rows, the definitions, the unit and period, the projects and when it was made; on SQLite and PostgreSQL.
``python -m tickets report-card --pdf FILE`` writes the same PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest

from tests.conftest import Clock
from tests.tickets.test_report_card import counted, seed
from tickets import cli, messages, report_card, report_pdf
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import DATA_DIR
from tickets.usecases import projects


def pdf_text(data: bytes) -> str:
    """The PDF's text with all white space removed (table cells come out on lines of their own)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def _rate(part: int, whole: int) -> str:
    return messages.pct(part / whole if whole else None)


@pytest.mark.parametrize(("unit_code", "spec"), [("YX-SG-XF", "2026-12"), ("YX-SG", "2026-Q4")])
def test_the_pdf_carries_the_figures_counted_from_rows(
    db: Database, domain: Domain, clock: Clock, unit_code: str, spec: str
) -> None:
    seed(db, domain, clock)
    tz = domain.settings.timezone
    with db.session() as s:
        tree = domain.units(s)
        unit = tree.get(unit_code)
        period = report_card.parse_period(spec, tz, clock.now)
        card = report_card.of_unit(s, domain, unit, period)
        rows = projects.list_projects(s, domain, unit_code=unit_code)
        n = counted(s, tree, unit, period)
    data = report_pdf.render(card, rows, generated_at=clock.now, tz=tz)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    expected = [
        ("收集诉求", f"{n.demands}件"),
        ("办结率", f"{_rate(n.done, n.accepted)}（{n.done}/{n.accepted}）"),
        ("按时办结率", f"{_rate(n.done_on_time, n.done)}（{n.done_on_time}/{n.done}）"),
        ("满意率", f"{_rate(n.satisfied, n.rated)}（{n.satisfied}/{n.rated}）"),
        ("提议项目", f"{n.proposed}个"),
        ("立项项目", f"{n.approved}个"),
        ("完成项目", f"{n.finished}个"),
        ("不立项", f"{n.rejected}个"),
        ("落实资金", f"{messages.yuan(n.committed_fen)}元"),
        ("已支出资金", f"{messages.yuan(n.spent_fen)}元"),
    ]
    for label, value in expected:
        assert f"{label}{value}" in text
    assert n.demands > 0 and n.proposed > 0  # the seed gives the figures something to be
    assert f"{unit.name}{period.label}成绩单" in text
    assert f"时段{period.label}（{period.start.astimezone(tz):%Y-%m-%d}至" in text
    local = clock.now.astimezone(tz)
    assert f"生成时间：{local:%Y-%m-%d%H:%M}" in text
    for line in report_card.DEFINITIONS:
        assert re.sub(r"\s+", "", line) in text
    assert rows and all(f"{r.code}{r.title}{r.status_label}" in text for r in rows)


def test_the_command_line_writes_the_pdf(
    db: Database, domain: Domain, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(db, domain, clock)
    out = tmp_path / "成绩单.pdf"
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("MINWEI_DATA_DIR", str(DATA_DIR))
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-key-for-public-links")
    code = cli.main(["report-card", "--unit", "YX-SG-XF", "--period", "2026-11", "--pdf", str(out)])
    assert code == 0
    text = pdf_text(out.read_bytes())
    with db.session() as s:
        tree = domain.units(s)
        unit = tree.get("YX-SG-XF")
        period = report_card.parse_period("2026-11", domain.settings.timezone, clock.now)
        n = counted(s, tree, unit, period)
    assert (
        "幸福社区2026年11月成绩单" in text
        and "（2026-11-01至2026-11-30）" in text
        and f"收集诉求{n.demands}件" in text
    )
