"""Quick structural check of one or more data/nlu/*.yml files (used while writing data).

Usage: python3 scripts/check_nlu_file.py data/nlu/demand_elevator.yml [...]
Prints per-intent counts (normal / urgent), locations annotated, and any problem found.
"""

import re
import sys
from collections import Counter

import yaml

ENTITY = re.compile(r"\[(?P<text>[^\]]+?)\]\((?P<label>[^)]+)\)")
BAD_ADJACENT = re.compile(r"\][\[({]")


def check(path: str, seen: dict[str, str]) -> int:
    problems = 0
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    counts: Counter[tuple[str, bool]] = Counter()
    spans = 0
    for block in doc.get("nlu", []):
        intent = block["intent"]
        urgent = bool((block.get("metadata") or {}).get("urgent"))
        for line in block["examples"].splitlines():
            line = line.strip()
            if not line:
                continue
            if not line.startswith("- "):
                print(f"{path}: not an example line: {line!r}")
                problems += 1
                continue
            raw = line[2:].strip()
            for m in ENTITY.finditer(raw):
                spans += 1
                if m.group("label") != "location":
                    print(f"{path}: unknown entity label {m.group('label')!r} in {raw!r}")
                    problems += 1
            rest = ENTITY.sub("", raw)
            if BAD_ADJACENT.search(rest) or "](" in rest:
                print(f"{path}: stray bracket markup in {raw!r}")
                problems += 1
            plain = ENTITY.sub(lambda m: m.group("text"), raw)
            if plain in seen:
                print(f"{path}: duplicate of an example in {seen[plain]}: {plain!r}")
                problems += 1
            seen[plain] = path
            counts[(intent, urgent)] += 1
    for (intent, urgent), n in sorted(counts.items()):
        print(f"{path}: {intent}{' (urgent)' if urgent else ''}: {n}")
    print(f"{path}: location spans: {spans}")
    return problems


if __name__ == "__main__":
    seen: dict[str, str] = {}
    total = sum(check(p, seen) for p in sys.argv[1:])
    print("problems:", total)
    sys.exit(1 if total else 0)
