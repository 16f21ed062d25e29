"""The maps' data for the browser (console/static/map.js draws it with Leaflet): points, unit labels,
colours per category and the tile configuration. Staff pages only; the public pages draw no pins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from tickets.geo import Point, point_of
from tickets.maps import Hotspot, TicketMap
from tickets.models import Unit
from tickets.settings import Settings
from tickets.taxonomy import Taxonomy

#: One colour per category, in taxonomy order (repeats after 12).
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#393b79",
    "#637939",
)


def colours(taxonomy: Taxonomy) -> dict[str, str]:
    return {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(taxonomy.codes)}


def tiles(settings: Settings) -> dict[str, str] | None:
    """The tile layer, or None for the offline map (points on a plain background)."""
    if not settings.map_tiles:
        return None
    return {"url": settings.map_tiles, "attribution": settings.map_attribution}


def tile_origins(settings: Settings) -> list[str]:
    """The origins the tile images come from, for the Content-Security-Policy's img-src
    (``{s}`` subdomains become a wildcard)."""
    if not settings.map_tiles:
        return []
    parts = urlsplit(settings.map_tiles.replace("{s}", "*"))
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


def _pair(p: Point) -> list[float]:
    return [p.latitude, p.longitude]


def unit_labels(units: Iterable[Unit]) -> list[dict[str, Any]]:
    """The centre points of the areas in view, drawn as labels (the offline map's only landmarks)."""
    return [
        {"code": u.code, "name": u.name, "level": u.level, "at": _pair(p)}
        for u in units
        if u.level in ("community", "grid") and (p := point_of(u)) is not None
    ]


def ticket_map_data(
    found: TicketMap, *, taxonomy: Taxonomy, settings: Settings, labels: list[dict[str, Any]]
) -> dict[str, Any]:
    names = {c.code: c.name for c in taxonomy.categories}
    palette = colours(taxonomy)
    return {
        "tiles": tiles(settings),
        "labels": labels,
        "pins": [
            {
                "code": p.code,
                "category": names.get(p.category, p.category),
                "colour": palette.get(p.category, "#555"),
                "status": p.status.label,
                "urgent": p.urgent,
                "at": _pair(p.point),
            }
            for p in found.pins
        ],
        "units": [
            {
                "code": u.unit_code,
                "name": u.unit_name,
                "at": _pair(u.point),
                "codes": list(u.codes[:30]),
                "count": len(u.codes),
                "categories": [[names.get(c, c), n] for c, n in u.categories],
            }
            for u in found.units
        ],
    }


def hotspot_data(
    spots: list[Hotspot], *, taxonomy: Taxonomy, settings: Settings, labels: list[dict[str, Any]]
) -> dict[str, Any]:
    names = {c.code: c.name for c in taxonomy.categories}
    palette = colours(taxonomy)
    return {
        "tiles": tiles(settings),
        "labels": labels,
        "hotspots": [
            {
                "category": names.get(h.category, h.category),
                "colour": palette.get(h.category, "#555"),
                "count": h.count,
                "exact": h.exact,
                "label": h.label,
                "at": _pair(h.point),
            }
            for h in spots
        ],
    }


def legend(taxonomy: Taxonomy, used: Iterable[str]) -> list[tuple[str, str]]:
    """(name, colour) of the categories on a map, in taxonomy order."""
    wanted = set(used)
    palette = colours(taxonomy)
    return [(c.name, palette[c.code]) for c in taxonomy.categories if c.code in wanted]
