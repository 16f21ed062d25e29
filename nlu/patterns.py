"""What a regular expression's matches can start with, to skip searches that cannot match."""

from __future__ import annotations

import operator
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


def first_grams(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """What a match of ``pattern`` can start with, as strings of one or two characters: every match
    starts with one of them (a one-character entry: that character, then anything). None when that
    is not a short list (as for ``first_chars``). Sharper than ``first_chars`` for cue lists whose
    words start with common characters (有人, 不见了, 出不来): a text holding none of them — none of
    the single characters, none of the pairs (``grams``) — has no match."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        paths = _grams_of(list(_sre_parse.parse(pattern.pattern, pattern.flags)))
    except _Unknown:
        return None
    out = {prefix for prefix, _ in paths}
    if "" in out:
        return None
    # 浸 (then anything) already covers 浸入
    return frozenset(p for p in out if len(p) == 1 or p[0] not in out)


def grams(text: str) -> set[str]:
    """The characters and the pairs of adjacent characters of ``text``: what ``first_grams`` are
    looked up in."""
    out = set(text)
    out.update(map(operator.add, text, text[1:]))
    return out


_GRAM = 2
#: (prefix so far, whether the match may go on with the next item); a prefix of _GRAM characters,
#: or one after which anything may follow, is final.
_Paths = set[tuple[str, bool]]


def _grams_of(items: Iterable[tuple[Any, Any]]) -> _Paths:
    """The prefixes (up to two characters) of a sequence of parsed items: for each, whether the
    sequence may end right after it (so the next item's first characters follow)."""
    paths: _Paths = {("", True)}
    for op, av in items:
        if not any(open_ and len(p) < _GRAM for p, open_ in paths):
            break
        item = _grams_of_item(op, av)
        joined: _Paths = set()
        for prefix, open_ in paths:
            if not open_ or len(prefix) >= _GRAM:
                joined.add((prefix, False))
                continue
            for head, item_open in item:
                whole = prefix + head
                if len(whole) >= _GRAM:
                    joined.add((whole[:_GRAM], False))
                else:
                    joined.add((whole, item_open))
        paths = joined
    return paths


def _grams_of_item(op: Any, av: Any) -> _Paths:
    if op is _sre.LITERAL:
        return {(chr(av), True)}
    if op is _sre.IN:
        try:
            chars, _ = _first_of_item(op, av)
        except _Unknown:
            return {("", False)}  # some character: the prefix ends before it
        return {(c, True) for c in chars}
    if op is _sre.BRANCH:
        out: _Paths = set()
        for alternative in av[1]:
            out |= _grams_of(alternative)
        return out
    if op is _sre.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & re.IGNORECASE:
            raise _Unknown
        return _grams_of(sub)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av
        once = _grams_of(sub)
        # After one repetition another may follow: the prefix ends there (anything may follow).
        out = once if high == 1 else {(p, False) for p, _ in once}
        return out | {("", True)} if low == 0 else out
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return {("", True)}  # zero width: the match goes on with what follows
    return {("", False)}  # ANY, NOT_LITERAL, CATEGORY, ...: some character, unknown


def gate(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """A pattern of plain strings (``first_grams``) that finds something in every text where
    ``pattern`` has a match, or None. Searching it first rules most texts out for a fraction of the
    cost: Python's ``re`` skips ahead to the possible first characters of an alternation of plain
    strings, not of an alternation of groups such as ``(煤气|燃气).{0,6}味|漏气``."""
    prefixes = first_grams(pattern)
    if prefixes is None:
        return None
    return re.compile("|".join(map(re.escape, sorted(prefixes, key=lambda p: (-len(p), p)))))
