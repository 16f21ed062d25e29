"""The observers' evaluation criteria of 民微实事 projects (``data/project_criteria.yml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tickets import yamlfile
from tickets.errors import ConfigError

#: Points an observer gives per criterion.
MIN_SCORE, MAX_SCORE = 1, 5


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    description: str


def load_criteria(path: Path) -> tuple[Criterion, ...]:
    """Read and validate the criteria file (raises ConfigError with file:line)."""
    doc = yamlfile.load(path)
    if not isinstance(doc, yamlfile.LineMap):
        raise ConfigError(f"{path}:1: expected a mapping with 'criteria'")
    yamlfile.check_keys(path, doc, "criteria file", {"version", "criteria"})
    items = doc["criteria"]
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{path}:{doc.key_lines['criteria']}: expected a list of criteria")
    found: list[Criterion] = []
    for item in items:
        if not isinstance(item, yamlfile.LineMap):
            raise ConfigError(f"{path}: each criterion must be a mapping")
        yamlfile.check_keys(path, item, "criterion", {"code", "name"}, frozenset({"description"}))
        code = str(item["code"])
        if any(c.code == code for c in found):
            raise ConfigError(f"{path}:{item.line}: duplicate criterion code {code!r}")
        found.append(Criterion(code, str(item["name"]), str(item.get("description", ""))))
    return tuple(found)
