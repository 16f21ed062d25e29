"""ticket counts per combination of the list's filter columns, kept by triggers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:10:00

``ticket_counts`` holds how many tickets have each combination of status, category, area, unit, urgency,
review flag, handling mode and source (``tickets/counts.py``): the counts beside the list's filters are
sums over it instead of counts over a million tickets. Filled here from the tickets; afterwards triggers
on ``tickets`` append a +1 row for every ticket filed and a −1/+1 pair for every change of one of those
columns (``delta`` rows, folded into the base rows by ``tickets.counts.fold``). Appending, not updating,
means concurrent writers never wait for each other on a shared count row.

NOTE for later migrations: ``batch_alter_table("tickets")`` on SQLite drops these triggers too; call
``create_sqlite_triggers()`` of this module again (copy it) after such a batch operation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = (
    "status", "category", "area_id", "unit_id", "urgent", "needs_review", "handling_mode", "source",
)
_COLUMNS = ", ".join((*DIMENSIONS, "n", "delta"))


def _row(prefix: str, n: int, true: str) -> str:
    values = ", ".join(f"{prefix}.{d}" for d in DIMENSIONS)
    return f"INSERT INTO ticket_counts ({_COLUMNS}) VALUES ({values}, {n}, {true});"


def create_sqlite_triggers() -> None:
    changed = " OR ".join(f"old.{d} IS NOT new.{d}" for d in DIMENSIONS)
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_counts_ai AFTER INSERT ON tickets BEGIN "
        + _row("new", 1, "1")
        + " END"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS tickets_counts_au AFTER UPDATE OF {', '.join(DIMENSIONS)} "
        f"ON tickets WHEN {changed} BEGIN "
        + _row("old", -1, "1")
        + " "
        + _row("new", 1, "1")
        + " END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_counts_ad AFTER DELETE ON tickets BEGIN "
        + _row("old", -1, "1")
        + " END"
    )


def create_postgresql_triggers() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION counts_mark_ticket() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN " + _row("OLD", -1, "true") + " END IF; "
        "IF TG_OP IN ('UPDATE', 'INSERT') THEN " + _row("NEW", 1, "true") + " END IF; "
        "RETURN NULL; END $$"
    )
    changed = " OR ".join(f"OLD.{d} IS DISTINCT FROM NEW.{d}" for d in DIMENSIONS)
    op.execute(
        "CREATE TRIGGER tickets_counts_ai AFTER INSERT ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION counts_mark_ticket()"
    )
    op.execute(
        f"CREATE TRIGGER tickets_counts_au AFTER UPDATE OF {', '.join(DIMENSIONS)} ON tickets "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION counts_mark_ticket()"
    )
    op.execute(
        "CREATE TRIGGER tickets_counts_ad AFTER DELETE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION counts_mark_ticket()"
    )


def upgrade() -> None:
    op.create_table(
        "ticket_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("handling_mode", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ticket_counts_delta", "ticket_counts", ["id"],
        sqlite_where=sa.text("delta"), postgresql_where=sa.text("delta"),
    )
    dialect = op.get_bind().dialect.name
    dims = ", ".join(DIMENSIONS)
    false = "false" if dialect == "postgresql" else "0"
    op.execute(
        f"INSERT INTO ticket_counts ({_COLUMNS}) "
        f"SELECT {dims}, count(*), {false} FROM tickets GROUP BY {dims}"
    )
    if dialect == "sqlite":
        create_sqlite_triggers()
    elif dialect == "postgresql":
        create_postgresql_triggers()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in ("tickets_counts_ai", "tickets_counts_au", "tickets_counts_ad"):
        op.execute(
            f"DROP TRIGGER IF EXISTS {trigger}" + (" ON tickets" if dialect == "postgresql" else "")
        )
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS counts_mark_ticket()")
    op.drop_index("ix_ticket_counts_delta", table_name="ticket_counts")
    op.drop_table("ticket_counts")
