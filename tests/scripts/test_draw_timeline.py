"""The README's timeline picture is drawn from ``data/supervision.yml`` and cannot drift from it."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tickets.settings import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def draw(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "draw_timeline", ROOT / "scripts" / "draw_timeline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "draw_timeline", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_picture_in_docs_is_the_one_the_rules_draw(draw: ModuleType) -> None:
    drawn = draw.current()
    assert (ROOT / "docs" / "supervision-timeline.svg").read_text(encoding="utf-8") == drawn, (
        "data/supervision.yml changed: run scripts/draw_timeline.py"
    )


def test_changed_rules_draw_a_changed_picture(draw: ModuleType, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("supervision.yml", "taxonomy.yml"):  # all the picture reads
        shutil.copy(DATA_DIR / name, data / name)
    rules = (data / "supervision.yml").read_text(encoding="utf-8")
    (data / "supervision.yml").write_text(
        rules.replace("default: [24h, 2h, 0]", "default: [48h, 0]"), encoding="utf-8"
    )
    drawn = draw.current(data)
    assert "到期前48小时" in drawn and "到期前24小时" not in drawn
    assert drawn.count(">临期预警<") == draw.current().count(">临期预警<") - 1
