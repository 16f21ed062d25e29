"""Coordinates in the console and Open311: lat/long in and out (exact for staff, rounded for API-key
clients), the pin on the ticket page, the list's map view within the viewer's scope, the dashboard's
hotspots, and no pins on the public pages."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.app import create_app
from tests.conftest import Clock
from tests.console.conftest import Seeded, sign_in
from tests.tickets.factories import file, person
from tickets import auth
from tickets.db import Database
from tickets.domain import Domain
from tickets.geo import Point
from tickets.models import Ticket
from tickets.settings import Settings

API = "/open311/v2"
#: Beside 幸福社区's and 翠湖社区's centre points in the demo data.
BY_XINGFU = Point(23.129123, 113.264456)
BY_CUIHU = Point(23.1337, 113.2558)


@pytest.fixture
def key(db: Database) -> str:
    with db.unit_of_work() as uow:
        _, plain = auth.create_api_key(uow.session, name="城市地图")
        uow.commit()
    return plain


@pytest.fixture
def pinned(db: Database, domain: Domain, seeded: Seeded) -> dict[str, str]:
    """Two pinned tickets whose text names no known place, one beside each of two communities."""
    with db.unit_of_work() as uow:
        s = uow.session
        resident = person(s, tg=777002, name="黄伯")
        codes = {
            "xingfu": file(
                s,
                domain,
                "呢度个渠盖冇咗好危险",
                "road_facility",
                reporter=resident,
                point=BY_XINGFU,
            ).code,
            "cuihu": file(
                s, domain, "呢度啲垃圾冇人收", "sanitation", reporter=resident, point=BY_CUIHU
            ).code,
        }
        uow.commit()
    return codes


def map_data(page: str) -> dict[str, object]:
    match = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)
    assert match, "no map data on the page"
    return json.loads(match.group(1))


def test_open311_files_lat_long_routes_by_them_and_returns_them(
    client: TestClient, db: Database, key: str
) -> None:
    response = client.post(
        f"{API}/requests.json",
        data={
            "api_key": key,
            "service_code": "road_facility",
            "description": "呢度个井盖冇咗",
            "lat": "23.129123",
            "long": "113.264456",
        },
    )
    assert response.status_code == 201
    code = response.json()[0]["service_request_id"]
    with db.session() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert (ticket.latitude, ticket.longitude) == (23.129123, 113.264456)
        assert ticket.area is not None and ticket.area.name == "幸福社区"  # the nearest community
    [as_client] = client.get(f"{API}/requests/{code}.json", headers={"X-Api-Key": key}).json()
    assert (as_client["lat"], as_client["long"]) == (23.129, 113.264)  # ≈110 m for outside systems
    sign_in(client, "xingfu")
    [as_staff] = client.get(f"{API}/requests/{code}.json").json()
    assert (as_staff["lat"], as_staff["long"]) == (23.129123, 113.264456)
    listed = client.get(f"{API}/requests.json").json()
    assert [(r["lat"], r["long"]) for r in listed if r["service_request_id"] == code] == [
        (23.129123, 113.264456)
    ]


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"lat": "23.1"}, "lat and long must be given together"),
        ({"lat": "23.1", "long": "东经113"}, "lat must be -90..90 and long -180..180"),
        ({"lat": "123.1", "long": "113.2"}, "lat must be -90..90 and long -180..180"),
    ],
)
def test_bad_coordinates_are_refused_in_the_spec_s_format(
    client: TestClient, db: Database, key: str, fields: dict[str, str], description: str
) -> None:
    data = {"api_key": key, "description": "路灯坏咗", **fields}
    response = client.post(f"{API}/requests.json", data=data)
    assert response.status_code == 400
    assert response.json()[0]["description"].startswith(description)
    with db.session() as s:
        assert s.scalars(select(Ticket)).all() == []


def test_a_ticket_without_coordinates_has_none_in_open311(
    client: TestClient, key: str, seeded: Seeded
) -> None:
    [body] = client.get(f"{API}/requests/{seeded.xingfu}.json", headers={"X-Api-Key": key}).json()
    assert (body["lat"], body["long"], body["address"]) == (None, None, "幸福花园3栋")


def test_the_ticket_page_shows_the_pin_and_the_nearest_community(
    client: TestClient, pinned: dict[str, str]
) -> None:
    sign_in(client, "admin")
    page = client.get(f"/tickets/{pinned['xingfu']}").text
    assert "定位（23.12912, 113.26446）· 近 幸福社区" in page


def test_the_map_view_draws_the_filtered_tickets_in_the_viewer_s_scope(
    client: TestClient, pinned: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, "xingfu")  # 幸福社区's staff: not 翠湖社区's tickets
    page = client.get("/tickets/map").text
    data = map_data(page)
    assert [p["code"] for p in data["pins"]] == [pinned["xingfu"]]  # type: ignore[index]
    assert data["tiles"] is None  # offline by default
    units = {u["name"]: u for u in data["units"]}  # type: ignore[attr-defined]
    # 幸福社区's seeded tickets have no pin: drawn once at the community's centre point.
    assert set(units) == {"幸福社区"}
    assert set(units["幸福社区"]["codes"]) == {seeded.xingfu, seeded.kangle, seeded.with_pii}
    assert seeded.cuihu not in page and pinned["cuihu"] not in page
    assert "/static/vendor/leaflet/leaflet.js" in page
    assert (
        '<form class="filters" method="get" action="/tickets/map">' in page
    )  # filters stay on the map
    filtered = map_data(client.get("/tickets/map?category=road_facility").text)
    assert [p["code"] for p in filtered["pins"]] == [pinned["xingfu"]]  # type: ignore[index]
    assert filtered["units"] == []


def test_the_list_links_to_its_map_with_the_same_filters(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    page = client.get("/tickets?category=elevator").text
    assert 'href="/tickets/map?category=elevator"' in page


def test_the_dashboard_draws_hotspots_sized_by_count(
    client: TestClient, db: Database, domain: Domain, clock: Clock, pinned: dict[str, str]
) -> None:
    with db.unit_of_work() as uow:
        for text in ("渠盖又冇咗", "渠盖仲未整"):
            file(uow.session, domain, text, "road_facility", point=Point(23.12915, 113.26441))
        uow.commit()
    sign_in(client, "admin")
    spots = map_data(client.get("/dashboard").text)["hotspots"]
    top = spots[0]  # type: ignore[index]
    assert (top["category"], top["count"], top["exact"], top["label"]) == (
        "道路设施",
        3,
        True,
        "近幸福社区",
    )
    assert top["at"] == [23.129, 113.264]
    # 大岭村市场 is in a grid without a point: counted at its community's centre.
    assert any(not s["exact"] and s["label"] == "大岭村" for s in spots)  # type: ignore[union-attr]


def test_the_public_page_shows_no_pin(client: TestClient, pinned: dict[str, str]) -> None:
    sign_in(client, "admin")
    page = client.get(f"/tickets/{pinned['xingfu']}").text
    link = re.search(r'href="http://testserver(/p/[^"]+)"', page)
    assert link
    client.cookies.clear()
    public = client.get(link.group(1)).text
    assert "23.129" not in public and "113.264" not in public and "定位" not in public
    assert "幸福社区" in public  # the area, not the point
    assert "map-data" not in public


def test_a_configured_tile_server_is_used_and_allowed_by_the_csp(
    app_settings: Settings, db: Database, domain: Domain, staff: dict[str, int], seeded: Seeded
) -> None:
    settings = replace(
        app_settings,
        map_tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png",
        map_attribution="© 示例地图",
    )
    app = create_app(settings, database=db, domain=domain, classifier=None)
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client, "admin")
        response = client.get("/tickets/map")
    assert map_data(response.text)["tiles"] == {
        "url": "https://{s}.tile.example.org/{z}/{x}/{y}.png",
        "attribution": "© 示例地图",
    }
    assert (
        "img-src 'self' data: https://*.tile.example.org;"
        in response.headers["content-security-policy"]
    )


def test_without_tiles_the_csp_allows_images_from_the_console_only(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, "admin")
    response = client.get("/tickets/map")
    assert "img-src 'self' data:;" in response.headers["content-security-policy"]
    assert "离线模式" in response.text
