"""The dependencies services need besides a session: taxonomy, calendar, settings, clock, supervision
rules, unit tree cache."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from tickets import links as public_links
from tickets.clock import Rules, load_rules
from tickets.models import utcnow
from tickets.settings import DATA_DIR, Settings
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
    #: The supervision clock's rules (data/supervision.yml).
    rules: Rules = field(default_factory=lambda: load_rules(DATA_DIR / "supervision.yml"))
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
            rules=load_rules(settings.data_dir / "supervision.yml"),
        )

    @cached_property
    def links(self) -> public_links.PublicLinks:
        """Signed public progress links (reads or creates the signing key on first use)."""
        return public_links.for_settings(self.settings)

    def units(self, session: Session) -> UnitTree:
        """The unit tree, cached for a minute (units change only through ``load-units``)."""
        if self._tree is None or time.monotonic() - self._tree_loaded > UNIT_CACHE_SECONDS:
            self._tree = UnitTree.load(session)
            self._tree_loaded = time.monotonic()
        return self._tree

    def invalidate_units(self) -> None:
        self._tree = None
