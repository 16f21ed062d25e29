"""model versions: the NLU models registry's history and its audit log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:00:00

- ``model_versions``: one row per NLU model version (nlu.registry) with its figures on the frozen
  evaluation set, the active model's figures it was compared with, and why it was refused.
- ``model_events``: who asked for a retrain, promoted, refused or rolled back a model, and when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("compared_with", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("created_by_label", sa.String(100), nullable=False),
        sa.UniqueConstraint("version"),
    )
    op.create_table(
        "model_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("actor_label", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_model_events_at", "model_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_model_events_at", table_name="model_events")
    op.drop_table("model_events")
    op.drop_table("model_versions")
