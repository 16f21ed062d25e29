"""Time limits (办理时限): 立即办 in hours, every other handling mode in working days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tickets import yamlfile
from tickets.errors import ConfigError
from tickets.statuses import HandlingMode
from tickets.taxonomy import Category, Taxonomy


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends and listed holidays are rest days; listed make-up days (调休) are working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local clock time ``days`` working days after ``start`` (counting from the next day)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current.date()):
                remaining -= 1
        return current


def load_calendar(path: Path) -> WorkCalendar:
    if not path.exists():
        return WorkCalendar()
    doc = yamlfile.load(path) or {}
    if not isinstance(doc, yamlfile.LineMap):
        raise ConfigError(f"{path}:1: expected a mapping with holidays and workdays")
    yamlfile.check_keys(path, doc, "calendar", set(), frozenset({"holidays", "workdays"}))
    sets: dict[str, frozenset[date]] = {}
    for key in ("holidays", "workdays"):
        values = doc.get(key) or []
        if not all(isinstance(v, date) for v in values):
            raise ConfigError(
                f"{path}:{doc.key_lines[key]}: {key} must be a list of dates (YYYY-MM-DD)"
            )
        sets[key] = frozenset(values)
    return WorkCalendar(sets["holidays"], sets["workdays"])


def due_at(
    created_at: datetime,
    mode: HandlingMode,
    category: Category,
    taxonomy: Taxonomy,
    calendar: WorkCalendar,
    tz: ZoneInfo,
) -> datetime:
    """When a ticket filed at ``created_at`` with ``mode`` must be finished."""
    if mode is HandlingMode.IMMEDIATE:
        return created_at + timedelta(hours=taxonomy.immediate_hours)
    local = created_at.astimezone(tz)
    return calendar.add_working_days(local, category.time_limit_days).astimezone(created_at.tzinfo)
