"""The interface other packages code against: load_pipeline, classify, NluResult.as_dict()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.errors import ModelNotFound, NluError
from nlu.pipeline import Pipeline, load_pipeline
from tickets.classification import Classification

KEYS = {
    "is_demand",
    "demand_confidence",
    "category",
    "category_confidence",
    "ranking",
    "urgent",
    "locations",
    "pii",
    "intent",
    "intent_confidence",
    "framing",
    "classifier_version",
}


def test_a_missing_model_is_a_lookup_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as info:
        load_pipeline(tmp_path / "nowhere")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, NluError)


@pytest.mark.parametrize(
    ("text", "is_demand", "category", "intent"),
    [
        ("3栋电梯又坏咗，我阿妈落唔到楼😭", True, "elevator", "report"),
        ("【转发】陈姨：东门口嗰个井盖冇咗好危险", True, "road_facility", "report"),
        ("明天上午2栋电梯维保，请大家错峰出行", False, None, "notice"),
        ("感谢物业，路灯修好了👍", False, None, "thank"),
        ("早晨各位街坊", False, None, "greet"),
        ("好的，冇问题", False, None, "affirm"),
        ("我上个礼拜报嘅路灯修咗未", False, None, "ask_status"),
    ],
)
def test_the_issue_examples_are_read_right(
    pipe: Pipeline, text: str, is_demand: bool, category: str | None, intent: str
) -> None:
    (result,) = pipe.classify([text])
    assert (result.is_demand, result.category, result.intent) == (is_demand, category, intent)


def test_as_dict_has_the_contract_fields_and_feeds_the_tickets_core(pipe: Pipeline) -> None:
    text = "【转发】陈姨：东门口嗰个井盖冇咗好危险，电话13812345678"
    (result,) = pipe.classify([text])
    d = result.as_dict()
    assert set(d) >= KEYS
    assert d["framing"] == {"forwarded": True, "speaker": "陈姨"}
    phone = text.index("138")
    assert d["pii"] == [{"kind": "phone", "start": phone, "end": phone + 11}]
    assert d["classifier_version"] == pipe.version
    assert d["ranking"][0][0] == d["category"]
    classification = Classification.from_dict(d)
    assert classification.category == "road_facility"
    assert classification.locations == [{"text": "东门口", "start": 7, "end": 10}]


def test_results_come_back_in_order_across_batches(model_dir: Path) -> None:
    small = load_pipeline(model_dir, batch_size=3)
    texts = ["电梯坏咗", "谢谢", "路灯唔着", "早晨", "楼上漏水", "好", "井盖冇咗"]
    assert [r.as_dict() for r in small.classify(texts)] == [
        r.as_dict() for r in small.classify(texts[:4]) + small.classify(texts[4:])
    ]


def test_results_are_frozen(pipe: Pipeline) -> None:
    (result,) = pipe.classify(["电梯坏咗"])
    with pytest.raises(AttributeError):
        result.urgent = True  # type: ignore[misc]


def test_empty_and_odd_inputs_are_classified(pipe: Pipeline) -> None:
    results = pipe.classify(["", "   ", "[图片]", "😂😂😂", "a" * 5000])
    assert [r.is_demand for r in results] == [False, False, False, False, False]
    assert results[2].framing.attachments == ("图片",)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=300))
def test_any_text_is_classified_with_offsets_inside_it(pipe: Pipeline, text: str) -> None:
    """Lone surrogates, controls, zero-width characters, emoji: a result, never an exception."""
    result = pipe.classify([text])[0]
    for place in result.locations:
        assert text[place.start : place.end] == place.text
    for pii in result.pii:
        assert 0 <= pii.start < pii.end <= len(text)


def test_to_json_writes_exactly_what_json_dumps_writes(pipe: Pipeline) -> None:
    from nlu.data import load_examples

    texts = [ex.text for ex in load_examples()]
    texts += [
        '【转发】陈姨：@网格员小李 [图片] 东门口个井盖冇咗 "好危险"\\n电话13812345678',
        "",
        "😀",
    ]
    ids: list[object] = [7, 'a"b', None, 1.5, {"k": [1, "二"]}]
    for i, result in enumerate(pipe.classify(texts)):
        id_ = ids[i % len(ids)]
        assert result.to_json(id_) == json.dumps(
            {"id": id_, **result.as_dict()}, ensure_ascii=False
        )


def test_the_fast_paths_write_the_same_json_lines_as_the_reference_code(
    model_dir: Path, pipe: Pipeline
) -> None:
    """``reference=True`` runs the code the fast paths replaced (spaCy's Matcher, an n-gram Counter
    per message, every urgency and normalisation pattern searched): byte for byte the same lines,
    on every training text and on texts that reach the rare branches (surrogates, emoji, empty,
    long numbers)."""
    from nlu.data import load_examples

    reference = load_pipeline(model_dir, reference=True)
    texts = [ex.text for ex in load_examples()]
    texts += [
        "",
        " ",
        "😀",
        "\ud800孤立代理",
        "负一层车库水浸入屋",
        "电话13812345678 火警！",
        "a" * 300,
    ]
    ids = list(range(len(texts)))
    fast = pipe.classify_json(texts, ids)
    slow = [r.to_json(i) for i, r in enumerate(reference.classify(texts))]
    assert fast == slow
    assert reference.classify_json(texts, ids) == slow
    assert sum('"locations": []' not in line for line in fast) > 1000


def test_classify_json_writes_the_lines_of_classify_and_to_json(model_dir: Path) -> None:
    """The batch path of ``nlu classify`` (arrays, no result objects) against ``classify`` +
    ``to_json`` on every training text, with every kind of id, in batches that do not divide the
    input evenly."""
    from nlu.data import load_examples

    pipe = load_pipeline(model_dir, batch_size=100)
    texts = [ex.text for ex in load_examples()]
    texts += [
        '【转发】陈姨：@网格员小李 [图片] 东门口个井盖冇咗 "好危险"\\n电话13812345678',
        "",
        "😀",
    ]
    kinds: list[object] = [7, 'a"b', None, 1.5, {"k": [1, "二"]}, "编号"]
    ids = [kinds[i % len(kinds)] for i in range(len(texts))]
    lines = pipe.classify_json(texts, ids)
    assert lines == [r.to_json(i) for r, i in zip(pipe.classify(texts), ids, strict=True)]
    decoded = [json.loads(line) for line in lines]
    urgent = [d for d in decoded if d["urgent"]]
    # urgent lines name their situations (most have one; an alarm word or a confident head alone
    # has none: data/nlu/urgent_implicit.yml tells a good part of its emergencies without any cue
    # word on purpose), the others never do
    assert len(urgent) > 100 and sum(bool(d["urgent_cues"]) for d in urgent) > 0.7 * len(urgent)
    assert not any(d["urgent_cues"] for d in decoded if not d["urgent"])
    assert pipe.classify_json([], []) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=0.0, max_value=1.0),
            st.integers(0, 20000).map(lambda k: k / 20000),  # a half at the fifth decimal
            st.integers(0, 2**20).map(lambda k: k / 2**20),  # exact binary fractions
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_batch_rounding_is_pythons_round(values: list[float]) -> None:
    import numpy as np

    from nlu.pipeline import _round4

    rounded = _round4(np.array(values))
    assert [repr(x) for x in rounded] == [repr(round(x, 4)) for x in values]
