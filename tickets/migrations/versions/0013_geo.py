"""geo: coordinates on tickets and centre points on units

Revision ID: 0013_geo
Revises: 0012
Create Date: 2026-12-07 07:40:00

- ``tickets.latitude`` / ``tickets.longitude``: a Telegram location pin or venue, or Open311's
  ``lat``/``long``; filled for tickets filed before from the pin kept in their ``locations``.
- ``units.latitude`` / ``units.longitude``: a unit's centre point from units.yml (``lat``/``lng``),
  used to route a pinned ticket whose text names no known place to the nearest unit.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_geo"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("tickets", "units")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("latitude", sa.Float(), nullable=True))
        op.add_column(table, sa.Column("longitude", sa.Float(), nullable=True))
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer()),
        sa.column("locations", sa.JSON()),
        sa.column("latitude", sa.Float()),
        sa.column("longitude", sa.Float()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(tickets.c.id, tickets.c.locations)).all()
    for ticket_id, locations in rows:
        pin = next(
            (
                loc
                for loc in locations or ()
                if isinstance(loc, dict) and loc.get("latitude") is not None
            ),
            None,
        )
        if pin is not None and pin.get("longitude") is not None:
            connection.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id)
                .values(latitude=float(pin["latitude"]), longitude=float(pin["longitude"]))
            )


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of tickets would trip over the
    # triggers that read it.
    for table in _TABLES:
        op.drop_column(table, "longitude")
        op.drop_column(table, "latitude")
