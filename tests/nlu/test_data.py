"""Consistency of the training data: taxonomy coverage, counts and span annotations."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from nlu.data import DEMAND_PREFIX, Example, load_examples, split
from nlu.resources import NLU_DATA_DIR, ROOT, taxonomy_codes

DIALOGUE = {"affirm", "deny", "inform", "ask_status", "rate", "cancel", "help", "start_report"}
NON_DEMAND = {"notice", "thank", "ask_info", "greet", "goodbye", "chitchat"}
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_examples()


def test_every_taxonomy_code_has_an_intent_with_enough_examples(examples: list[Example]) -> None:
    counts = Counter(ex.category for ex in examples if ex.is_demand)
    assert {code: counts[code] >= 60 for code in taxonomy_codes()} == dict.fromkeys(
        taxonomy_codes(), True
    )


def test_there_are_no_intents_outside_the_taxonomy_and_the_dialogue(
    examples: list[Example],
) -> None:
    intents = {ex.intent for ex in examples}
    expected = {DEMAND_PREFIX + c for c in taxonomy_codes()} | DIALOGUE | NON_DEMAND
    assert intents == expected


def test_there_are_at_least_500_non_demands(examples: list[Example]) -> None:
    assert sum(1 for ex in examples if ex.intent in NON_DEMAND) >= 500


def test_urgent_examples_exist_for_every_urgent_situation(examples: list[Example]) -> None:
    urgent = [ex.text for ex in examples if ex.urgent]
    situations = {
        "trapped": ("困", "卡"),
        "gas": ("煤气", "燃气", "石油气"),
        "fire": ("火", "烟"),
        "live wires": ("电线", "火花"),
        "water entering homes": ("入屋", "进水", "浸"),
        "fallen": ("跌", "摔"),
        "missing": ("唔见", "未返", "没回来", "冇返"),
        "collapse": ("塌", "倒"),
        "knocked down": ("撞",),
    }
    missing = [
        s for s, words in situations.items() if not any(w in t for t in urgent for w in words)
    ]
    assert missing == []


def test_only_demands_are_urgent(examples: list[Example]) -> None:
    assert [ex.text for ex in examples if ex.urgent and not ex.is_demand] == []


def test_texts_are_unique(examples: list[Example]) -> None:
    counts = Counter(ex.text for ex in examples)
    assert [t for t, n in counts.items() if n > 1] == []


def test_spans_are_trimmed_non_empty_and_disjoint(examples: list[Example]) -> None:
    bad = []
    for ex in examples:
        last = -1
        for s, e in ex.locations:
            span = ex.text[s:e]
            if not span or span != span.strip() or s < last:
                bad.append((ex.text, span))
            last = e
    assert bad == []


def test_the_held_out_split_is_stable_and_about_a_fifth(examples: list[Example]) -> None:
    test = split(examples, "test")
    assert 0.15 < len(test) / len(examples) < 0.25
    assert split(examples, "test") == test


@pytest.mark.skipif(not RASA_PY.exists(), reason="needs .venv-rasa")
def test_rasa_reads_the_same_texts_and_spans(examples: list[Example]) -> None:
    """Rasa's own YAML reader agrees with ours on every example's text, intent and entity spans."""
    script = (
        "import json,sys\n"
        "from rasa.shared.nlu.training_data.loading import load_data\n"
        f"td = load_data({str(NLU_DATA_DIR)!r})\n"
        "print(json.dumps(sorted([m.get('text'), m.get('intent'), "
        "[[e['start'], e['end'], e['entity']] for e in m.get('entities') or []]] "
        "for m in td.intent_examples), ensure_ascii=False))\n"
    )
    out = subprocess.run(
        [str(RASA_PY), "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": "/usr/bin:/bin",
        },
    )
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = sorted(
        [ex.text, ex.intent, [[s, e, "location"] for s, e in ex.locations]] for ex in examples
    )
    assert theirs == ours
