"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.tickets.factories import file
from tickets import migrate
from tickets.db import Database
from tickets.domain import Domain
from tickets.geo import Point
from tickets.models import Base, Ticket


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": migrate.include_name}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migrating_twice_is_a_no_op(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == migrate.head()


def test_0013_fills_the_coordinates_of_tickets_pinned_before_it(
    db: Database, domain: Domain
) -> None:
    """Before 0013 a pin lived only in the ticket's locations; after it, in latitude/longitude too."""
    with db.unit_of_work() as uow:
        pinned = file(uow.session, domain, "电线断咗", "utilities", point=Point(23.1291, 113.2644))
        plain = file(uow.session, domain, "路灯唔着", "road_facility")
        pinned.locations = [
            {"text": "定位 23.12910,113.26440", "latitude": 23.1291, "longitude": 113.2644}
        ]
        uow.commit()
        ids = pinned.id, plain.id
    command.downgrade(migrate.alembic_config(db.url), "0012")
    assert migrate.current(db.engine) == "0012"
    migrate.upgrade(db.engine)
    with db.session() as s:
        tickets = [s.get(Ticket, i) for i in ids]
        assert [(t.latitude, t.longitude) for t in tickets if t is not None] == [
            (23.1291, 113.2644),
            (None, None),
        ]
