"""办理时限: working days skip weekends and public holidays and count make-up working days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tickets.settings import DATA_DIR
from tickets.timelimits import WorkCalendar, load_calendar

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2026-11-23 09:00", 3, "2026-11-26 09:00"),  # Mon → Thu
        ("2026-11-27 16:30", 1, "2026-11-30 16:30"),  # Fri → Mon
        ("2026-09-30 10:00", 1, "2026-10-08 10:00"),  # over 国庆
        ("2026-10-09 10:00", 1, "2026-10-10 10:00"),  # Saturday 10-10 is a make-up working day
        ("2026-11-28 10:00", 1, "2026-11-30 10:00"),  # filed on a Saturday
    ],
)
def test_due_dates_count_working_days(start: str, days: int, due: str) -> None:
    calendar = load_calendar(DATA_DIR / "calendar.yml")
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
    assert calendar.add_working_days(begin, days).strftime("%Y-%m-%d %H:%M") == due


def test_without_a_calendar_only_weekends_rest() -> None:
    calendar = WorkCalendar()
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 3))
