"""The division tree of Guangdong as data: codes, children, the ways names are written, and a units
file for a real district (番禺区) that loads into a real database and routes real place names."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.tickets.factories import file
from tickets.cli import main
from tickets.db import Database
from tickets.divisions import Divisions, UnknownDivision, unit_places, units_yaml
from tickets.domain import Domain
from tickets.models import Unit
from tickets.settings import DATA_DIR, Settings
from tickets.units import UnitTree, load_units, parse_units

PANYU = "440113"


@pytest.fixture(scope="module")
def divisions() -> Divisions:
    return Divisions.load()


@pytest.fixture(scope="module")
def panyu_file(tmp_path_factory: pytest.TempPathFactory, divisions: Divisions) -> Path:
    path = tmp_path_factory.mktemp("units") / "panyu.yml"
    path.write_text(units_yaml(divisions, PANYU, grids_per_community=2), encoding="utf-8")
    return path


def test_guangdong_has_all_five_levels(divisions: Divisions) -> None:
    levels: dict[str, int] = {}
    for d in divisions:
        levels[d.level] = levels.get(d.level, 0) + 1
    assert levels["province"] == 1
    assert levels["city"] == 21
    assert levels["county"] == 122
    assert levels["town"] > 1600
    assert levels["village"] > 25000


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("440000", "广东省", "province"),
        ("440100", "广州市", "city"),
        ("440113", "番禺区", "county"),
        ("440113000", "番禺区", "county"),
        ("440113000000", "番禺区", "county"),
        ("440113003", "钟村街道", "town"),
        ("440113003000", "钟村街道", "town"),
        ("440113102", "石碁镇", "town"),
        ("440113003/谢村", "谢村", "village"),
    ],
)
def test_a_division_is_found_by_its_6_9_or_12_digit_code(
    divisions: Divisions, code: str, name: str, level: str
) -> None:
    division = divisions.get(code)
    assert (division.name, division.level) == (name, level)


def test_codes_below_towns_are_not_in_the_data(divisions: Divisions) -> None:
    with pytest.raises(UnknownDivision, match="村和社区请按名称查找"):
        divisions.get("440113003201")
    with pytest.raises(UnknownDivision):
        divisions.get("449999")
    assert divisions.get("440113003").code12 == "440113003000"
    assert divisions.get("440113003/谢村").code is None


def test_panyu_has_16_towns_and_streets(divisions: Divisions) -> None:
    towns = divisions.children(PANYU)
    assert len(towns) == 16
    assert {t.name for t in towns} >= {
        "钟村街道",
        "沙湾街道",
        "大石街道",
        "石碁镇",
        "南村镇",
        "化龙镇",
    }
    assert [t.name for t in divisions.children("440113003")][:3] == [
        "南奥社区",
        "汉溪村",
        "祈福新村",
    ]
    assert divisions.path(divisions.get("440113003/谢村")) == "广东省广州市番禺区钟村街道谢村"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("番禺区", ["番禺区"]),
        ("番禺", ["番禺区"]),
        ("番禺县", ["番禺区"]),  # former names lead to the current division
        ("番禺市", ["番禺区"]),
        ("广州", ["广州市"]),
        ("钟村街道", ["钟村街道"]),
        ("钟村街", ["钟村街道"]),
        ("钟村街道办事处", ["钟村街道"]),
        ("沙湾镇", ["沙湾街道"]),  # 沙湾镇 became 沙湾街道
        ("沙湾", ["沙湾街道", "沙湾社区"]),  # most general first: the street, then its community
        ("石基镇", ["石碁镇"]),  # the statistical data's spelling
        ("化龙", ["化龙镇", "化龙社区"]),
        ("化龙镇政府", ["化龙镇"]),
    ],
)
def test_names_are_normalised_both_ways(
    divisions: Divisions, written: str, expected: list[str]
) -> None:
    assert [d.name for d in divisions.find(written, within="440100")] == expected


@pytest.mark.parametrize(
    ("written", "town"),
    [
        ("谢村", "钟村街道"),
        ("谢村村委会", "钟村街道"),
        ("谢村村委", "钟村街道"),
        ("东环社区居委会", "东环街道"),
        ("东环居委会", "东环街道"),
        ("东环社区", "东环街道"),
    ],
)
def test_village_and_community_committees_are_the_village(
    divisions: Divisions, written: str, town: str
) -> None:
    (found,) = divisions.find(written, within=PANYU)
    parent = divisions.parent(found)
    assert found.level == "village" and parent is not None and parent.name == town


def test_the_current_name_of_a_former_name(divisions: Divisions) -> None:
    assert divisions.current_name("番禺县") == "番禺区"
    assert divisions.current_name("顺德市") == "顺德区"
    assert divisions.current_name("沙湾镇") == "沙湾街道"
    assert divisions.current_name("谢村村委会") == "谢村"  # three villages, one name
    assert divisions.current_name("沙湾") is None  # 沙湾街道 or 沙湾社区
    assert divisions.current_name("火星镇") is None


def test_unit_places_hold_the_name_and_its_short_forms(divisions: Divisions) -> None:
    assert unit_places(divisions.get(PANYU)) == ["番禺区", "番禺", "番禺市", "番禺县"]
    assert unit_places(divisions.get("440113003")) == ["钟村街道", "钟村街", "钟村"]
    assert unit_places(divisions.get("440113002")) == ["沙湾街道", "沙湾镇", "沙湾街", "沙湾"]
    assert unit_places(divisions.get("440113003/南奥社区")) == ["南奥社区", "南奥居委"]


def test_a_units_file_for_panyu_loads_with_the_division_counts(
    panyu_file: Path, divisions: Divisions, sqlite_db: Database
) -> None:
    towns = divisions.children(PANYU)
    villages = [v for t in towns for v in divisions.children(t)]
    assert (len(towns), len(villages)) == (16, 271)
    specs = parse_units(panyu_file)
    assert len(specs) == 1 + 16 + 271 + 2 * 271
    with sqlite_db.unit_of_work() as uow:
        assert load_units(uow.session, panyu_file) == (1 + 16 + 271 + 2 * 271, 0)
        uow.commit()
    with sqlite_db.session() as session:
        tree = UnitTree.load(session)
        district = tree.get(PANYU)
        streets = tree.children[district.id]
        assert sorted(u.name for u in streets) == sorted(t.name for t in towns)
        assert all(u.level == "street" for u in streets)
        for street in streets:
            expected = [v.name for v in divisions.children(street.code)]
            assert [u.name for u in tree.children.get(street.id, [])] == expected
        grids = session.scalars(select(Unit).where(Unit.level == "grid")).all()
        assert len(grids) == 2 * 271
        assert tree.get("440113003-谢村-02").name == "谢村第二网格"


@pytest.mark.parametrize(
    ("places", "expected"),
    [
        (["钟村街谢村"], "440113003-谢村"),
        (["番禺区钟村街道谢村东街5号"], "440113003-谢村"),
        (["谢村村委会"], "440113003-谢村"),
        (["钟村"], "440113003"),  # the street, not its village of the same name
        (["钟村街"], "440113003"),
        (["沙湾镇"], "440113002"),  # a former name
        (["化龙镇草堂村"], "440113105-草堂村"),
        (["南村镇草堂村"], "440113103-草堂村"),
        (["草堂村"], "440113"),  # two villages of that name: the district dispatches
        (["石碁", "金山大道"], "440113102"),
        (["东环居委"], "440113007-东环社区"),
        (["祈福新村8栋"], "440113003-祈福新村"),
        (["番禺"], "440113"),
        (["天河区"], None),
    ],
)
def test_real_place_names_find_the_village_or_community(
    panyu_file: Path, sqlite_db: Database, places: list[str], expected: str | None
) -> None:
    with sqlite_db.unit_of_work() as uow:
        load_units(uow.session, panyu_file)
        uow.commit()
    with sqlite_db.session() as session:
        unit = UnitTree.load(session).locate(places)
        assert (unit.code if unit else None) == expected


def test_import_division_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MINWEI_DATA_DIR", str(DATA_DIR))
    out = tmp_path / "panyu.yml"
    assert (
        main(["units", "import-division", PANYU, "--grids-per-community", "3", "--out", str(out)])
        == 0
    )
    assert "镇街 16 个，村居 271 个" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert main(["load-units", str(out)]) == 0
    assert "新增 1101" in capsys.readouterr().out  # 1 + 16 + 271 + 3 × 271
    assert main(["units", "import-division", "440113003", "--out", str(out)]) == 1
    assert "不是区县" in capsys.readouterr().err


def test_the_demo_district_is_still_the_default_units_file() -> None:
    specs = parse_units(DATA_DIR / "units.yml")
    assert specs[0].name == "云溪区"


@pytest.mark.parametrize(
    ("text", "place", "category", "area", "unit"),
    [
        # a village only: the ticket is in the village and a community-level category goes there
        (
            "化龙镇草堂村村口盏路灯坏咗成个礼拜",
            "化龙镇草堂村",
            "elevator",
            "440113105-草堂村",
            "440113105-草堂村",
        ),
        (
            "谢村村委会门口成日有人乱停车",
            "谢村村委会",
            "parking",
            "440113003-谢村",
            "440113003-谢村",
        ),
        # a town only: the street takes it (and dispatches community-level work itself)
        ("石楼镇条大路啲井盖冇晒", "石楼镇", "noise", "440113106", "440113106"),
        ("钟村街有档大排档晚晚嘈到两点", "钟村街", "dispute", "440113003", "440113003"),
        ("番禺区有个地方积水", "番禺区", "noise", "440113", "440113"),
    ],
)
def test_a_place_naming_only_a_town_or_village_routes_the_ticket_there(
    panyu_file: Path,
    sqlite_db: Database,
    text: str,
    place: str,
    category: str,
    area: str,
    unit: str,
) -> None:
    domain = Domain.load(Settings(database_url=sqlite_db.url, data_dir=DATA_DIR))
    with sqlite_db.unit_of_work() as uow:
        load_units(uow.session, panyu_file)
        ticket = file(uow.session, domain, text, category, locations=[place])
        assert ticket.area is not None and ticket.area.code == area
        assert ticket.unit is not None and ticket.unit.code == unit
