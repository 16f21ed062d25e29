"""The tipdm benchmark's folds and recipes, on a few hand-made records (the dataset is not needed)."""

from __future__ import annotations

import pytest

from benchmarks.bench_nlu_tipdm import Recipe, grouped_folds, predict_ours

TOPICS = {
    "交通运输": ("公交车", "司机开车太快，公交站牌也看不清"),
    "教育文体": ("学校", "孩子上学要交额外的补课费，老师还布置太多作业"),
    "卫生计生": ("医院", "看病排队太久，医生态度也差，药价又贵"),
}


def rows(copies: int) -> list[dict[str, str]]:
    out = []
    for label, (word, body) in TOPICS.items():
        for i in range(copies):
            out.append(
                {
                    "留言主题": f"{word}问题第{i}次反映",
                    "留言详情": body if i % 2 else "",
                    "一级标签": label,
                    "title_group": f"{label}-{i // 2}",  # two rows per title group
                }
            )
    return out


def test_rows_of_one_title_share_a_fold_and_every_label_is_in_every_fold():
    data = rows(12)
    fold = grouped_folds(data, 3)
    by_group: dict[str, set[int]] = {}
    for row, f in zip(data, fold, strict=True):
        by_group.setdefault(row["title_group"], set()).add(f)
    assert all(len(folds) == 1 for folds in by_group.values())
    for label in TOPICS:
        assert {f for row, f in zip(data, fold, strict=True) if row["一级标签"] == label} == {
            0,
            1,
            2,
        }
    assert grouped_folds(data, 3) == fold


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(),
        Recipe(with_body=True, balanced=True),
        Recipe(with_body=True, balanced=True, title_copies=True, title_model=0.4),
        Recipe(with_body=True, balanced=True, title_copies=True, title_model=0.4, nb_model=0.15),
    ],
)
def test_every_recipe_learns_the_topics(recipe):
    train = rows(8)
    test = [
        {"留言主题": "公交车又晚点了", "留言详情": "", "一级标签": "交通运输"},
        {"留言主题": "学校乱收费", "留言详情": "补课费太贵", "一级标签": "教育文体"},
        {"留言主题": "医院排队", "留言详情": "", "一级标签": "卫生计生"},
    ]
    pred, seconds, rate = predict_ours(train, test, sorted(TOPICS), recipe)
    assert pred == ["交通运输", "教育文体", "卫生计生"]
    assert seconds > 0 and rate > 0
