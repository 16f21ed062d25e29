"""YAML loading that remembers line numbers, so data-file errors can name the file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tickets.errors import ConfigError


class LineMap(dict[str, Any]):
    """A mapping from a YAML file that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise ConfigError(
                f"{node.start_mark.name}:{key_node.start_mark.line + 1}: duplicate key {key!r}"
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(path: Path) -> Any:
    """Parse ``path``; syntax errors become :class:`ConfigError` with file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    try:
        return yaml.load(text, Loader=_make_loader(path))
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise ConfigError(f"{path}:{line}: {e.problem}") from e


def _make_loader(path: Path) -> type[_Loader]:
    class Named(_Loader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.name = str(path)

    return Named


def check_keys(
    path: Path, item: LineMap, what: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    """Raise :class:`ConfigError` for unknown or missing keys of ``item``."""
    for key in item:
        if key not in required and key not in optional:
            raise ConfigError(f"{path}:{item.key_lines[key]}: {what}: unknown key {key!r}")
    missing = sorted(required - set(item))
    if missing:
        raise ConfigError(f"{path}:{item.line}: {what}: missing {', '.join(missing)}")
