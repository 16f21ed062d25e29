"""Where the NLU's data files live, and small loaders for them (standard library + PyYAML only).

Nothing here runs at import time: every loader is a function the composition root calls once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nlu.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
NLU_DATA_DIR = DATA_DIR / "nlu"
LEXICON_DIR = DATA_DIR / "lexicon"
JIEBA_DIR = DATA_DIR / "jieba"
DEFAULT_MODEL_DIR = ROOT / "models" / "nlu"
VAR_DIR = ROOT / "var"


def resources_fingerprint() -> str:
    """A hash of every file a trained model depends on besides its training examples: the lexicons,
    the jieba dictionary, the taxonomy, the units' gazetteer, the divisions and the NLU code itself.
    Rasa's training cache keys its components on this too, so a changed lexicon retrains them."""
    import hashlib

    digest = hashlib.sha256()
    files = [
        *sorted(LEXICON_DIR.glob("*")),
        *sorted(JIEBA_DIR.glob("*")),
        DATA_DIR / "taxonomy.yml",
        DATA_DIR / "units.yml",
        *sorted((DATA_DIR / "divisions").glob("*.tsv*")),
        *sorted((ROOT / "nlu").glob("*.py")),
    ]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; syntax errors become ``DataError`` naming the file."""
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise DataError(f"{path}: {e}") from e


def taxonomy_codes(path: Path | None = None) -> list[str]:
    """Category codes of data/taxonomy.yml, in file order."""
    path = path or DATA_DIR / "taxonomy.yml"
    doc = read_yaml(path)
    try:
        return [str(c["code"]) for c in doc["categories"]]
    except (KeyError, TypeError) as e:
        raise DataError(f"{path}: categories[].code missing") from e


def taxonomy_keywords(path: Path | None = None) -> dict[str, list[str]]:
    """``{code: [keyword, ...]}`` from data/taxonomy.yml (the staff's search words, used as hints)."""
    path = path or DATA_DIR / "taxonomy.yml"
    doc = read_yaml(path)
    return {str(c["code"]): [str(k) for k in c.get("keywords") or []] for c in doc["categories"]}


def gazetteer_places(path: Path | None = None) -> list[str]:
    """Every place name in data/units.yml (``places`` of every unit), longest first, deduplicated."""
    path = path or DATA_DIR / "units.yml"
    doc = read_yaml(path)
    found: set[str] = set()

    def walk(units: list[dict[str, Any]]) -> None:
        for unit in units or []:
            found.update(str(p) for p in unit.get("places") or [])
            walk(unit.get("children") or [])

    walk(doc.get("units") or [])
    return sorted(found, key=lambda p: (-len(p), p))


@dataclass(frozen=True, slots=True)
class TableFile:
    """A two-column text lexicon: ``key<TAB>value`` lines; ``#`` starts a comment line."""

    path: Path

    def pairs(self) -> list[tuple[str, str]]:
        out = []
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise DataError(f"{self.path}: {e}") from e
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.startswith("#"):
                continue
            key, sep, value = line.partition("\t")
            if not sep or not key:
                raise DataError(f"{self.path}:{number}: expected 'key<TAB>value', got {line!r}")
            out.append((key, value))
        return out


def word_list(path: Path) -> list[str]:
    """One entry per line (first whitespace-separated field); ``#`` comment lines and blanks skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DataError(f"{path}: {e}") from e
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
