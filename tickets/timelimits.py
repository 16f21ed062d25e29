"""Time limits (办理时限): 立即办 in hours, every other handling mode in working days."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tickets import yamlfile
from tickets.errors import ConfigError, InvalidInput
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


_DAY_WORDS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2}
_WHEN = re.compile(
    r"^(?:(?P<y>\d{4})[-/年])?(?:(?P<mo>\d{1,2})[-/月](?P<d>\d{1,2})日?|(?P<word>今天|今日|明天|明日|后天))?"
    r"\s*[T ]?\s*(?P<half>上午|早上|中午|下午|晚上)?\s*"
    r"(?P<h>\d{1,2})(?:[:：](?P<mi>\d{2})|点(?:(?P<mi2>\d{1,2})分?|(?P<ban>半))?)$"
)


def parse_when(text: str, now: datetime, tz: ZoneInfo) -> datetime:
    """A local date and time as staff type it: ``2026-12-08 15:00``, ``12-08 15:00``,
    ``12月8日 15:00``, ``明天 15:00``, ``明天下午3点``, ``15:30`` (today) or the console's
    ``2026-12-08T15:00``; raises InvalidInput otherwise."""
    match = _WHEN.match(text.strip().replace("  ", " "))
    if match is None:
        raise InvalidInput("请按“2026-12-08 15:00”“明天 15:00”或“明天下午3点”的格式填写时间")
    local_now = now.astimezone(tz)
    if match["word"]:
        day = local_now.date() + timedelta(days=_DAY_WORDS[match["word"]])
    elif match["mo"]:
        year = int(match["y"]) if match["y"] else local_now.year
        try:
            day = date(year, int(match["mo"]), int(match["d"]))
        except ValueError:
            raise InvalidInput("日期不存在，请检查月份和日期") from None
        if not match["y"] and day < local_now.date() - timedelta(days=1):
            day = day.replace(year=year + 1)  # "1月3日" typed in December means next January
    else:
        day = local_now.date()
    hour = int(match["h"])
    minute = int(match["mi"] or match["mi2"] or (30 if match["ban"] else 0))
    if match["half"] in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        raise InvalidInput("时间不存在，请检查小时和分钟")
    return datetime.combine(day, time(hour, minute), tz)
