"""数据看板: the statistics of the period, trend and category charts, league table and hotspots."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.console.conftest import Seeded, post, sign_in


def test_the_dashboard_shows_the_period_s_figures_and_charts(
    client: TestClient, seeded: Seeded, clock: Clock
) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.daling}/accept", {})
    post(client, f"/tickets/{seeded.daling}/resolve", {"note": "已修复"})
    page = client.get("/dashboard?period=30d").text
    assert "近30日" in page
    assert "<span>诉求量</span><b>5</b>" in page
    assert "<span>办结率</span><b>20.0%</b>" in page
    assert '<svg class="chart"' in page and "新增（5）" in page and "办结（1）" in page
    assert "单位排行" in page and "幸福社区" in page
    assert "热点类案" in page and "CS-" in page


def test_the_dashboard_counts_only_the_viewer_s_units(client: TestClient, seeded: Seeded) -> None:
    page = sign_in(client, "cuihu").get("/dashboard?period=week").text
    assert "<span>诉求量</span><b>1</b>" in page


def test_a_custom_period_of_days(client: TestClient, seeded: Seeded) -> None:
    page = sign_in(client, "admin").get("/dashboard?start=2026-11-01&end=2026-11-22").text
    assert "2026-11-01至2026-11-22" in page
    assert "<span>诉求量</span><b>0</b>" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=forever", "未知的时段"),
        ("start=2026-11-01", "自定义时段需要同时填写开始和结束日期"),
        ("start=2020-01-01&end=2026-11-01", "时段最长一年"),
        ("start=2026-13-01&end=2026-13-02", "无法识别的日期"),
    ],
)
def test_bad_periods_are_explained(client: TestClient, query: str, message: str) -> None:
    response = sign_in(client, "admin").get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_the_dashboard_shows_overdue_send_back_and_callback_rates(
    client: TestClient, seeded: Seeded, clock: Clock
) -> None:
    """Five tickets filed; 幸福社区 sends one back; one is resolved and called back; a week later
    the four due by then are past their due time, three still open (the resolved one was on time)."""
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.daling}/accept", {})
    post(client, f"/tickets/{seeded.daling}/resolve", {"note": "已修复"})
    post(client, f"/tickets/{seeded.daling}/callback", {"satisfaction": "satisfied"})
    sign_in(client, "xingfu")
    post(client, f"/tickets/{seeded.xingfu}/send_back", {"reason": "不属于本单位职责"})
    clock.advance(days=8)  # 2026-12-01: every due time but the PII ticket's (12-02) has passed
    page = sign_in(client, "admin").get("/dashboard?period=30d").text
    assert "<span>超期率</span><b>75.0%</b><small>3 / 4</small>" in page
    assert "<span>退单率</span><b>20.0%</b><small>1 / 5</small>" in page
    assert "<span>回访率</span><b>100.0%</b><small>1 / 1</small>" in page
    assert "超期率 = 办理时限落在本期且已过的工单" in page
    # Per unit in the league table; 翠湖社区 sees only its own ticket.
    page = sign_in(client, "cuihu").get("/dashboard?period=30d").text
    assert "<span>退单率</span><b>0.0%</b><small>0 / 1</small>" in page
