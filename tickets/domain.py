"""The dependencies services need besides a session: taxonomy, calendar, settings, clock, unit tree cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tickets.models import utcnow
from tickets.settings import Settings
from tickets.taxonomy import Taxonomy, load_taxonomy
from tickets.timelimits import WorkCalendar, load_calendar
from tickets.units import UnitTree

UNIT_CACHE_SECONDS = 60.0


@dataclass
class Domain:
    taxonomy: Taxonomy
    calendar: WorkCalendar
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    _tree: UnitTree | None = field(default=None, repr=False)
    _tree_loaded: float = field(default=0.0, repr=False)

    @classmethod
    def load(cls, settings: Settings, clock: Callable[[], datetime] = utcnow) -> Domain:
        """Read and validate the data files named by ``settings`` (raises ConfigError with file:line)."""
        return cls(
            taxonomy=load_taxonomy(settings.data_dir / "taxonomy.yml"),
            calendar=load_calendar(settings.data_dir / "calendar.yml"),
            settings=settings,
            clock=clock,
        )

    def units(self, session: Session) -> UnitTree:
        """The unit tree, cached for a minute (units change only through ``load-units``)."""
        if self._tree is None or time.monotonic() - self._tree_loaded > UNIT_CACHE_SECONDS:
            self._tree = UnitTree.load(session)
            self._tree_loaded = time.monotonic()
        return self._tree

    def invalidate_units(self) -> None:
        self._tree = None
