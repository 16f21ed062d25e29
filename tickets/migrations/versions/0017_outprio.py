"""outbox priority and backlog digests: urgent messages first, a buried duty chat gets one digest

Revision ID: 0017_outprio
Revises: 0016_followfast
Create Date: 2026-12-07 14:00:00

- ``outbox.priority`` (0 ordinary, 1 urgent): claimed before lower priorities, in its chat and overall
  (``tickets.queues``); a row that edits or replies to an unsent row has that row's priority.
- ``outbox.digest_id``: an ordinary new-ticket card folded into a backlog digest (status ``folded``)
  points to the digest row that carried it (``tickets.usecases.backlog``). Nothing is deleted.
- No new index: the claim reads the rows still to send through ``ix_outbox_status_next`` (on
  PostgreSQL, with 100,000 sent rows and a backlog of 600, it plans index scans on it and a hash anti
  join per chat; ``tests/tickets/test_outbox_priority.py``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_outprio"
down_revision: str | None = "0016_followfast"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.add_column(
        "outbox", sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="0")
    )
    op.add_column("outbox", sa.Column("digest_id", sa.Integer(), nullable=True))
    # Cards of urgent tickets still waiting go first from now on.
    op.execute(
        "UPDATE outbox SET priority = 1 WHERE kind = 'staff_card_urgent' AND " + WAITING
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("digest_id")
        batch.drop_column("priority")
