"""导出: the filtered list as CSV and Excel; label feedback as Rasa training data."""

from __future__ import annotations

import csv
import io

import yaml
from openpyxl import load_workbook
from starlette.testclient import TestClient

from tests.console.conftest import Seeded, post, sign_in
from tests.tickets.factories import file
from tickets.db import Database
from tickets.domain import Domain


def test_csv_export_follows_the_list_filters(client: TestClient, seeded: Seeded) -> None:
    response = sign_in(client, "admin").get("/export/tickets.csv?area=YX-SG-XF")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment;" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")  # Excel and WPS read UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["工单号", "状态", "类别"]
    assert [r[0] for r in rows[1:]] == [seeded.with_pii, seeded.kangle, seeded.xingfu]
    assert rows[-1][2] == "电梯" and rows[-1][6] == "幸福花园3栋" and rows[-1][8] == "幸福社区"


def test_excel_export_holds_the_same_rows(client: TestClient, seeded: Seeded) -> None:
    response = sign_in(client, "grid1").get("/export/tickets.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "工单号"
    assert {r[0] for r in rows[1:]} == {seeded.xingfu, seeded.with_pii}
    assert any("138****5678" in str(r[5]) for r in rows[1:])  # grid members get redacted text


def test_formulas_in_ticket_text_are_defused_in_exports(
    client: TestClient, db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        file(uow.session, domain, '=HYPERLINK("http://evil.example","电梯坏咗")', "elevator")
        uow.commit()
    text = sign_in(client, "admin").get("/export/tickets.csv").text
    assert "'=HYPERLINK" in text


def test_training_data_is_rasa_nlu_yaml_with_pii_masked(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, "admin")
    post(client, f"/tickets/{seeded.with_pii}/reclassify", {"category": "utilities"})
    post(client, f"/tickets/{seeded.kangle}/reject", {"reason": "唔系诉求", "not_demand": "true"})
    post(client, f"/tickets/{seeded.xingfu}/urgent", {"urgent": "true"})
    body = client.get("/export/training.yml").text
    doc = yaml.safe_load(body)
    assert doc["version"] == "3.1"
    blocks = {
        (b["intent"], bool(b.get("metadata", {}).get("urgent"))): b["examples"] for b in doc["nlu"]
    }
    assert (
        blocks[("demand_utilities", False)]
        == "- [幸福花园5栋](location)漏水，打我电话138****5678\n"
    )
    assert blocks[("chitchat", False)] == "- 康乐楼门口垃圾堆咗三日冇人收\n"
    assert (
        blocks[("demand_elevator", True)] == "- [幸福花园3栋](location)电梯坏咗，我阿妈落唔到楼\n"
    )
    assert "13812345678" not in body


def test_only_district_administrators_export_training_data(client: TestClient) -> None:
    response = sign_in(client, "street").get("/export/training.yml")
    assert response.status_code == 403
    assert "只有区级管理员可以导出训练数据" in response.text
