"""follow-through: unit work chats, co-handling, the supervision clock's due items

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00

- ``unit_chats``: a unit's Telegram work chat (/bindunit).
- ``ticket_helpers``: 协办 units of a ticket.
- ``due_items``: what the supervision clock must do and when (``tickets.clock``); pending rows by due
  time in a partial index.
- ``tickets``: dispatcher, 退单 count and time, 督办 level and target, visit, progress, publication and
  回访 times, and the digest of the rules its due items were planned with.
- ``chat_bindings.status_sent_at``: the rate limit of group status lines.

Plain ``op.add_column`` (not ``batch_alter_table``): on SQLite a batch would recreate ``tickets`` and
drop its triggers; SQLite adds a column with a REFERENCES clause when its default is NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _add_unit_reference(column: str) -> None:
    """A nullable ``tickets`` column referencing ``units`` (SQLite: inline REFERENCES, which Alembic's
    ``add_column`` would try to add as a separate constraint)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE tickets ADD COLUMN {column} INTEGER REFERENCES units (id)")
    else:
        op.add_column(
            "tickets", sa.Column(column, sa.Integer(), sa.ForeignKey("units.id"), nullable=True)
        )


def upgrade() -> None:
    op.create_table(
        "unit_chats",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("bound_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("bound_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("unit_id"),
        sa.UniqueConstraint("chat_id"),
    )
    op.create_table(
        "ticket_helpers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("added_at", UTC_DATETIME, nullable=False),
        sa.Column("done_at", UTC_DATETIME, nullable=True),
        sa.Column("done_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("ticket_id", "unit_id"),
    )
    op.create_index("ix_ticket_helpers_unit_id", "ticket_helpers", ["unit_id"])
    op.create_table(
        "due_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("done_at", UTC_DATETIME, nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_due_items_ticket_id", "due_items", ["ticket_id"])
    op.create_index(
        "ix_due_items_pending",
        "due_items",
        ["due_at"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    _add_unit_reference("dispatcher_id")
    op.add_column(
        "tickets", sa.Column("sent_back_count", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("tickets", sa.Column("sent_back_at", UTC_DATETIME, nullable=True))
    op.add_column(
        "tickets", sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
    )
    _add_unit_reference("escalated_to_id")
    op.add_column("tickets", sa.Column("escalated_at", UTC_DATETIME, nullable=True))
    op.add_column("tickets", sa.Column("visit_at", UTC_DATETIME, nullable=True))
    op.add_column("tickets", sa.Column("progress_at", UTC_DATETIME, nullable=True))
    op.add_column("tickets", sa.Column("published_at", UTC_DATETIME, nullable=True))
    op.add_column("tickets", sa.Column("callback_at", UTC_DATETIME, nullable=True))
    op.add_column(
        "tickets", sa.Column("clock_rules", sa.String(16), nullable=False, server_default="")
    )
    op.create_index("ix_tickets_escalated_to_id", "tickets", ["escalated_to_id"])
    op.create_index("ix_tickets_published_at", "tickets", ["published_at"])
    op.add_column("chat_bindings", sa.Column("status_sent_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    op.drop_column("chat_bindings", "status_sent_at")
    op.drop_index("ix_tickets_published_at", table_name="tickets")
    op.drop_index("ix_tickets_escalated_to_id", table_name="tickets")
    for column in (
        "clock_rules",
        "callback_at",
        "published_at",
        "progress_at",
        "visit_at",
        "escalated_at",
        "escalated_to_id",
        "escalation_level",
        "sent_back_at",
        "sent_back_count",
        "dispatcher_id",
    ):
        op.drop_column("tickets", column)
    op.drop_index("ix_due_items_pending", table_name="due_items")
    op.drop_index("ix_due_items_ticket_id", table_name="due_items")
    op.drop_table("due_items")
    op.drop_index("ix_ticket_helpers_unit_id", table_name="ticket_helpers")
    op.drop_table("ticket_helpers")
    op.drop_table("unit_chats")
