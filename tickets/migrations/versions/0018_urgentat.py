"""tickets.urgent_at: when staff marked a ticket urgent after it was filed

Revision ID: 0018_urgentat
Revises: 0017_outprio
Create Date: 2026-12-07 17:10:00

A ticket marked urgent by staff after filing had no urgent-not-accepted clock (the clock planned it
only from filing time, and marking did not replan). ``urgent_at`` is when it was marked: the clock's
urgent chain and the urgent on-time measure count from it. NULL for tickets urgent from filing and
for tickets that are not urgent, so existing rows keep their meaning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_urgentat"
down_revision: str | None = "0017_outprio"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("urgent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of tickets would trip over the
    # triggers that read it (as in 0013).
    op.drop_column("tickets", "urgent_at")
