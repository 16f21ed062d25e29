"""The demand taxonomy (data/taxonomy.yml), loaded and validated at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tickets import yamlfile
from tickets.errors import ConfigError, UnknownCategory
from tickets.statuses import HandlingMode

#: The shipped taxonomy-v1 codes. A deployment may rename and re-route them, but not drop them.
V1_CODES = (
    "elevator",
    "parking",
    "ev_charging",
    "elder_care",
    "child_education",
    "road_facility",
    "drainage",
    "sanitation",
    "noise",
    "property_mgmt",
    "utilities",
    "public_safety",
    "traffic",
    "health",
    "employment_social",
    "illegal_construction",
    "greening_space",
    "dispute",
    "other",
)

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELDS = {
    "code",
    "name",
    "description",
    "keywords",
    "unit_type",
    "handling_mode",
    "time_limit_days",
}


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    description: str
    keywords: tuple[str, ...]
    unit_type: str
    handling_mode: HandlingMode
    time_limit_days: int


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    immediate_hours: int
    path: Path

    @cached_property
    def _by_code(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Category:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownCategory(f"未知类别：{code}") from None

    def name(self, code: str | None) -> str:
        return self.get(code).name if code else "非诉求"


def load_taxonomy(path: Path) -> Taxonomy:
    """Load and validate ``path``: unknown keys, duplicate codes, missing fields → ConfigError."""
    doc = yamlfile.load(path)
    if not isinstance(doc, yamlfile.LineMap):
        raise ConfigError(f"{path}:1: expected a mapping with 'categories'")
    yamlfile.check_keys(
        path, doc, "taxonomy", {"version", "categories"}, frozenset({"immediate_hours"})
    )
    if doc["version"] != 1:
        raise ConfigError(
            f"{path}:{doc.key_lines['version']}: unsupported version {doc['version']!r}"
        )
    immediate_hours = doc.get("immediate_hours", 4)
    if not isinstance(immediate_hours, int) or immediate_hours <= 0:
        raise ConfigError(
            f"{path}:{doc.key_lines['immediate_hours']}: immediate_hours must be a positive integer"
        )
    items = doc["categories"]
    if not isinstance(items, list) or not items:
        raise ConfigError(
            f"{path}:{doc.key_lines['categories']}: categories must be a non-empty list"
        )

    categories: list[Category] = []
    seen: dict[str, int] = {}
    for item in items:
        if not isinstance(item, yamlfile.LineMap):
            raise ConfigError(f"{path}: each category must be a mapping, got {item!r}")
        what = f"category {item.get('code', '?')!r}"
        yamlfile.check_keys(path, item, what, _FIELDS)
        code = item["code"]
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConfigError(f"{path}:{item.key_lines['code']}: invalid code {code!r}")
        if code in seen:
            raise ConfigError(
                f"{path}:{item.line}: duplicate code {code!r} (first at line {seen[code]})"
            )
        seen[code] = item.line
        for key in ("name", "description", "unit_type"):
            if not isinstance(item[key], str) or not item[key].strip():
                raise ConfigError(
                    f"{path}:{item.key_lines[key]}: {what}: {key} must be non-empty text"
                )
        keywords = item["keywords"]
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
            raise ConfigError(
                f"{path}:{item.key_lines['keywords']}: {what}: keywords must be a list of words"
            )
        try:
            mode = HandlingMode(item["handling_mode"])
        except ValueError:
            raise ConfigError(
                f"{path}:{item.key_lines['handling_mode']}: {what}: handling_mode must be one of "
                f"{', '.join(m.value for m in HandlingMode)}"
            ) from None
        days = item["time_limit_days"]
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            raise ConfigError(
                f"{path}:{item.key_lines['time_limit_days']}: {what}: time_limit_days must be a positive integer"
            )
        categories.append(
            Category(
                code,
                item["name"].strip(),
                item["description"].strip(),
                tuple(keywords),
                item["unit_type"].strip(),
                mode,
                days,
            )
        )

    missing = [c for c in V1_CODES if c not in seen]
    if missing:
        raise ConfigError(
            f"{path}:{doc.key_lines['categories']}: taxonomy-v1 codes missing: {', '.join(missing)}"
        )
    return Taxonomy(tuple(categories), immediate_hours, path)
