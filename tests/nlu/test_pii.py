"""Phone and ID numbers are found with offsets and masked in place."""

from __future__ import annotations

import pytest

from nlu.pii import find_pii, redact, valid_id_number


@pytest.mark.parametrize(
    ("text", "kinds", "redacted"),
    [
        ("我电话13812345678有事打我", ["phone"], "我电话138****5678有事打我"),
        ("联系：138-1234-5678 陈生", ["phone"], "联系：138-****-5678 陈生"),
        ("+86 139 1234 5678", ["phone"], "+86 139 **** 5678"),
        ("座机020-87654321", ["phone"], "座机020-****4321"),
        ("身份证11010519491231002X", ["id_number"], "身份证11**************2X"),
        ("工单MW-20261122-0007进度点样", [], "工单MW-20261122-0007进度点样"),
        ("3栋1803房，2026年11月22日", [], "3栋1803房，2026年11月22日"),
        ("订单号123456789012345", [], "订单号123456789012345"),
    ],
)
def test_pii_is_found_and_masked(text: str, kinds: list[str], redacted: str) -> None:
    spans = find_pii(text)
    assert [s.kind for s in spans] == kinds
    assert redact(text) == redacted
    assert len(redact(text)) == len(text)  # offsets into the original stay valid


def test_spans_point_into_the_original_text() -> None:
    text = "陈姨话佢个电话係13900001111，身份证係11010519491231002X"
    assert [text[s.start : s.end] for s in find_pii(text)] == ["13900001111", "11010519491231002X"]


def test_the_id_check_digit_is_known() -> None:
    assert valid_id_number("11010519491231002X")
    assert not valid_id_number("110105194912310021")
