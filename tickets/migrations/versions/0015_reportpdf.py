"""project polls keep their options' persistent ids

Revision ID: 0015_reportpdf
Revises: 0012
Create Date: 2026-12-07 08:00:00

- ``project_polls.options``: Telegram's persistent id of each option of the poll as sent → the vote
  choice it stands for (``for`` / ``against``), so an answer is read by the option's id, not by its
  position. Polls sent before have ``{}`` and are read by position as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_reportpdf"
down_revision: str | None = "0014_photos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "project_polls", sa.Column("options", sa.JSON(), nullable=False, server_default="{}")
    )


def downgrade() -> None:
    with op.batch_alter_table("project_polls") as batch_op:
        batch_op.drop_column("options")
