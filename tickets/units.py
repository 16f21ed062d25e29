"""Units (district → street → community → grid, plus departments): loading from YAML and the tree
used for routing, for finding a ticket's area from its locations, and for access scopes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached

from tickets import yamlfile
from tickets.errors import ConfigError, NotFound
from tickets.models import Unit

LEVELS = ("district", "street", "community", "grid")
_UNIT_KEYS = {"code", "name", "level"}
_UNIT_OPTIONAL = frozenset({"dept_type", "places", "routes", "children"})


@dataclass
class UnitSpec:
    code: str
    name: str
    level: str
    parent: str | None
    dept_type: str | None = None
    places: list[str] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)


def parse_units(path: Path) -> list[UnitSpec]:
    """Read and validate a units file; parents come before their children in the result."""
    doc = yamlfile.load(path)
    if not isinstance(doc, yamlfile.LineMap):
        raise ConfigError(f"{path}:1: expected a mapping with 'units'")
    yamlfile.check_keys(path, doc, "units file", {"version", "units"})
    specs: list[UnitSpec] = []
    seen: dict[str, int] = {}

    def walk(items: object, parent: UnitSpec | None, line: int) -> None:
        if not isinstance(items, list):
            raise ConfigError(f"{path}:{line}: expected a list of units")
        for item in items:
            if not isinstance(item, yamlfile.LineMap):
                raise ConfigError(f"{path}:{line}: each unit must be a mapping")
            what = f"unit {item.get('code', '?')!r}"
            yamlfile.check_keys(path, item, what, _UNIT_KEYS, _UNIT_OPTIONAL)
            code, level = str(item["code"]), item["level"]
            if code in seen:
                raise ConfigError(
                    f"{path}:{item.line}: duplicate unit code {code!r} (first at line {seen[code]})"
                )
            seen[code] = item.line
            if level == "department":
                if not item.get("dept_type"):
                    raise ConfigError(f"{path}:{item.line}: {what}: a department needs dept_type")
                if parent is None:
                    raise ConfigError(
                        f"{path}:{item.line}: {what}: a department must sit under an area"
                    )
            elif level not in LEVELS:
                raise ConfigError(
                    f"{path}:{item.key_lines['level']}: {what}: unknown level {level!r}"
                )
            elif parent is None and level != "district":
                raise ConfigError(f"{path}:{item.line}: {what}: top-level units must be districts")
            elif parent is not None and LEVELS.index(level) <= LEVELS.index(parent.level):
                raise ConfigError(
                    f"{path}:{item.line}: {what}: a {level} cannot sit under a {parent.level}"
                )
            places = item.get("places", [])
            if not isinstance(places, list) or not all(isinstance(p, str) and p for p in places):
                raise ConfigError(
                    f"{path}:{item.key_lines.get('places', item.line)}: {what}: places must be a list of names"
                )
            routes = item.get("routes", {})
            if not isinstance(routes, dict):
                raise ConfigError(
                    f"{path}:{item.key_lines['routes']}: {what}: routes must map category → unit code"
                )
            spec = UnitSpec(
                code,
                str(item["name"]),
                level,
                parent.code if parent else None,
                item.get("dept_type"),
                list(places),
                dict(routes),
            )
            specs.append(spec)
            if "children" in item:
                if level in ("grid", "department"):
                    raise ConfigError(
                        f"{path}:{item.key_lines['children']}: {what}: a {level} has no children"
                    )
                walk(item["children"], spec, item.key_lines["children"])

    walk(doc["units"], None, doc.key_lines["units"])
    for spec in specs:
        for category, target in spec.routes.items():
            if target not in seen:
                raise ConfigError(
                    f"{path}: unit {spec.code!r}: route for {category!r} names unknown unit {target!r}"
                )
    return specs


def load_units(session: Session, path: Path) -> tuple[int, int]:
    """Insert or update the units of ``path`` by code; returns (created, updated). Never deletes."""
    specs = parse_units(path)
    existing = {u.code: u for u in session.scalars(select(Unit))}
    created = updated = 0
    for spec in specs:
        unit = existing.get(spec.code)
        if unit is None:
            unit = Unit(code=spec.code)
            session.add(unit)
            existing[spec.code] = unit
            created += 1
        else:
            updated += 1
        unit.name, unit.level, unit.dept_type = spec.name, spec.level, spec.dept_type
        unit.places, unit.routes, unit.active = spec.places, spec.routes, True
        unit.parent = existing[spec.parent] if spec.parent else None
    session.flush()
    return created, updated


class UnitTree:
    """An in-memory snapshot of the units table (a few hundred rows) for fast tree walks."""

    def __init__(self, units: list[Unit]) -> None:
        self.by_id = {u.id: u for u in units}
        self.by_code = {u.code: u for u in units}
        self.children: dict[int | None, list[Unit]] = {}
        for u in units:
            self.children.setdefault(u.parent_id, []).append(u)
        # Gazetteer: longest names first so 幸福花园东门 wins over 幸福花园.
        self._places = sorted(
            ((name, u) for u in units for name in u.places), key=lambda p: -len(p[0])
        )

    @classmethod
    def load(cls, session: Session) -> UnitTree:
        """Load the active units as copies that belong to no session: the tree is cached across
        sessions (``Domain.units``), and a session's rollback would expire its own instances."""
        columns = Unit.__table__.columns
        rows = session.execute(select(*columns).where(Unit.active)).mappings()
        units = [Unit(**{c.key: row[c] for c in columns}) for row in rows]
        for unit in units:  # detached with identity: adding one to a session never inserts it
            make_transient_to_detached(unit)
        return cls(units)

    def get(self, code: str) -> Unit:
        try:
            return self.by_code[code]
        except KeyError:
            raise NotFound(f"没有编码为 {code} 的单位") from None

    def ancestors(self, unit: Unit) -> Iterator[Unit]:
        """``unit`` itself, then its parent, up to the district."""
        current: Unit | None = unit
        while current is not None:
            yield current
            current = self.by_id.get(current.parent_id) if current.parent_id else None

    def is_within(self, unit_id: int | None, scope: Unit) -> bool:
        """True when ``unit_id`` is ``scope`` or below it (departments of an area count as inside it)."""
        unit = self.by_id.get(unit_id) if unit_id is not None else None
        return unit is not None and any(a.id == scope.id for a in self.ancestors(unit))

    def subtree_ids(self, scope: Unit) -> set[int]:
        ids, stack = set(), [scope]
        while stack:
            unit = stack.pop()
            ids.add(unit.id)
            stack.extend(self.children.get(unit.id, []))
        return ids

    @property
    def root(self) -> Unit | None:
        roots = [u for u in self.children.get(None, []) if u.level == "district"]
        return roots[0] if len(roots) == 1 else None

    def locate(self, location_texts: list[str]) -> Unit | None:
        """The deepest unit whose gazetteer names one of ``location_texts`` (longest name wins)."""
        best: Unit | None = None
        for text in location_texts:
            for name, unit in self._places:
                if name in text:
                    if best is None or self._depth(unit) > self._depth(best):
                        best = unit
                    break
        return best

    def _depth(self, unit: Unit) -> int:
        return sum(1 for _ in self.ancestors(unit))

    def area_at(self, unit: Unit | None, level: str) -> Unit | None:
        """The ancestor-or-self of ``unit`` at ``level`` (e.g. the community of a grid)."""
        if unit is None:
            return None
        return next((a for a in self.ancestors(unit) if a.level == level), None)
