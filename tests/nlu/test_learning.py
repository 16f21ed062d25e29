"""The learning loop on tiny models: a candidate trained on shipped data + corrections is promoted only
when it is no worse on the frozen set, refused with the figures otherwise; rollback; live swap."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from nlu.data import Example, load_examples, split
from nlu.learning import Outcome, compare, retrain, training_set
from nlu.pipeline import load_pipeline, train_pipeline
from nlu.registry import LiveModel, Registry, RegistryError, read_active


def _small(examples: list[Example], per_intent: int) -> list[Example]:
    seen: dict[str, int] = {}
    out = []
    for ex in examples:
        if seen.get(ex.intent, 0) < per_intent:
            seen[ex.intent] = seen.get(ex.intent, 0) + 1
            out.append(ex)
    return out


@pytest.fixture(scope="module")
def shipped() -> list[Example]:
    return _small(split(load_examples(), "train"), 8)


@pytest.fixture(scope="module")
def frozen() -> list[dict]:
    return [ex.as_record() for ex in _small(split(load_examples(), "test"), 4)]


@pytest.fixture(scope="module")
def base(
    tmp_path_factory: pytest.TempPathFactory, shipped: list[Example], frozen: list[dict]
) -> tuple[Path, Outcome]:
    """A registry whose first version (trained on ``shipped``) is active; tests work on copies."""
    registry = Registry.open(tmp_path_factory.mktemp("base") / "registry")
    first = retrain(
        [], registry=registry, shipped=shipped, eval_records=frozen, seed=None, by="test"
    )
    return registry.root, first


def _copy(base: tuple[Path, Outcome], tmp_path: Path) -> tuple[Registry, Outcome]:
    shutil.copytree(base[0], tmp_path / "registry")
    return Registry.open(tmp_path / "registry"), base[1]


def test_a_refused_candidate_keeps_the_active_model_and_says_why(
    tmp_path: Path, shipped: list[Example], frozen: list[dict], base: tuple[Path, Outcome]
) -> None:
    registry, first = _copy(base, tmp_path)
    assert first.promoted and registry.active() == first.candidate
    assert first.active is None and first.entry["event"] == "promoted"
    # "Corrections" that call most demands of the shipped data non-demands: a worse model.
    demands = [ex for ex in shipped if ex.is_demand]
    bad = [Example(text=ex.text, intent="chitchat") for i, ex in enumerate(demands) if i % 4]
    outcome = retrain(
        bad, registry=registry, shipped=shipped, eval_records=frozen, seed=None, by="test"
    )
    assert not outcome.promoted
    assert registry.active() == first.candidate
    assert outcome.corrections_used == len(bad)
    assert outcome.candidate_figures["demand_f1"] < first.candidate_figures["demand_f1"]
    assert any("诉求 F1" in r for r in outcome.reasons)
    assert "未启用" in outcome.summary() and "诉求 F1" in outcome.summary()
    entry = registry.history()[-1]
    assert entry["event"] == "refused" and entry["version"] == outcome.candidate
    assert entry["figures"] == outcome.candidate_figures
    # The refused version is kept (for inspection) with the corrections it was trained on.
    kept = registry.path(outcome.candidate) / "corrections.jsonl"
    assert len(kept.read_text(encoding="utf-8").splitlines()) == len(bad)


def test_promotion_rollback_and_the_live_model_follow_the_registry(
    tmp_path: Path, shipped: list[Example], frozen: list[dict], base: tuple[Path, Outcome]
) -> None:
    registry, first = _copy(base, tmp_path)
    live = LiveModel(
        load_pipeline(registry.path(first.candidate)), root=registry.root, check_seconds=0
    )
    assert live.get().version == first.candidate
    # Good corrections: more correctly labelled messages (from data/nlu's own training split).
    extra = [ex for ex in split(load_examples(), "train") if ex not in shipped][::40]
    outcome = retrain(
        extra, registry=registry, shipped=shipped, eval_records=frozen, seed=None, tolerance=0.05
    )
    assert outcome.promoted, outcome.summary()
    assert outcome.active == first.candidate
    assert read_active(registry.root) == outcome.candidate
    assert live.get().version == outcome.candidate  # swapped without a restart
    registry.rollback(first.candidate, by="admin")
    assert registry.active() == first.candidate
    assert live.get().version == first.candidate
    assert [e["event"] for e in registry.history()] == ["promoted", "promoted", "rolled_back"]
    with pytest.raises(RegistryError):
        registry.rollback(first.candidate)
    with pytest.raises(RegistryError):
        registry.rollback("minwei-nlu-000000000000")


def test_corrections_replace_shipped_labels_and_never_enter_the_frozen_set() -> None:
    shipped = [Example("3栋电梯坏了", "demand_elevator"), Example("大家好", "greet")]
    corrections = [
        Example("3栋电梯坏了", "demand_elevator", urgent=True),
        Example("冻结评测集里的一句话", "chitchat"),
        Example("路灯不亮", "demand_streetlight"),
    ]
    out, used, dropped = training_set(shipped, corrections, ["冻结评测集里的一句话"])
    assert (used, dropped) == (2, 1)
    assert Example("3栋电梯坏了", "demand_elevator", urgent=True) in out
    assert len([ex for ex in out if ex.text == "3栋电梯坏了"]) == 1
    assert all(ex.text != "冻结评测集里的一句话" for ex in out)


def test_compare_names_each_figure_below_the_tolerance() -> None:
    current = {"demand_f1": 0.96, "category_macro_f1": 0.90, "urgent_recall": 0.92}
    assert compare({**current, "demand_f1": 0.956}, current, 0.005) == []
    reasons = compare(
        {"demand_f1": 0.95, "category_macro_f1": 0.90, "urgent_recall": 0.80}, current, 0.005
    )
    assert len(reasons) == 2
    assert reasons[0].startswith("诉求 F1 0.9500") and reasons[1].startswith("紧急召回率 0.8000")


def test_the_command_line_rolls_back_and_lists_the_history(
    tmp_path: Path,
    shipped: list[Example],
    frozen: list[dict],
    base: tuple[Path, Outcome],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from nlu.cli import main

    registry, first = _copy(base, tmp_path)
    second = retrain(
        [Example("楼道灯坏咗成个礼拜", "demand_streetlight")],
        registry=registry,
        shipped=shipped,
        eval_records=frozen,
        seed=None,
        tolerance=1.0,
    )
    assert second.promoted
    assert main(["rollback", first.candidate, "--registry", str(registry.root), "--no-db"]) == 0
    assert registry.active() == first.candidate
    assert main(["models", "--registry", str(registry.root)]) == 0
    out = capsys.readouterr().out
    assert f"{first.candidate} ✅ | rolled_back" in out
    assert json.loads((registry.root / "registry.json").read_text())["active"] == first.candidate


def test_the_bots_group_classifier_follows_the_registry_without_start(
    tmp_path: Path, shipped: list[Example], frozen: list[dict], base: tuple[Path, Outcome]
) -> None:
    """The console hands its loaded pipeline to the group classifier and never calls start()."""
    import asyncio

    from tickets.classification import PipelineClassifier

    registry, first = _copy(base, tmp_path)
    second = retrain(
        [Example("楼道灯坏咗成个礼拜", "demand_streetlight")],
        registry=registry,
        shipped=shipped,
        eval_records=frozen,
        tolerance=1.0,
        seed=None,
    )
    classifier = PipelineClassifier(
        pipeline=load_pipeline(registry.path(first.candidate)),
        registry=registry.root,
        check_seconds=0,
    )
    [result] = asyncio.run(classifier.classify(["3栋电梯又坏咗"]))
    assert result.classifier_version == second.candidate
    registry.rollback(first.candidate)
    [result] = asyncio.run(classifier.classify(["3栋电梯又坏咗"]))
    assert result.classifier_version == first.candidate


def test_a_place_staff_corrected_is_a_place_in_the_next_message(
    tmp_path: Path, shipped: list[Example]
) -> None:
    """A name the extractor cut or missed, given by staff once, is found whole in later messages;
    a shipped example's spans teach no names (only corrections do)."""
    text = "禾叉塱嗰边条水管爆咗，水流到成条巷都系"
    later = ["我住禾叉塱，门口啲路灯坏咗成个礼拜", "禾叉塱3巷有棵树倒咗落嚟"]
    before = train_pipeline(tmp_path / "before", examples=shipped)
    found = [[x.text for x in r.locations] for r in load_pipeline(before).classify(later)]
    assert found[0] == []
    name = text.index("禾叉塱")
    taught = Example(
        text=text,
        intent="demand_utilities",
        locations=((name, name + 3),),
        source="feedback:7 staff 李主任 2026-11-23",
    )
    as_shipped = dataclasses.replace(taught, source="data/nlu/demand_utilities.yml")
    plain = train_pipeline(tmp_path / "plain", examples=[*shipped, as_shipped])
    assert (
        json.loads((plain / "locations.json").read_text(encoding="utf-8"))["learned_places"] == []
    )
    after = train_pipeline(tmp_path / "after", examples=[*shipped, taught])
    meta = json.loads((after / "locations.json").read_text(encoding="utf-8"))
    assert meta["learned_places"] == ["禾叉塱"]
    found = [[x.text for x in r.locations] for r in load_pipeline(after).classify(later)]
    assert found == [["禾叉塱"], ["禾叉塱3巷"]]
