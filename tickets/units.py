"""Units (district → street → community → grid, plus departments): loading from YAML and the tree
used for routing, for finding a ticket's area from its locations, and for access scopes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached

from tickets import yamlfile
from tickets.errors import ConfigError, InvalidInput, NotFound
from tickets.geo import Point, nearest
from tickets.models import Unit

LEVELS = ("district", "street", "community", "grid")
_UNIT_KEYS = {"code", "name", "level"}
_UNIT_OPTIONAL = frozenset({"dept_type", "places", "routes", "children", "lat", "lng"})


@dataclass
class UnitSpec:
    code: str
    name: str
    level: str
    parent: str | None
    dept_type: str | None = None
    places: list[str] = field(default_factory=list)
    routes: dict[str, str] = field(default_factory=dict)
    #: The unit's centre point (``lat``/``lng`` in the file), when given.
    point: Point | None = None


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
                _point(path, item, what),
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


def _point(path: Path, item: yamlfile.LineMap, what: str) -> Point | None:
    """``lat`` and ``lng`` of a unit: both or neither (empty values count as neither)."""
    lat, lng = item.get("lat"), item.get("lng")
    if lat in (None, "") and lng in (None, ""):
        return None
    line = item.key_lines.get("lat", item.key_lines.get("lng", item.line))
    if lat in (None, "") or lng in (None, ""):
        raise ConfigError(f"{path}:{line}: {what}: give both lat and lng, or neither")
    try:
        return Point.parse(lat, lng)
    except InvalidInput as e:
        raise ConfigError(f"{path}:{line}: {what}: {e}") from e


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
        unit.latitude, unit.longitude = spec.point.as_pair() if spec.point else (None, None)
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
        # Gazetteer: name → the units it names, longest names first so 幸福花园东门 wins over 幸福花园.
        by_name: dict[str, list[Unit]] = {}
        for u in units:
            for name in u.places:
                if u not in by_name.setdefault(name, []):
                    by_name[name].append(u)
        self._by_name = sorted(by_name.items(), key=lambda p: -len(p[0]))

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
        """The unit a ticket's places name: the deepest unit whose gazetteer names appear in
        ``location_texts`` and agree with the other names there.

        Names are found as substrings, longest first (幸福花园东门 over 幸福花园, 大岭村市场 over 大岭村).
        Several units may share a name (草堂村 in two towns, 钟村 the street and the village): a unit
        scores one for each name found of it or of an area above it, so 化龙镇草堂村 is the 草堂村 of
        化龙镇; of one name that means a unit and an area above it, the area is meant (钟村 → the
        street); a tie between unrelated units falls back to the smallest area containing them all."""
        found: list[list[Unit]] = []
        for text in location_texts:
            taken: list[tuple[int, int]] = []
            for name, units in self._by_name:
                at = text.find(name)
                while at >= 0:
                    end = at + len(name)
                    if not any(s <= at and end <= e for s, e in taken):
                        taken.append((at, end))
                        found.append(self._most_general(units))
                    at = text.find(name, at + 1)
        if not found:
            return None
        candidates = {u.id: u for units in found for u in units}
        scores = {
            uid: sum(1 for units in found if any(self._below(u, v) for v in units))
            for uid, u in candidates.items()
        }
        best = max(scores.values())
        top = [candidates[uid] for uid, s in scores.items() if s == best]
        deepest = max(self._depth(u) for u in top)
        top = [u for u in top if self._depth(u) == deepest]
        if len(top) == 1:
            return top[0]
        return self._common_area(top)

    def _below(self, unit: Unit, area: Unit) -> bool:
        """``unit`` is ``area`` or inside it."""
        return any(a.id == area.id for a in self.ancestors(unit))

    def _most_general(self, units: list[Unit]) -> list[Unit]:
        """Units of one name without those below another unit of the same name."""
        return [u for u in units if not any(v is not u and self._below(u, v) for v in units)]

    def _common_area(self, units: list[Unit]) -> Unit | None:
        chains = [list(self.ancestors(u)) for u in units]
        common = {a.id for a in chains[0]}
        for chain in chains[1:]:
            common &= {a.id for a in chain}
        return next((a for a in chains[0] if a.id in common), None)

    def _depth(self, unit: Unit) -> int:
        return sum(1 for _ in self.ancestors(unit))

    def nearest(self, point: Point, max_km: float) -> tuple[Unit, float] | None:
        """The leaf area nearest ``point`` within ``max_km``, with its distance: of the areas with a
        centre point (departments have none), those with no point below them (a community whose
        grids have none; a grid when grids have them)."""
        pointed = [
            u
            for u in self.by_id.values()
            if u.level != "department" and u.latitude is not None and u.longitude is not None
        ]
        above = {a.id for u in pointed for a in list(self.ancestors(u))[1:]}
        return nearest(point, (u for u in pointed if u.id not in above), max_km)

    def area_at(self, unit: Unit | None, level: str) -> Unit | None:
        """The ancestor-or-self of ``unit`` at ``level`` (e.g. the community of a grid)."""
        if unit is None:
            return None
        return next((a for a in self.ancestors(unit) if a.level == level), None)
