"""photos: images residents send and staff upload, kept by MinWei without EXIF

Revision ID: 0014_photos
Revises: 0012
Create Date: 2026-12-07 07:40:00

- ``photos``: one row per photo of a ticket (from Telegram) or of a project update (a console
  upload): the re-encoded image without EXIF and its thumbnail, content type, size, sha256 (unique per
  ticket and per update: a photo sent twice is kept once), width/height, who sent it and when, and
  whether staff approved it for the public pages (and who). A Telegram photo is recorded with its
  file id before it is fetched: the row is its own fetch job, with a due time and a lease.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_photos"
down_revision: str | None = "0013_geo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _ref(name: str, table: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), primary_key=True),
        _ref("ticket_id", "tickets"),
        _ref("project_update_id", "project_updates"),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("telegram_file_id", sa.String(255), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("thumb", sa.LargeBinary(), nullable=True),
        sa.Column("public_token", sa.String(32), nullable=False),
        sa.Column("approved_public", sa.Boolean(), nullable=False),
        _ref("approved_by_id", "people"),
        sa.Column("approved_at", UTC_DATETIME, nullable=True),
        _ref("sent_by_id", "people"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("stored_at", UTC_DATETIME, nullable=True),
        _ref("duplicate_of_id", "photos"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("ticket_id", "sha256", name="uq_photos_ticket_sha256"),
        sa.UniqueConstraint("project_update_id", "sha256", name="uq_photos_update_sha256"),
        sa.UniqueConstraint("public_token"),
    )
    op.create_index("ix_photos_ticket_id", "photos", ["ticket_id"])
    op.create_index("ix_photos_project_update_id", "photos", ["project_update_id"])
    op.create_index("ix_photos_status_next", "photos", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("photos")
