"""What the console's maps draw: the filtered tickets as points, and hotspots of cases.

A ticket with coordinates (a pin, Open311 lat/long) is drawn where it is; one known only by its area or
responsible unit is drawn at the centre point of that unit (or of the nearest unit above it that has
one), marked as approximate and grouped per unit. Units without centre points in units.yml leave such
tickets off the map (counted in ``unplaced``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Numeric, case, cast, func, select
from sqlalchemy.orm import Session

from tickets import messages, queries
from tickets.geo import PUBLIC_DECIMALS, Point, point_of
from tickets.models import Ticket, Unit
from tickets.statuses import Status
from tickets.units import UnitTree

#: At most this many tickets are drawn (the newest of the filter); the page says when there are more.
MAP_LIMIT = 2000
#: Tickets in a hotspot's point share their coordinates rounded to this many decimals (≈110 m).
HOTSPOT_DECIMALS = PUBLIC_DECIMALS


@dataclass(frozen=True)
class TicketPin:
    """One ticket drawn where it is."""

    code: str
    category: str
    status: Status
    urgent: bool
    point: Point


@dataclass(frozen=True)
class UnitPin:
    """Tickets known only by their unit, drawn at its centre point."""

    unit_code: str
    unit_name: str
    point: Point
    codes: tuple[str, ...]
    categories: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TicketMap:
    pins: list[TicketPin]
    units: list[UnitPin]
    #: Tickets that could not be drawn (no coordinates, and no unit with a centre point above them).
    unplaced: int
    #: Whether more tickets matched than ``MAP_LIMIT``.
    truncated: bool


@dataclass(frozen=True)
class Hotspot:
    """Tickets of one category at one point (a rounded pin, or a unit's centre)."""

    point: Point
    category: str
    count: int
    exact: bool
    label: str


def centre_of(tree: UnitTree, unit_id: int | None) -> Unit | None:
    """The unit itself, or the nearest unit above it, that has a centre point."""
    unit = tree.by_id.get(unit_id) if unit_id is not None else None
    if unit is None:
        return None
    return next((u for u in tree.ancestors(unit) if point_of(u) is not None), None)


def pin_label(tree: UnitTree, ticket: Ticket, near_km: float) -> str | None:
    """定位（lat, lng）· 近 <the nearest unit within ``near_km``>, for a ticket with coordinates."""
    if ticket.latitude is None or ticket.longitude is None:
        return None
    near = tree.nearest(Point(ticket.latitude, ticket.longitude), near_km)
    return messages.pin(ticket.latitude, ticket.longitude, near[0].name if near else None)


_COLUMNS = (
    Ticket.code,
    Ticket.category,
    Ticket.status,
    Ticket.urgent,
    Ticket.latitude,
    Ticket.longitude,
    Ticket.area_id,
    Ticket.unit_id,
)


def ticket_map(
    session: Session,
    f: queries.TicketFilter,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    now: datetime,
    tz: ZoneInfo,
    limit: int = MAP_LIMIT,
) -> TicketMap:
    """The tickets matching ``f`` within ``scope`` (the newest ``limit``) as map points."""
    dialect = session.get_bind().dialect.name
    where = queries.conditions(f, scope=scope, tree=tree, dialect=dialect, now=now, tz=tz)
    rows = session.execute(
        select(*_COLUMNS).where(*where).order_by(Ticket.id.desc()).limit(limit + 1)
    ).all()
    truncated = len(rows) > limit
    pins: list[TicketPin] = []
    grouped: dict[str, tuple[Unit, list[str], Counter[str]]] = {}
    unplaced = 0
    for code, category, status, urgent, lat, lng, area_id, unit_id in rows[:limit]:
        if lat is not None and lng is not None:
            pins.append(TicketPin(code, category, Status(status), bool(urgent), Point(lat, lng)))
            continue
        centre = centre_of(tree, area_id) or centre_of(tree, unit_id)
        if centre is None:
            unplaced += 1
            continue
        _, codes, categories = grouped.setdefault(centre.code, (centre, [], Counter()))
        codes.append(code)
        categories[category] += 1
    units = [
        UnitPin(
            unit.code,
            unit.name,
            Point(unit.latitude, unit.longitude),  # type: ignore[arg-type]
            tuple(codes),
            tuple(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
        )
        for unit, codes, categories in sorted(
            grouped.values(), key=lambda g: (-len(g[1]), g[0].code)
        )
    ]
    return TicketMap(pins, units, unplaced, truncated)


def _rounded(column: Any) -> ColumnElement[Any]:
    """``column`` rounded to ``HOTSPOT_DECIMALS`` in SQL (PostgreSQL rounds to places only numerics)."""
    return func.round(cast(column, Numeric), HOTSPOT_DECIMALS)


def hotspots(
    session: Session,
    *,
    scope: ColumnElement[bool],
    tree: UnitTree,
    start: datetime,
    end: datetime,
    near_km: float,
) -> list[Hotspot]:
    """Tickets filed in [start, end) within ``scope`` counted per point and category, largest
    first: pinned tickets by their coordinates rounded to ``HOTSPOT_DECIMALS`` (labelled with the unit
    nearest within ``near_km``), the others at the centre of their area or unit. Merged tickets are
    not counted again. Counted in SQL, one row per category and point or unit."""
    lat, lng = _rounded(Ticket.latitude), _rounded(Ticket.longitude)
    pinned = Ticket.latitude.is_not(None) & Ticket.longitude.is_not(None)
    area = case((pinned, None), else_=Ticket.area_id)
    unit = case((pinned, None), else_=Ticket.unit_id)
    rows = session.execute(
        select(Ticket.category, lat, lng, area, unit, func.count())
        .where(
            scope,
            Ticket.created_at >= start,
            Ticket.created_at < end,
            Ticket.status != Status.MERGED,
        )
        .group_by(Ticket.category, lat, lng, area, unit)
    ).all()
    counts: Counter[tuple[float, float, str, bool, str]] = Counter()
    labels: dict[Point, str] = {}
    for category, rlat, rlng, area_id, unit_id, n in rows:
        if rlat is not None and rlng is not None:
            p = Point(float(rlat), float(rlng))
            if p not in labels:
                near = tree.nearest(p, near_km)
                labels[p] = f"近{near[0].name}" if near else "定位"
            counts[(p.latitude, p.longitude, category, True, labels[p])] += n
            continue
        centre = centre_of(tree, area_id) or centre_of(tree, unit_id)
        if centre is not None:
            counts[(centre.latitude, centre.longitude, category, False, centre.name)] += n  # type: ignore[index]
    return [
        Hotspot(Point(lat, lng), category, n, exact, label)
        for (lat, lng, category, exact, label), n in sorted(
            counts.items(), key=lambda kv: (-kv[1], kv[0][2], kv[0][0], kv[0][1])
        )
    ]
