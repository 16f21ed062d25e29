"""indexes for the counts beside the list's filters and for searches within a scope

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:30:00

- ``ix_tickets_open_due`` (open tickets by due time) also holds status, category, urgency, review flag,
  handling mode and source: the overdue tickets of a scope are grouped per filter option from the index.
- ``ix_tickets_created_filters`` (filing time + the filter columns and due time) replaces
  ``ix_tickets_created_at``: the counts for a date range are grouped from the index alone.
- ``ix_tickets_filter_columns`` (by id) gains ``due_at``: "overdue" among full-text matches.
- PostgreSQL: ``ix_tickets_search`` indexes the bigrams plus a token for the ticket's area and one for
  its responsible unit (``~a19 ~u13``, see ``tickets.queries.SEARCH_DOCUMENT``), so that a search within
  a community or a place is narrowed inside the GIN index instead of row by row.

Plain ``op.create_index`` (not ``batch_alter_table``): on SQLite a batch would recreate ``tickets`` and
drop its triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_STATUS_SQL = "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened')"
FACETS = ["status", "category", "urgent", "needs_review", "handling_mode", "source"]
SEARCH_DOCUMENT = (
    "CAST(search_text || ' ~a' || COALESCE(CAST(area_id AS TEXT), '') || ' ~u' "
    "|| COALESCE(CAST(unit_id AS TEXT), '') AS tsvector)"
)
FILTER_COLUMNS = [
    "id", "area_id", "unit_id", "status", "category", "urgent", "needs_review", "handling_mode",
    "source",
]


def _open_due(columns: list[str]) -> None:
    op.drop_index("ix_tickets_open_due", table_name="tickets")
    op.create_index(
        "ix_tickets_open_due", "tickets", columns,
        sqlite_where=sa.text(OPEN_STATUS_SQL), postgresql_where=sa.text(OPEN_STATUS_SQL),
    )


def upgrade() -> None:
    _open_due(["due_at", "area_id", "unit_id", *FACETS])
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.create_index(
        "ix_tickets_created_filters", "tickets",
        ["created_at", "status", "category", "urgent", "needs_review", "due_at", "area_id",
         "unit_id", "handling_mode", "source"],
    )
    op.drop_index("ix_tickets_filter_columns", table_name="tickets")
    op.create_index("ix_tickets_filter_columns", "tickets", [*FILTER_COLUMNS, "due_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
        op.execute(f"CREATE INDEX ix_tickets_search ON tickets USING gin ({SEARCH_DOCUMENT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
        op.execute(
            "CREATE INDEX ix_tickets_search ON tickets USING gin (CAST(search_text AS tsvector))"
        )
    op.drop_index("ix_tickets_filter_columns", table_name="tickets")
    op.create_index("ix_tickets_filter_columns", "tickets", FILTER_COLUMNS)
    op.drop_index("ix_tickets_created_filters", table_name="tickets")
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    _open_due(["due_at", "area_id", "unit_id"])
