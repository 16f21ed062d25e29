"""What a regular expression's matches can start with, to skip searches that cannot match."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

try:  # Python 3.11+
    from re import _constants as _sre  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python 3.10 (.venv-rasa)
    import sre_constants as _sre
    import sre_parse as _sre_parse


def first_chars(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Every character a match of ``pattern`` can start with, or None when that is not a short
    list (``.``, a class like ``\\s``, a wide range, a case-insensitive part, a possibly empty match).
    A text holding none of them has no match, so ``search`` can be skipped: Python's ``re`` does
    this itself only for alternations of plain characters, not for alternations of groups."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        chars, empty = _first_of(list(_sre_parse.parse(pattern.pattern, pattern.flags)))
    except _Unknown:
        return None
    return None if empty else frozenset(chars)


class _Unknown(Exception):
    """A pattern item whose first characters ``first_chars`` does not list."""


_WIDEST_RANGE = 256


def _first_of(items: Iterable[tuple[Any, Any]]) -> tuple[set[str], bool]:
    """(first characters, whether it can match the empty string) of a sequence of parsed items."""
    out: set[str] = set()
    for op, av in items:
        chars, empty = _first_of_item(op, av)
        out |= chars
        if not empty:
            return out, False
    return out, True


def _first_of_item(op: Any, av: Any) -> tuple[set[str], bool]:
    if op is _sre.LITERAL:
        return {chr(av)}, False
    if op is _sre.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _sre.LITERAL:
                chars.add(chr(value))
            elif kind is _sre.RANGE and value[1] - value[0] < _WIDEST_RANGE:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            else:  # NEGATE, CATEGORY, a wide range
                raise _Unknown
        return chars, False
    if op is _sre.BRANCH:
        chars, empty = set(), False
        for alternative in av[1]:
            first, can_be_empty = _first_of(alternative)
            chars |= first
            empty = empty or can_be_empty
        return chars, empty
    if op is _sre.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & re.IGNORECASE:
            raise _Unknown
        return _first_of(sub)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
        low, _high, sub = av
        chars, empty = _first_of(sub)
        return chars, empty or low == 0
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return set(), True  # zero width: the match starts with what follows
    raise _Unknown  # ANY, NOT_LITERAL, CATEGORY, GROUPREF, ...
