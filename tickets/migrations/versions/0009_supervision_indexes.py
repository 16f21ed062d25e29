"""supervision indexes: merged tickets by their main ticket; planned tickets by their rules digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 05:00:00

Measured with ``benchmarks/bench_supervision.py`` on 100,000 open tickets:

- ``ix_tickets_duplicate_of_id`` (partial: merged tickets only): every message to a resident looks
  up the reporters of the tickets merged into the ticket (``services._recipients``), and without it
  that is a scan of the whole table: ~100 ms per 回访 or status notice on SQLite at 100,000 tickets.
- ``ix_tickets_clock_rules_planned`` (partial: the statuses whose tickets hold due items): each pass
  of the supervision clock looks for tickets planned with other rules; with this index that is two
  empty range scans instead of reading every open ticket.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copies of tickets.models.PLANNED_STATUS_SQL at this revision (a migration must not change later).
PLANNED_STATUS_SQL = (
    "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened', 'resolved')"
)
MERGED_SQL = "duplicate_of_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_tickets_duplicate_of_id",
        "tickets",
        ["duplicate_of_id"],
        sqlite_where=sa.text(MERGED_SQL),
        postgresql_where=sa.text(MERGED_SQL),
    )
    op.create_index(
        "ix_tickets_clock_rules_planned",
        "tickets",
        ["clock_rules"],
        sqlite_where=sa.text(PLANNED_STATUS_SQL),
        postgresql_where=sa.text(PLANNED_STATUS_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_clock_rules_planned", table_name="tickets")
    op.drop_index("ix_tickets_duplicate_of_id", table_name="tickets")
