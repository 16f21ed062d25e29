"""data/taxonomy.yml is validated at start: every mistake names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets.errors import ConfigError
from tickets.settings import DATA_DIR
from tickets.statuses import HandlingMode
from tickets.taxonomy import V1_CODES, load_taxonomy

SHIPPED = (DATA_DIR / "taxonomy.yml").read_text(encoding="utf-8")


def test_the_shipped_taxonomy_has_every_v1_code_with_all_fields() -> None:
    taxonomy = load_taxonomy(DATA_DIR / "taxonomy.yml")
    assert taxonomy.codes == V1_CODES
    for category in taxonomy.categories:
        assert category.name and category.description and category.keywords
        assert isinstance(category.handling_mode, HandlingMode)
        assert category.time_limit_days > 0
    assert taxonomy.get("elevator").name == "电梯"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        (
            lambda t: t.replace("    name: 停车\n", "    nmae: 停车\n"),
            "nmae: 停车",
            "unknown key 'nmae'",
        ),
        (
            lambda t: t.replace("  - code: parking\n", "  - code: elevator\n"),
            "code: elevator",
            "duplicate code 'elevator'",
        ),
        (
            lambda t: t.replace("    time_limit_days: 5\n", "", 1),
            "- code: parking",
            "missing time_limit_days",
        ),
        (
            lambda t: t.replace("handling_mode: onsite", "handling_mode: quickly", 1),
            "handling_mode: quickly",
            "handling_mode must be one of",
        ),
        (
            lambda t: t.replace("time_limit_days: 3", "time_limit_days: -1", 1),
            "time_limit_days: -1",
            "positive integer",
        ),
    ],
    ids=["unknown key", "duplicate code", "missing field", "bad mode", "bad limit"],
)
def test_a_broken_taxonomy_names_the_file_and_line(
    tmp_path: Path, change, needle: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    text = change(SHIPPED)
    occurrence = 2 if "duplicate" in message else 1
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_taxonomy(path)
    assert f"{path}:{line_of(text, needle, occurrence)}:" in str(raised.value)
    assert message in str(raised.value)


def test_a_taxonomy_that_drops_a_v1_code_is_refused(tmp_path: Path) -> None:
    text = SHIPPED.replace("  - code: other\n", "  - code: misc\n")
    with pytest.raises(ConfigError, match="taxonomy-v1 codes missing: other"):
        load_taxonomy(write(tmp_path, text))


def test_a_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ncategories:\n  - code: [elevator\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+:"):
        load_taxonomy(path)
