"""The place names the segmenter and the location extractor know: the deployed units' ``places``
(``data/units.yml``) and Guangdong's administrative divisions (``data/divisions/guangdong.tsv.gz``:
district/county, town/street and village/community names with their short forms).

A trained model keeps its own copies (``write_resources`` at training, ``Gazetteer.load`` after):

- ``gazetteer.txt``: the units' places, one a line (jieba words at the segmenter's place frequency);
- ``divisions.txt``: ``name<TAB>strong|weak`` for every division name form;
- ``userdict.txt``: ``data/jieba/userdict.txt`` followed by the division names as jieba words.

**Weak** names are short forms that are also ordinary words (大石 for 大石街道, 新造 for 新造镇, 光明 for
光明区, 和平 for 和平县, 高峰 for 高峰街道: jieba's dictionary has them with a tag other than a place
name, or as a common person name);
they are places only inside a chain (番禺大石, 新造镇 is strong); so are two-character names and
former names that are ordinary words (城区, 郊区). Division names that are generic place words (新村,
城中村) are left out. Names jieba lacks join its dictionary at
:data:`DIVISION_FREQ`, a frequency of an ordinary rare word: enough to keep a name whole, too little to
pull characters from the words around it; jieba's own frequency is kept for names it has.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from nlu.place_names import long_forms, short_forms
from nlu.resources import DATA_DIR, JIEBA_DIR, LEXICON_DIR, gazetteer_places, read_yaml, word_list

DIVISIONS_FILE = DATA_DIR / "divisions" / "guangdong.tsv.gz"
DIVISION_FREQ = 300
#: jieba tags of person names: jieba tags many ordinary words so (高峰), so a short form tagged as a
#: person name is still a name only when it is a rare word (白云, 顺德).
_PERSON_TAGS = frozenset({"nr", "nrt", "nrfg"})
_RARE = 500
_MIN_COMMUNITY_STEM = 3


@dataclass(frozen=True)
class Gazetteer:
    """Place names for one pipeline: ``places`` are names on their own, ``weak`` only in a chain."""

    units: tuple[str, ...]  # the deployed units' places (segmenter words at its place frequency)
    places: frozenset[str]
    weak: frozenset[str]

    @classmethod
    def load(cls, directory: Path) -> Gazetteer:
        """From a model's ``resources`` directory (see ``write_resources``)."""
        units = word_list(directory / "gazetteer.txt")
        strong: set[str] = set(units)
        weak: set[str] = set()
        path = directory / "divisions.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line or line.startswith("#"):
                    continue
                name, _, kind = line.partition("\t")
                (weak if kind == "weak" else strong).add(name)
        return cls(tuple(units), frozenset(strong), frozenset(weak - strong))


def read_divisions(path: Path | None = None) -> list[tuple[str, str, list[str]]]:
    """``(level, name, other names)`` of every division in the file (aliases and former names)."""
    path = path or DIVISIONS_FILE
    raw = path.read_bytes()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        _key, _parent, level, name, aliases, former = line.split("\t")
        others = [n for n in (*aliases.split(";"), *former.split(";")) if n]
        out.append((level, name, others))
    return out


def jieba_words() -> dict[str, tuple[int, str]]:
    """jieba's default dictionary: ``{word: (frequency, tag)}``."""
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    words: dict[str, tuple[int, str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                words[parts[0]] = (int(parts[1]), parts[2] if len(parts) > 2 else "")
    return words


def division_names(
    path: Path | None = None,
    jieba: dict[str, tuple[int, str]] | None = None,
    lexicon: Path | None = None,
) -> dict[str, bool]:
    """``{name form: strong}`` of every division (see the module docstring)."""
    jieba = jieba if jieba is not None else jieba_words()
    doc = read_yaml(lexicon or LEXICON_DIR / "places.yml") or {}
    generic = {str(w) for key in ("generic", "suffix_words", "gates") for w in doc.get(key) or []}
    out: dict[str, bool] = {}

    def add(name: str, strong: bool) -> None:
        if len(name) < 2 or name in generic:
            return
        out[name] = out.get(name, False) or strong

    for level, name, others in read_divisions(path):
        if level == "province" and name == "广东省":
            others = [n for n in others if len(n) >= 2]  # not 粤
        for full in (name, *others):
            add(full, _is_name(jieba.get(full)) or (full == name and len(full) > 2))  # 城区 is weak
            if level == "town":  # 钟村街道办, 沙湾镇政府 (村委会 and 居委会 follow as words)
                for form in long_forms(full, level):
                    add(form, True)
            for form in short_forms(full, level):
                if level == "village" and len(form) < _MIN_COMMUNITY_STEM:
                    continue  # 东环 (东环社区) is a piece of too many other words
                add(form, _is_name(jieba.get(form)))
    return out


def _is_name(known: tuple[int, str] | None) -> bool:
    """Whether a word with jieba's (frequency, tag) is a name rather than an ordinary word."""
    if known is None:
        return True
    freq, tag = known
    return tag == "ns" or (tag in _PERSON_TAGS and freq < _RARE)


def write_resources(
    directory: Path,
    *,
    units: Path | None = None,
    divisions: Path | None = None,
    userdict: Path | None = None,
) -> Gazetteer:
    """Write ``gazetteer.txt``, ``divisions.txt`` and ``userdict.txt`` into a model's resources."""
    places = gazetteer_places(units or DATA_DIR / "units.yml")
    (directory / "gazetteer.txt").write_text(
        "# place names of data/units.yml (jieba words and location gazetteer)\n"
        + "".join(p + "\n" for p in places),
        encoding="utf-8",
    )
    jieba = jieba_words()
    names = division_names(divisions, jieba)
    ordered = sorted(names, key=lambda n: (-len(n), n))
    (directory / "divisions.txt").write_text(
        "# Guangdong's division names (data/divisions): name<TAB>strong|weak\n"
        + "".join(f"{n}\t{'strong' if names[n] else 'weak'}\n" for n in ordered),
        encoding="utf-8",
    )
    base = (userdict or JIEBA_DIR / "userdict.txt").read_text(encoding="utf-8").rstrip("\n")
    extra = "".join(f"{n} {DIVISION_FREQ} ns\n" for n in ordered if n not in jieba)
    (directory / "userdict.txt").write_text(
        base + "\n# Guangdong's division names (data/divisions), added at training\n" + extra,
        encoding="utf-8",
    )
    return Gazetteer.load(directory)
