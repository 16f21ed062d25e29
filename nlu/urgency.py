"""Urgency cues (taxonomy-v1 立即办): which urgent situations a message describes, and calming context.

The cues come from ``data/lexicon/urgency.yml``. They are features of the urgency classifier (see
nlu/classifier.py), which decides; on their own they explain a decision (``urgent_cues``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlu.errors import DataError
from nlu.resources import LEXICON_DIR, read_yaml

#: The situations that, when current and needing action now, make a demand urgent.
SITUATIONS = (
    "trapped",
    "gas",
    "fire",
    "live_wire",
    "water_in_home",
    "fallen",
    "missing",
    "collapse",
    "knocked_down",
)


@dataclass(frozen=True, slots=True)
class UrgencyCues:
    situations: tuple[str, ...]  # in SITUATIONS order; "alarm" words are not a situation
    alarm: bool
    calm: bool

    def features(self) -> list[str]:
        out = [f"ug:{s}" for s in self.situations]
        if self.alarm:
            out.append("ug:alarm")
            out += [f"ug:{s}+alarm" for s in self.situations]
        if self.calm:
            out.append("ug:calm")
        if self.situations and not self.calm:
            out.append("ug:any_uncalm")
        return out


class UrgencyRules:
    """Compiled cue patterns; ``cues(text)`` runs on normalised text."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or LEXICON_DIR / "urgency.yml"
        doc = read_yaml(path) or {}
        try:
            situations = doc["situations"]
            self._patterns = [
                (name, re.compile("|".join(f"(?:{rx})" for rx in situations[name])))
                for name in (*SITUATIONS, "alarm")
            ]
            self._calm = re.compile("|".join(f"(?:{rx})" for rx in doc.get("calm") or []))
        except (KeyError, TypeError, re.error) as e:
            raise DataError(f"{path}: {e}") from e

    def cues(self, text: str) -> UrgencyCues:
        found = [name for name, rx in self._patterns if rx.search(text)]
        alarm = "alarm" in found
        return UrgencyCues(
            situations=tuple(n for n in found if n != "alarm"),
            alarm=alarm,
            calm=bool(self._calm.search(text)),
        )
