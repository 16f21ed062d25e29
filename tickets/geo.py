"""Points on the map: coordinates checked and rounded, distances (haversine), and the nearest unit
with a centre point for a pinned ticket whose text names no place the gazetteer knows."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from tickets.errors import InvalidInput
from tickets.models import Unit

#: Mean Earth radius in kilometres (the haversine formula's sphere).
EARTH_RADIUS_KM = 6371.0088
#: Decimals of the coordinates shown to the public (3 decimals ≈ 110 m: the street, not the door).
PUBLIC_DECIMALS = 3


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    @classmethod
    def parse(cls, latitude: object, longitude: object) -> Point:
        """A point from two numbers (or numeric strings); InvalidInput when either is missing, not a
        number or outside the globe."""
        try:
            lat, lng = float(latitude), float(longitude)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidInput("坐标必须是数字（纬度、经度）") from None
        if not (math.isfinite(lat) and math.isfinite(lng)):
            raise InvalidInput("坐标必须是数字（纬度、经度）")
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
            raise InvalidInput("坐标超出范围：纬度 -90～90，经度 -180～180")
        return cls(lat, lng)

    def rounded(self, decimals: int) -> Point:
        return Point(round(self.latitude, decimals), round(self.longitude, decimals))

    def as_pair(self) -> tuple[float, float]:
        return self.latitude, self.longitude


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two points (haversine)."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi = phi2 - phi1
    dlambda = math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def point_of(unit: Unit | None) -> Point | None:
    """The unit's centre point, when it has one."""
    if unit is None or unit.latitude is None or unit.longitude is None:
        return None
    return Point(unit.latitude, unit.longitude)


def nearest(point: Point, units: Iterable[Unit], max_km: float) -> tuple[Unit, float] | None:
    """The unit whose centre point is closest to ``point`` and at most ``max_km`` away, with its
    distance; ties go to the smaller code (stable across runs)."""
    best: tuple[float, str, Unit] | None = None
    for unit in units:
        centre = point_of(unit)
        if centre is None:
            continue
        km = distance_km(point, centre)
        if km <= max_km and (best is None or (km, unit.code) < best[:2]):
            best = (km, unit.code, unit)
    return (best[2], best[0]) if best is not None else None
