"""projects: the three lists (needs, resources, services) and 民微实事 projects

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 05:00:00

- ``needs`` (需求清单), ``resources`` (资源清单) and the staff's matches between them
  (``need_matches``), ``services`` (recurring services of the 服务项目清单);
- ``projects`` with their audit log (``project_events``), the needs and tickets that fed them, 议事
  meetings, progress updates, Telegram polls, votes and evaluations;
- ``list_events``: the audit log of the three lists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _ref(name: str, table: str, *, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "needs",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        _ref("unit_id", "units", nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        _ref("case_id", "cases"),
        sa.Column("reporters", sa.Integer(), nullable=False),
        sa.Column("first_report_at", UTC_DATETIME, nullable=True),
        sa.Column("last_report_at", UTC_DATETIME, nullable=True),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ref("merged_into_id", "needs"),
        _ref("created_by_id", "people"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_needs_unit_id", "needs", ["unit_id"])
    op.create_table(
        "resources",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        _ref("unit_id", "units", nullable=False),
        sa.Column("provider", sa.String(120), nullable=False),
        sa.Column("provider_kind", sa.String(16), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("capacity", sa.String(120), nullable=False),
        sa.Column("contact", sa.String(120), nullable=False),
        sa.Column("period", sa.String(120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_resources_unit_id", "resources", ["unit_id"])
    op.create_table(
        "need_matches",
        _id(),
        _ref("need_id", "needs", nullable=False),
        _ref("resource_id", "resources", nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        _ref("matched_by_id", "people"),
        sa.Column("matched_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("need_id", "resource_id"),
    )
    op.create_index("ix_need_matches_need_id", "need_matches", ["need_id"])
    op.create_index("ix_need_matches_resource_id", "need_matches", ["resource_id"])
    op.create_table(
        "services",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        _ref("unit_id", "units", nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("schedule", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(120), nullable=False),
        _ref("resource_id", "resources"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_services_unit_id", "services", ["unit_id"])
    op.create_table(
        "projects",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("category", sa.String(40), nullable=True),
        _ref("unit_id", "units", nullable=False),
        _ref("owner_unit_id", "units"),
        _ref("owner_id", "people"),
        sa.Column("funding_source", sa.String(120), nullable=False),
        sa.Column("estimated_fen", sa.BigInteger(), nullable=False),
        sa.Column("approved_fen", sa.BigInteger(), nullable=True),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        _ref("proposed_by_id", "people"),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("vote_opened_at", UTC_DATETIME, nullable=True),
        sa.Column("approved_at", UTC_DATETIME, nullable=True),
        sa.Column("accepted_at", UTC_DATETIME, nullable=True),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_projects_unit_status", "projects", ["unit_id", "status"])
    op.create_index("ix_projects_created_at", "projects", ["created_at"])
    op.create_index("ix_projects_approved_at", "projects", ["approved_at"])
    op.create_index("ix_projects_accepted_at", "projects", ["accepted_at"])
    op.create_table(
        "project_events",
        _id(),
        _ref("project_id", "projects", nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        _ref("actor_id", "people"),
        sa.Column("actor_label", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_project_events_project_id", "project_events", ["project_id"])
    op.create_table(
        "project_needs",
        _id(),
        _ref("project_id", "projects", nullable=False),
        _ref("need_id", "needs", nullable=False),
        sa.UniqueConstraint("project_id", "need_id"),
    )
    op.create_index("ix_project_needs_project_id", "project_needs", ["project_id"])
    op.create_index("ix_project_needs_need_id", "project_needs", ["need_id"])
    op.create_table(
        "project_tickets",
        _id(),
        _ref("project_id", "projects", nullable=False),
        _ref("ticket_id", "tickets", nullable=False),
        sa.Column("linked_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("project_id", "ticket_id"),
    )
    op.create_index("ix_project_tickets_project_id", "project_tickets", ["project_id"])
    op.create_index("ix_project_tickets_ticket_id", "project_tickets", ["ticket_id"])
    op.create_table(
        "project_meetings",
        _id(),
        _ref("project_id", "projects", nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        _ref("recorded_by_id", "people"),
        sa.Column("recorded_at", UTC_DATETIME, nullable=False),
    )
    op.create_index("ix_project_meetings_project_id", "project_meetings", ["project_id"])
    op.create_table(
        "project_updates",
        _id(),
        _ref("project_id", "projects", nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("milestone", sa.String(120), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spent_fen", sa.BigInteger(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        _ref("actor_id", "people"),
    )
    op.create_index("ix_project_updates_project_id", "project_updates", ["project_id"])
    op.create_table(
        "project_polls",
        _id(),
        _ref("project_id", "projects", nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        _ref("outbox_id", "outbox"),
        sa.Column("poll_id", sa.String(64), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("outbox_id"),
        sa.UniqueConstraint("poll_id"),
    )
    op.create_index("ix_project_polls_project_id", "project_polls", ["project_id"])
    op.create_table(
        "project_votes",
        _id(),
        _ref("project_id", "projects", nullable=False),
        sa.Column("voter", sa.String(40), nullable=False),
        _ref("person_id", "people"),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("choice", sa.String(24), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("excluded", sa.String(40), nullable=True),
        sa.Column("poll_id", sa.String(64), nullable=True),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("project_id", "voter"),
    )
    op.create_index("ix_project_votes_project_id", "project_votes", ["project_id"])
    op.create_table(
        "project_evaluations",
        _id(),
        _ref("project_id", "projects", nullable=False),
        _ref("person_id", "people", nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("satisfaction", sa.String(24), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.UniqueConstraint("project_id", "person_id"),
    )
    op.create_index("ix_project_evaluations_project_id", "project_evaluations", ["project_id"])
    op.create_table(
        "list_events",
        _id(),
        sa.Column("at", UTC_DATETIME, nullable=False),
        _ref("actor_id", "people"),
        sa.Column("actor_label", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_list_events_subject", "list_events", ["subject"])


def downgrade() -> None:
    for table in (
        "list_events",
        "project_evaluations",
        "project_votes",
        "project_polls",
        "project_updates",
        "project_meetings",
        "project_tickets",
        "project_needs",
        "project_events",
        "projects",
        "services",
        "need_matches",
        "resources",
        "needs",
    ):
        op.drop_table(table)
