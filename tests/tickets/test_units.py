"""Units load from YAML idempotently; the tree finds areas from place names and routes categories."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import ConfigError
from tickets.models import Unit
from tickets.routing import route
from tickets.settings import DATA_DIR
from tickets.units import UnitTree, load_units, parse_units


def test_loading_twice_updates_instead_of_duplicating(sqlite_db: Database) -> None:
    for expected in ((25, 0), (0, 25)):
        with sqlite_db.unit_of_work() as uow:
            assert load_units(uow.session, DATA_DIR / "units.yml") == expected
            uow.commit()
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count(Unit.id))) == 25
        grid = session.scalars(select(Unit).where(Unit.code == "YX-SG-XF-01")).one()
        assert [a.code for a in UnitTree.load(session).ancestors(grid)] == [
            "YX-SG-XF-01",
            "YX-SG-XF",
            "YX-SG",
            "YX",
        ]


def test_a_cached_tree_outlives_the_session_it_was_loaded_in(sqlite_db: Database) -> None:
    with sqlite_db.unit_of_work() as uow:
        load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    with sqlite_db.session() as session:  # a read session: rolled back at the end
        tree = UnitTree.load(session)
    assert tree.get("YX-SG-XF-01").name == "幸福社区第一网格"
    assert [u.code for u in tree.ancestors(tree.get("YX-SG-XF-01"))][-1] == "YX"


@pytest.mark.parametrize(
    ("places", "expected"),
    [
        (["幸福花园12栋2单元"], "YX-SG-XF-01"),
        (["幸福花园东门"], "YX-SG-XF-01"),
        (["石岗路"], "YX-SG-XF"),  # a street of the community, no grid
        (["大岭村市场"], "YX-NL-DL-01"),  # the grid's market beats the village name inside it
        (["湖景楼", "石岗路"], "YX-SG-CH-02"),  # the deepest match wins
        (["火星基地"], None),
    ],
)
def test_locate_finds_the_deepest_unit_naming_the_place(
    db: Database, domain: Domain, places: list[str], expected: str | None
) -> None:
    with db.session() as session:
        unit = domain.units(session).locate(places)
        assert (unit.code if unit else None) == expected


@pytest.mark.parametrize(
    ("category", "area", "expected"),
    [
        ("elevator", "YX-SG-XF-01", "YX-SG-XF"),  # community level
        ("noise", "YX-SG-XF-01", "YX-SG"),  # street level
        ("sanitation", "YX-SG-XF-01", "YX-SG-CG"),  # the street's own urban-management team
        ("sanitation", "YX-NL-DL-01", "YX-CG"),  # 南岭镇 has none: the district's
        ("traffic", "YX-NL-XT-01", "YX-JT"),  # district department
        ("elevator", None, "YX"),  # place unknown: the district dispatches
    ],
)
def test_routing_follows_unit_types_from_data(
    db: Database, domain: Domain, category: str, area: str | None, expected: str
) -> None:
    with db.session() as session:
        tree = domain.units(session)
        unit = route(tree, domain.taxonomy.get(category), tree.get(area) if area else None)
        assert unit is not None and unit.code == expected


def test_a_route_override_in_the_units_file_wins(tmp_path: Path, sqlite_db: Database) -> None:
    text = (
        (DATA_DIR / "units.yml")
        .read_text(encoding="utf-8")
        .replace(
            "            places: [翠湖社区, 翠湖路, 翠湖小学]\n",
            "            places: [翠湖社区, 翠湖路, 翠湖小学]\n            routes: {elevator: YX-ZJ}\n",
        )
    )
    path = tmp_path / "units.yml"
    path.write_text(text, encoding="utf-8")
    with sqlite_db.unit_of_work() as uow:
        load_units(uow.session, path)
        tree = UnitTree.load(uow.session)
        from tickets.taxonomy import load_taxonomy

        elevator = load_taxonomy(DATA_DIR / "taxonomy.yml").get("elevator")
        unit = route(tree, elevator, tree.get("YX-SG-CH-01"))
        assert unit is not None and unit.code == "YX-ZJ"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "      - {code: YX-ZJ, name: 住建局, level: department}\n",
            "a department needs dept_type",
        ),
        ("      - {code: YX-SG, name: 重复, level: street}\n", "duplicate unit code 'YX-SG'"),
        ("      - {code: YX-Q, name: 奇怪, level: county}\n", "unknown level 'county'"),
        ("      - {code: YX-G, name: 网格, level: grid, colour: red}\n", "unknown key 'colour'"),
    ],
)
def test_a_broken_units_file_names_the_line(tmp_path: Path, bad: str, message: str) -> None:
    text = (DATA_DIR / "units.yml").read_text(encoding="utf-8")
    marker = "    children:\n"
    index = text.index(marker) + len(marker)
    text = text[:index] + bad + text[index:]
    path = tmp_path / "units.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as raised:
        parse_units(path)
    line = text[:index].count("\n") + 1
    # the inserted line is named: as the culprit, or (for a duplicate) as the first occurrence
    assert f"{path}:{line}:" in str(raised.value) or f"(first at line {line})" in str(raised.value)
