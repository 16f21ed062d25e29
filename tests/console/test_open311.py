"""Open311 GeoReport v2: services, requests (list, one, create), status mapping and the error format."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.app import create_app
from console.classifier import load_classifier
from tests.conftest import Clock
from tests.console.conftest import KeywordClassifier, Seeded
from tickets import auth, services
from tickets.db import Database
from tickets.domain import Domain
from tickets.models import ApiKey, Ticket
from tickets.settings import Settings
from tickets.statuses import Source

API = "/open311/v2"


@pytest.fixture
def key(db: Database) -> str:
    with db.unit_of_work() as uow:
        _, plain = auth.create_api_key(uow.session, name="12345热线对接")
        uow.commit()
    return plain


def test_there_is_one_service_per_taxonomy_code(client: TestClient, domain: Domain) -> None:
    body = client.get(f"{API}/services.json").json()
    assert [s["service_code"] for s in body] == list(domain.taxonomy.codes)
    elevator = body[0]
    assert elevator["service_name"] == "电梯"
    assert elevator["type"] == "realtime" and elevator["metadata"] is False
    assert "困人" in elevator["keywords"]


def test_posting_a_request_files_a_ticket_and_returns_its_id(
    client: TestClient, db: Database, key: str
) -> None:
    response = client.post(
        f"{API}/requests.json",
        data={
            "api_key": key,
            "service_code": "road_facility",
            "description": "东风路路灯唔着成个礼拜",
            "address_string": "东风路",
        },
    )
    assert response.status_code == 201
    [created] = response.json()
    assert created["service_request_id"].startswith("MW-")
    assert created["service_notice"] is None
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.code == created["service_request_id"]
        assert ticket.source is Source.API and ticket.category == "road_facility"
        assert ticket.original_text == "东风路路灯唔着成个礼拜（地址：东风路）"
        assert ticket.area is not None and ticket.area.code == "YX-SG-DF"  # found from the address
        assert ticket.events[0].actor_label == "Open311：12345热线对接"


def test_without_a_service_code_the_nlu_classifies_the_description(
    client: TestClient, db: Database, key: str, classifier: KeywordClassifier
) -> None:
    response = client.post(
        f"{API}/requests.json", json={"api_key": key, "description": "幸福花园3栋电梯困人"}
    )
    assert response.status_code == 201
    assert classifier.seen == ["幸福花园3栋电梯困人"]
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.category, ticket.urgent, ticket.needs_review) == ("elevator", True, False)
        assert ticket.location_text == "幸福花园"


def test_a_description_the_nlu_does_not_see_as_a_demand_is_filed_as_other_for_review(
    client: TestClient, db: Database, key: str
) -> None:
    response = client.post(
        f"{API}/requests.json", data={"api_key": key, "description": "多谢晒各位"}
    )
    assert response.status_code == 201
    assert "待人工复核" in response.json()[0]["service_notice"]
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.category, ticket.needs_review) == ("other", True)


@pytest.mark.parametrize(
    ("data", "status", "description"),
    [
        ({"description": "电梯坏咗"}, 403, "api_key required"),
        ({"api_key": "mw_wrong", "description": "电梯坏咗"}, 403, "invalid api_key"),
        ({"api_key": "KEY"}, 400, "description required"),
        (
            {"api_key": "KEY", "description": "电梯坏咗", "service_code": "ufo"},
            400,
            "unknown service_code: ufo",
        ),
        ({"api_key": "KEY", "description": "长" * 10_001}, 400, "description is too long"),
        (
            {"api_key": "KEY", "description": "电梯", "address_string": "路" * 1001},
            400,
            "address_string is too long",
        ),
    ],
)
def test_bad_posts_get_the_spec_s_error_format(
    client: TestClient, db: Database, key: str, data: dict[str, str], status: int, description: str
) -> None:
    data = {k: (key if v == "KEY" else v) for k, v in data.items()}
    response = client.post(f"{API}/requests.json", data=data)
    assert response.status_code == status
    assert response.json() == [{"code": status, "description": description}]
    with db.session() as s:
        assert s.scalars(select(Ticket)).all() == []


def test_an_oversized_body_is_refused_in_the_spec_s_format(client: TestClient, key: str) -> None:
    response = client.post(
        f"{API}/requests.json", data={"api_key": key, "description": "长" * 100_000}
    )
    assert response.status_code == 413
    assert response.json()[0]["code"] == 413


def resolve(db: Database, domain: Domain, code: str) -> None:
    with db.unit_of_work() as uow:
        ticket = services.get_ticket(uow.session, code)
        services.accept(session=uow.session, domain=domain, ticket=ticket, actor="test")
        services.resolve(
            session=uow.session, domain=domain, ticket=ticket, note="已修复", actor="test"
        )
        uow.commit()


def test_requests_map_statuses_to_open_and_closed_with_notes(
    client: TestClient, db: Database, domain: Domain, seeded: Seeded, key: str
) -> None:
    resolve(db, domain, seeded.daling)
    body = client.get(f"{API}/requests.json", params={"api_key": key}).json()
    by_id = {r["service_request_id"]: r for r in body}
    assert len(by_id) == 5
    done = by_id[seeded.daling]
    assert (done["status"], done["status_notes"]) == ("closed", "已办结：已修复")
    waiting = by_id[seeded.xingfu]
    assert (waiting["status"], waiting["status_notes"]) == ("open", "待受理")
    assert waiting["agency_responsible"] == "幸福社区"
    assert waiting["service_code"] == "elevator" and waiting["service_name"] == "电梯"
    assert waiting["address"] == "幸福花园3栋"
    assert waiting["requested_datetime"] == "2026-11-23T01:00:00Z"
    assert by_id[seeded.with_pii]["description"].endswith("138****5678")  # never the original


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"service_code": "elevator"}, ["xingfu"]),
        ({"service_code": "elevator,noise"}, ["cuihu", "xingfu"]),
        ({"status": "closed"}, ["daling"]),
        ({"status": "open", "service_code": "road_facility"}, []),
        (
            {"start_date": "2026-11-23T09:00:00+08:00", "end_date": "2026-11-23T09:00:00+08:00"},
            ["with_pii", "daling", "cuihu", "kangle", "xingfu"],
        ),
        ({"start_date": "2026-11-24T00:00:00Z"}, []),
        ({"page_size": "2"}, ["with_pii", "daling"]),
        ({"page_size": "2", "page": "3"}, ["xingfu"]),
        ({"service_request_id": "__xingfu__,__cuihu__"}, ["cuihu", "xingfu"]),
    ],
)
def test_requests_can_be_filtered_and_paged(
    client: TestClient,
    db: Database,
    domain: Domain,
    seeded: Seeded,
    key: str,
    params: dict[str, str],
    expected: list[str],
) -> None:
    resolve(db, domain, seeded.daling)
    params = {
        k: v.replace("__xingfu__", seeded.xingfu).replace("__cuihu__", seeded.cuihu)
        for k, v in params.items()
    }
    body = client.get(f"{API}/requests.json", params={"api_key": key, **params}).json()
    assert [r["service_request_id"] for r in body] == [getattr(seeded, n) for n in expected]


def test_without_dates_the_list_covers_the_last_90_days(
    client: TestClient, seeded: Seeded, key: str, clock: Clock
) -> None:
    clock.advance(days=91)
    assert client.get(f"{API}/requests.json", params={"api_key": key}).json() == []


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"status": "pending"}, "status must be open or closed"),
        ({"start_date": "yesterday"}, "start_date must be a W3C date-time"),
        ({"start_date": "2026-11-01T00:00:00"}, "start_date must include a time zone"),
        ({"page_size": "5000"}, "page_size must be between 1 and 1000"),
        ({"page": "x"}, "page and page_size must be integers"),
        ({"service_code": "ufo"}, "unknown service_code: ufo"),
    ],
)
def test_bad_list_parameters_get_a_400_in_the_spec_s_format(
    client: TestClient, key: str, params: dict[str, str], description: str
) -> None:
    response = client.get(f"{API}/requests.json", params={"api_key": key, **params})
    assert response.status_code == 400
    assert response.json()[0]["description"].startswith(description)


def test_one_request_by_id(client: TestClient, seeded: Seeded, key: str) -> None:
    body = client.get(f"{API}/requests/{seeded.cuihu}.json", params={"api_key": key}).json()
    assert [r["service_request_id"] for r in body] == [seeded.cuihu]
    missing = client.get(f"{API}/requests/MW-20000101-0001.json", params={"api_key": key})
    assert missing.status_code == 404
    assert missing.json() == [
        {"code": 404, "description": "service_request_id not found: MW-20000101-0001"}
    ]


def test_an_invalid_key_cannot_read(client: TestClient, seeded: Seeded) -> None:
    response = client.get(f"{API}/requests.json", params={"api_key": "mw_nope"})
    assert response.status_code == 403


def test_reading_stamps_the_key_s_last_use(client: TestClient, db: Database, key: str) -> None:
    client.get(f"{API}/services.json")
    client.get(f"{API}/requests.json", params={"api_key": key})
    with db.session() as s:
        assert s.scalars(select(ApiKey.last_used_at)).one() is not None


def test_the_real_nlu_pipeline_classifies_when_it_is_trained(
    app_settings: Settings, db: Database, domain: Domain, key: str
) -> None:
    """With ``make train`` done, requests without a service code go through the real pipeline."""
    classifier = load_classifier()
    if classifier is None:
        pytest.skip("the NLU pipeline or its trained model (models/nlu) is not available")
    app = create_app(app_settings, database=db, domain=domain, classifier=classifier)
    with TestClient(app) as c:
        demand = c.post(
            f"{API}/requests.json",
            data={"api_key": key, "description": "幸福花园3栋电梯又坏咗，我阿妈落唔到楼"},
        )
        thanks = c.post(
            f"{API}/requests.json", data={"api_key": key, "description": "多谢晒各位街坊！"}
        )
    assert demand.status_code == thanks.status_code == 201
    assert thanks.json()[0]["service_notice"]  # filed as 其他诉求, for review
    with db.session() as s:
        first, second = s.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert first.category == "elevator" and first.classifier_version
        assert first.location_text.startswith("幸福花园")
        assert (second.category, second.needs_review) == ("other", True)


def test_json_nested_thousands_deep_is_a_400_not_a_500(client: TestClient, key: str) -> None:
    response = client.post(
        f"{API}/requests.json",
        content=b'{"api_key": "x", "description": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == [{"code": 400, "description": "body is not valid JSON"}]


def test_a_media_type_in_capitals_is_still_json(client: TestClient, db: Database, key: str) -> None:
    response = client.post(
        f"{API}/requests.json",
        content=json.dumps(
            {"api_key": key, "service_code": "other", "description": "门口有只流浪狗"}
        ),
        headers={"content-type": "Application/JSON; charset=UTF-8"},
    )
    assert response.status_code == 201


def test_nul_and_invisible_characters_never_reach_the_store(
    client: TestClient, db: Database, key: str
) -> None:
    response = client.post(
        f"{API}/requests.json",
        data={
            "api_key": key,
            "service_code": "road_facility",
            "description": "路\u200d灯唔着\x00成个礼拜",
            "address_string": "东风\x00路",
        },
    )
    assert response.status_code == 201
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.original_text == "路灯唔着成个礼拜（地址：东风路）"
        assert ticket.location_text == "东风路"


def test_the_key_may_come_in_a_header_that_no_access_log_writes(
    client: TestClient, seeded: Seeded, key: str
) -> None:
    assert client.get(f"{API}/requests.json", headers={"X-Api-Key": key}).status_code == 200
    posted = client.post(
        f"{API}/requests.json",
        data={"service_code": "other", "description": "门口有只流浪狗"},
        headers={"X-Api-Key": key},
    )
    assert posted.status_code == 201


def test_a_lone_surrogate_through_the_real_pipeline_is_filed_not_a_500(
    app_settings: Settings, db: Database, domain: Domain, key: str
) -> None:
    classifier = load_classifier()
    if classifier is None:
        pytest.skip("the NLU pipeline or its trained model (models/nlu) is not available")
    app = create_app(app_settings, database=db, domain=domain, classifier=classifier)
    body = '{"api_key": "' + key + '", "description": "幸福花园3栋电梯\\ud800又坏咗"}'
    with TestClient(app) as c:
        response = c.post(
            f"{API}/requests.json", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 201
    with db.session() as s:
        assert s.scalars(select(Ticket.original_text)).one() == "幸福花园3栋电梯\ufffd又坏咗"
