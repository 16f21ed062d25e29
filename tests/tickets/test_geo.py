"""Coordinates: distances, unit centre points from units.yml, and pinned tickets routed to the nearest
unit (on SQLite and PostgreSQL) when their text names no place the gazetteer knows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.tickets.factories import file, person
from tickets import demo, services, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import ConfigError, InvalidInput, NotFound
from tickets.geo import Point, distance_km
from tickets.models import OutboxItem, Ticket, TicketEvent, Unit
from tickets.settings import DATA_DIR
from tickets.statuses import Role

#: Near 幸福社区's centre point in the demo data (which is drawn over Guangzhou's old city).
BY_XINGFU = Point(23.1291, 113.2644)
#: Near 大岭村 (南岭镇).
BY_DALING = Point(23.1525, 113.2385)
#: Shenzhen: far from every unit of the demo district.
SHENZHEN = Point(22.5431, 114.0579)


def test_haversine_gives_the_great_circle_distance() -> None:
    # One degree along the equator is 2πR/360; London → Paris is the textbook 343.5 km.
    assert distance_km(Point(0, 0), Point(0, 1)) == pytest.approx(111.195, abs=0.001)
    assert distance_km(Point(51.5074, -0.1278), Point(48.8566, 2.3522)) == pytest.approx(
        343.5, abs=0.5
    )
    assert distance_km(BY_XINGFU, BY_XINGFU) == 0.0
    # One thousandth of a degree of latitude is about 111 m anywhere.
    assert distance_km(Point(23.0, 113.0), Point(23.001, 113.0)) == pytest.approx(0.111, abs=0.001)


@pytest.mark.parametrize(
    ("lat", "lng", "reason"),
    [
        ("", "113.2", "数字"),
        ("abc", "113.2", "数字"),
        ("91", "113.2", "范围"),
        ("23", "181", "范围"),
    ],
)
def test_bad_coordinates_are_refused_with_a_reason(lat: str, lng: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        Point.parse(lat, lng)


def test_the_demo_units_have_centre_points_and_grids_and_departments_have_none() -> None:
    specs = {s.code: s for s in units.parse_units(DATA_DIR / "units.yml")}
    communities = [s for s in specs.values() if s.level == "community"]
    assert communities and all(s.point is not None for s in communities)
    assert all(s.point is None for s in specs.values() if s.level in ("grid", "department"))


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "units.yml"
    path.write_text("version: 1\nunits:\n" + body, encoding="utf-8")
    return path


def test_a_unit_needs_both_lat_and_lng(tmp_path: Path) -> None:
    path = _write(tmp_path, "  - {code: A, name: 甲区, level: district, lat: 23.1}\n")
    with pytest.raises(ConfigError, match="both lat and lng"):
        units.parse_units(path)
    path = _write(tmp_path, "  - {code: A, name: 甲区, level: district, lat: 95, lng: 113}\n")
    with pytest.raises(ConfigError, match="超出范围"):
        units.parse_units(path)


def test_units_without_points_load_and_a_reload_clears_removed_points(
    db: Database, tmp_path: Path
) -> None:
    with_point = _write(
        tmp_path,
        "  - {code: A, name: 甲区, level: district, children: "
        "[{code: A-1, name: 一街, level: street, lat: 23.1, lng: 113.2}]}\n",
    )
    with db.unit_of_work() as uow:
        assert units.load_units(uow.session, with_point) == (2, 0)
        uow.commit()
    without = _write(
        tmp_path,
        "  - {code: A, name: 甲区, level: district, children: "
        "[{code: A-1, name: 一街, level: street, lat: '', lng: ''}]}\n",
    )
    with db.unit_of_work() as uow:
        assert units.load_units(uow.session, without) == (0, 2)
        uow.commit()
    with db.session() as s:
        street = s.scalars(select(Unit).where(Unit.code == "A-1")).one()
        assert (street.latitude, street.longitude) == (None, None)


def test_a_pinned_ticket_whose_text_names_no_known_place_goes_to_the_nearest_community(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        ticket = file(
            uow.session, domain, "呢度啲渠冚唔见咗好危险", "road_facility", point=BY_XINGFU
        )
        uow.commit()
        assert (ticket.latitude, ticket.longitude) == (23.1291, 113.2644)
        assert ticket.area is not None and ticket.area.code == "YX-SG-XF"
        filed = uow.session.scalars(select(TicketEvent).where(TicketEvent.kind == "filed")).one()
        assert filed.data["area"] == "YX-SG-XF" and 0 <= filed.data["near_km"] < 0.1
        card = uow.session.scalars(select(OutboxItem)).one()
        assert "定位（23.12910, 113.26440）· 近 幸福社区" in card.payload["text"]


def test_the_text_place_wins_over_the_pin(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        ticket = file(
            uow.session,
            domain,
            "大岭村市场路灯唔着",
            "road_facility",
            locations=["大岭村市场"],
            point=BY_XINGFU,
        )
        assert ticket.area is not None and ticket.area.code == "YX-NL-DL-01"
        assert ticket.latitude == 23.1291


def test_a_pin_beyond_the_configured_distance_places_nothing(db: Database, domain: Domain) -> None:
    with db.unit_of_work() as uow:
        far = file(uow.session, domain, "呢度啲渠冚唔见咗", "road_facility", point=SHENZHEN)
        assert far.area_id is None and far.latitude == SHENZHEN.latitude
    near_only = Domain(
        domain.taxonomy,
        domain.calendar,
        replace(domain.settings, nearest_unit_km=0.05),
        clock=domain.clock,
    )
    with db.unit_of_work() as uow:
        # 大岭村's centre is about 0.6 km from this pin: within 3 km, not within 50 m.
        assert (
            file(uow.session, domain, "路口个灯坏咗", "road_facility", point=BY_DALING).area.code
            == "YX-NL-DL"
        )  # type: ignore[union-attr]
        assert (
            file(uow.session, near_only, "路口个灯又坏咗", "road_facility", point=BY_DALING).area_id
            is None
        )


def test_a_pin_given_as_the_place_in_the_dialogue_sets_the_coordinates(
    db: Database, domain: Domain
) -> None:
    """The report's place span carries the pin (tickets.usecases.reports.file_report)."""
    with db.unit_of_work() as uow:
        resident = person(uow.session, tg=1)
        ticket = file(uow.session, domain, "有条电线断咗", "utilities", reporter=resident)
        assert ticket.area_id is None
        services.add_place(
            session=uow.session,
            domain=domain,
            ticket=ticket,
            place="定位 23.15250,113.23850",
            resident=resident,
            coordinates=BY_DALING.as_pair(),
        )
        assert (ticket.latitude, ticket.longitude) == BY_DALING.as_pair()
        assert ticket.area is not None and ticket.area.code == "YX-NL-DL"
        event = uow.session.scalars(
            select(TicketEvent).where(TicketEvent.kind == "place_added")
        ).one()
        assert event.data["point"] == [23.1525, 113.2385] and event.data["area"] == "YX-NL-DL"


def test_a_grid_member_pins_an_open_ticket_and_a_stranger_or_an_observer_cannot(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        s = uow.session
        ticket = file(s, domain, "渠盖冇咗", "road_facility", reporter=person(s, tg=11))
        with pytest.raises(NotFound):
            services.add_pin(
                session=s, domain=domain, ticket=ticket, point=BY_XINGFU, actor=person(s, tg=12)
            )
        observer = person(s, Role.OBSERVER, tg=14, unit="YX-SG-XF", domain=domain)
        with pytest.raises(NotFound):  # 民微观察团 see projects, not tickets
            services.add_pin(
                session=s, domain=domain, ticket=ticket, point=BY_XINGFU, actor=observer
            )
        member = person(s, Role.GRID_MEMBER, tg=13, unit="YX-SG-XF-01", domain=domain)
        services.add_pin(session=s, domain=domain, ticket=ticket, point=BY_XINGFU, actor=member)
        assert ticket.latitude == BY_XINGFU.latitude
        assert ticket.area is not None and ticket.area.code == "YX-SG-XF"
        assert ticket.unit is not None
        uow.commit()
    with db.session() as s:
        [event] = s.scalars(select(TicketEvent).where(TicketEvent.kind == "pin_added")).all()
        assert event.data["near"] == "YX-SG-XF" and event.actor_id is not None
        assert s.scalars(select(Ticket)).one().latitude == BY_XINGFU.latitude


def test_the_demo_data_has_pins_for_the_map_and_its_text_places_still_route(
    db: Database, domain: Domain
) -> None:
    with db.unit_of_work() as uow:
        demo.load(uow.session, domain)
        uow.commit()
    with db.session() as s:
        tickets = s.scalars(select(Ticket)).all()
        pinned = [t for t in tickets if t.latitude is not None]
        assert len(tickets) == 6 and len(pinned) == 3
        assert {t.area.code for t in tickets if t.area} == {"YX-SG-XF-01", "YX-SG-XF-02"}
