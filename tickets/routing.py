"""Routing: category × area → responsible unit, entirely from data (taxonomy unit_type + units tree)."""

from __future__ import annotations

from tickets.models import Unit
from tickets.taxonomy import Category
from tickets.units import LEVELS, UnitTree


def route(tree: UnitTree, category: Category, area: Unit | None) -> Unit | None:
    """The unit responsible for ``category`` at ``area`` (the district root when the area is unknown).

    1. An explicit ``routes`` override on the area or its nearest ancestor wins.
    2. A level unit type (grid/community/street/district) → the area's ancestor at that level; when the
       area is above that level (the place is unknown), the area itself takes it and dispatches.
    3. A department type → the nearest department of that type attached to the area or an ancestor;
       when there is none, the nearest street (or the district).
    """
    start = area or tree.root
    if start is None:
        return None
    chain = list(tree.ancestors(start))
    for unit in chain:
        target = unit.routes.get(category.code)
        if target:
            return tree.get(target)
    if category.unit_type in LEVELS:
        return next((u for u in chain if u.level == category.unit_type), start)
    for unit in chain:
        for child in tree.children.get(unit.id, []):
            if child.level == "department" and child.dept_type == category.unit_type:
                return child
    return next((u for u in chain if u.level in ("street", "district")), start)
