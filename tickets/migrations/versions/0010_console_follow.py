"""console follow-through: the audit log of staff actions that change no ticket

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:00:00

- ``staff_actions``: who bound or removed a unit's work chat, when, from where (console or Telegram),
  kept after the chat row is deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("actor_label", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_staff_actions_at", "staff_actions", ["at"])
    op.create_index("ix_staff_actions_unit_id", "staff_actions", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_actions_unit_id", table_name="staff_actions")
    op.drop_index("ix_staff_actions_at", table_name="staff_actions")
    op.drop_table("staff_actions")
