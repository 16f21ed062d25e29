"""leases: inbox/outbox claims with an owner and a lease; state shared by several bot processes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:00:00

- ``inbox`` / ``outbox``: ``claimed_by`` (the worker holding the claim) and ``lease_until`` (renewed by
  its heartbeats; after it another worker may take the row). Nothing is released at start-up any more.
- ``bot_state``: conversation state of the bot's short dialogues (staff steps, rating reasons), read
  and written around each update by whichever worker handles it.
- ``forward_bursts``: a grid member's burst of forwards (at most one open per member), filed by
  whichever worker claims it once it has been quiet for a while; its updates wait in the inbox with
  status ``waiting``.
- ``rate_limits``: Telegram's send limits (overall and per group) as one shared GCRA cell per key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table in ("inbox", "outbox"):
        op.add_column(table, sa.Column("claimed_by", sa.String(64), nullable=True))
        op.add_column(table, sa.Column("lease_until", UTC_DATETIME, nullable=True))
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )
    op.create_table(
        "forward_bursts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
    )
    op.create_index("ix_forward_bursts_due_at", "forward_bursts", ["due_at"])
    op.create_index(
        "ux_forward_bursts_open",
        "forward_bursts",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("claimed_by IS NULL"),
        postgresql_where=sa.text("claimed_by IS NULL"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_index("ux_forward_bursts_open", table_name="forward_bursts")
    op.drop_index("ix_forward_bursts_due_at", table_name="forward_bursts")
    op.drop_table("forward_bursts")
    op.drop_table("bot_state")
    for table in ("outbox", "inbox"):
        op.drop_column(table, "lease_until")
        op.drop_column(table, "claimed_by")
