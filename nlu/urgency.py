"""Urgency cues (taxonomy-v1 立即办): which urgent situations a message describes, and calming context.

The cues come from ``data/lexicon/urgency.yml``. They are features of the urgency classifier (see
nlu/classifier.py), which decides; on their own they explain a decision (``urgent_cues``).

The whole sentence is read, not only the cue: a cue right after a negator (没闻到气味, 没人困住) is
negated; contexts anywhere in a message with a cue or an alarm word say whether it is happening now, already handled, in the
past, chronic, only a risk (万一, 惊, 差些, 好彩), cordoned off or assessed, or a notice. A situation
with a cue that is not negated and no calming context is "live"; the features name all of these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlu.errors import DataError
from nlu.patterns import gate
from nlu.resources import LEXICON_DIR, read_yaml

#: Contexts that make a cue not urgent by the labelling policy (everything in urgency.yml but "now"
#: and "recent": 刚才 is happening now unless the message says it is over).
CALMING = ("handled", "past", "habitual", "hypothetical", "guarded", "notice")
#: Calming contexts that speak of the event itself (it was before, it keeps happening, it might), so
#: they calm only a cue in their own clause: 上个月报过，今日又漏气 and 好担心，阿婆跌倒咗起唔到身 are live.
#: The others (handled, cordoned off, a notice) calm the whole message.
EVENT_CALMING = ("past", "habitual", "hypothetical")
#: The calming contexts that calm the whole message wherever they stand.
MESSAGE_CALMING = tuple(c for c in CALMING if c not in EVENT_CALMING)
#: What ends a clause (voice-to-text without punctuation stays one clause: the whole message).
_CLAUSE_END = re.compile(r"[，。！？；,.!?;、~～…\n]+|\s+")
_NEGATION_WINDOW = 4
#: The feature that marks a calmed message (``UrgencyCues.calmed``); the classifier reads it too.
CALMED_FEATURE = "ug:calmed"
#: The feature that marks a pressing message (``UrgencyCues.pressing``); the classifier reads it too.
PRESSING_FEATURE = "ug:pressing"

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
    contexts: tuple[str, ...] = ()  # urgency.yml "context" names found (read when a cue is there)
    negated: bool = False  # every situation cue stands right after a negator
    #: every clause with a situation cue also holds a past, habitual or hypothetical context
    cue_calm: bool = False

    @property
    def calmed(self) -> bool:
        """The labelling policy's "not urgent" read from the sentence: every cue negated, or calming
        context — handled, cordoned off or a notice anywhere, or past, chronic or only a risk in
        every clause that holds a cue — with no alarm word and nothing saying it is happening now.
        The pipeline never marks such a message urgent."""
        if not self.situations:
            return False
        if self.negated:
            return True
        if self.alarm or "now" in self.contexts:
            return False
        if any(c in MESSAGE_CALMING for c in self.contexts):
            return True  # handled, cordoned off, a notice: 刚才 … 已经拖走了 is over
        return self.cue_calm and "recent" not in self.contexts

    @property
    def live(self) -> bool:
        """A situation cue that is not negated and not calmed by its clause or the message."""
        return (
            bool(self.situations)
            and not self.negated
            and not self.cue_calm
            and not any(c in MESSAGE_CALMING for c in self.contexts)
        )

    @property
    def pressing(self) -> bool:
        """The sentence names something that needs action now: a live situation, a situation said
        to be happening now (现在困住了 after a 温馨提示 opening), or an alarm word (救命, 快来人).
        A demand that is not pressing is urgent only on the urgency head's high confidence
        (``ClassifierConfig.urgent_uncued``): most everyday complaints name no situation at all."""
        if self.negated:
            return False
        return self.live or self.alarm or (bool(self.situations) and "now" in self.contexts)

    def features(self) -> list[str]:
        out = [f"ug:{s}" for s in self.situations]
        if self.alarm:
            out.append("ug:alarm")
            out += [f"ug:{s}+alarm" for s in self.situations]
        if self.calm:
            out.append("ug:calm")
        if self.situations and not self.calm:
            out.append("ug:any_uncalm")
        out += [f"ug:ctx:{c}" for c in self.contexts]
        if self.calmed:
            out.append(CALMED_FEATURE)
        if self.pressing:
            out.append(PRESSING_FEATURE)
        if self.situations:
            if self.negated:
                out.append("ug:negated")
            if self.cue_calm:
                out.append("ug:cue_calm")
            out += [f"ug:sit+{c}" for c in self.contexts]
            if self.live:
                out.append("ug:live")
                out += [f"ug:live+{s}" for s in self.situations]
                if self.alarm or "now" in self.contexts:
                    out.append("ug:live+now")
        return out


class UrgencyRules:
    """Compiled cue patterns; ``cues(text)`` runs on normalised text."""

    def __init__(self, path: Path | None = None, *, skip_searches: bool = True) -> None:
        path = path or LEXICON_DIR / "urgency.yml"
        doc = read_yaml(path) or {}
        try:
            situations = doc["situations"]
            self._patterns = [
                (name, re.compile("|".join(f"(?:{rx})" for rx in situations[name])))
                for name in (*SITUATIONS, "alarm")
            ]
            self._situation_patterns = [rx for name, rx in self._patterns if name != "alarm"]
            self._calm = re.compile("|".join(f"(?:{rx})" for rx in doc.get("calm") or []))
            # Most messages hold none of the one- or two-character strings a pattern's match can
            # start with: one search of those plain strings (``gate``) rules the pattern out (the
            # same answer; the patterns' own searches were two thirds of the time of ``cues``).
            # ``skip_searches=False``: search every pattern (the reference, for tests).
            self._gates = [gate(rx) if skip_searches else None for _, rx in self._patterns]
            self._calm_gate = gate(self._calm) if skip_searches else None
            negators = doc.get("negators")
            self._negator = re.compile(f"(?:{negators})") if negators else None
            self._contexts = [
                (str(name), re.compile(str(rx))) for name, rx in (doc.get("context") or {}).items()
            ]
            # One pass to rule out every context (only read for messages with a cue or an alarm).
            # Situations are searched one by one: Python's re scans one big alternation of them
            # more slowly (11 µs a message) than the nine patterns in turn.
            self._any_context = (
                re.compile("|".join(f"(?:{rx.pattern})" for _, rx in self._contexts))
                if self._contexts
                else None
            )
            self._any_context_gate = (
                gate(self._any_context) if skip_searches and self._any_context else None
            )
        except (KeyError, TypeError, AttributeError, re.error) as e:
            raise DataError(f"{path}: {e}") from e

    def cues(self, text: str) -> UrgencyCues:
        situations: list[str] = []
        alarm = False
        asserted = False  # some situation cue without a negator right before it
        negator = self._negator
        for (name, rx), gate_rx in zip(self._patterns, self._gates, strict=True):
            if gate_rx is not None and gate_rx.search(text) is None:
                continue  # no match can start anywhere in the text
            if name == "alarm":
                alarm = rx.search(text) is not None
                continue
            if rx.search(text) is None:
                continue
            situations.append(name)
            matches = rx.finditer(text)
            if not asserted:
                for m in matches:
                    start = m.start()
                    before = text[max(0, start - _NEGATION_WINDOW) : start]
                    if negator is None or not negator.search(before):
                        asserted = True
                        break
        contexts = self._contexts_in(text) if situations or alarm else ()
        return UrgencyCues(
            situations=tuple(situations),
            alarm=alarm,
            calm=(self._calm_gate is None or self._calm_gate.search(text) is not None)
            and self._calm.search(text) is not None,
            contexts=contexts,
            negated=bool(situations) and not asserted,
            cue_calm=bool(situations) and self._cue_clauses_calm(text, contexts),
        )

    def _cue_clauses_calm(self, text: str, contexts: tuple[str, ...]) -> bool:
        """Every clause with a situation cue holds a past, habitual or hypothetical context."""
        event = [rx for name, rx in self._contexts if name in EVENT_CALMING and name in contexts]
        if not event:
            return False
        cues = self._situation_patterns
        clauses = [c for c in _CLAUSE_END.split(text) if any(rx.search(c) for rx in cues)]
        if not clauses:  # a cue across a clause break: read the message as one clause
            clauses = [text]
        return all(any(rx.search(c) for rx in event) for c in clauses)

    def _contexts_in(self, text: str) -> tuple[str, ...]:
        if self._any_context is None:
            return ()
        if self._any_context_gate is not None and self._any_context_gate.search(text) is None:
            return ()
        if not self._any_context.search(text):
            return ()
        return tuple(name for name, rx in self._contexts if rx.search(text))
