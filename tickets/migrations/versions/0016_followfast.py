"""follow-through at a million tickets: counts in the daily rollup, partial indexes for the 督办台

Revision ID: 0016_followfast
Revises: 0015_reportpdf
Create Date: 2026-12-07 11:00:00

- ``stats_daily`` gains the counts of 超期率, 退单率 and 回访率 (``tickets.stats.follow_figures``):
  ``due`` / ``overdue`` over the tickets *due* that day, ``dispatched`` / ``sent_back`` over those
  filed that day, ``follow_resolved`` / ``called_back`` over those resolved that day. The built days
  are dropped (they lack the new counts) and rebuilt when next read.
- The rollup's triggers also mark the hour of a ticket's due time (old and new), and watch
  ``sent_back_count`` and ``callback_at``: a change to a ticket due on a past day rebuilds that day.
- Partial indexes on the open tickets that the 督办台 lists (``tickets.usecases.follow``): sent back,
  escalated (督办), with a visit; each holds only the tickets of its list, with the scope columns.
- ``ix_tickets_published`` and ``ix_tickets_published_status`` (published tickets only, by time and by
  status, with the scope columns) replace ``ix_tickets_published_at``, which held a NULL entry for
  every unpublished ticket: the public board lists its newest tickets from the first and counts them
  per status from the second alone (in status order, no sort).

Triggers are replaced with plain DROP/CREATE, no batch operation on ``tickets``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_followfast"
down_revision: str | None = "0015_reportpdf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copies of the model's SQL at this revision (a migration must not change later).
OPEN_STATUS_SQL = "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened')"
FOLLOW_COLUMNS = (
    "due",
    "overdue",
    "dispatched",
    "sent_back",
    "follow_resolved",
    "called_back",
)
#: (name, columns, WHERE) of the new partial indexes.
PARTIAL_INDEXES = (
    (
        "ix_tickets_open_sent_back",
        ["sent_back_at", "unit_id", "area_id"],
        f"{OPEN_STATUS_SQL} AND sent_back_at IS NOT NULL",
    ),
    (
        "ix_tickets_open_escalated",
        ["escalation_level", "escalated_at", "unit_id", "area_id", "escalated_to_id"],
        f"{OPEN_STATUS_SQL} AND escalation_level > 0",
    ),
    (
        "ix_tickets_open_visit",
        ["visit_at", "unit_id", "area_id"],
        f"{OPEN_STATUS_SQL} AND visit_at IS NOT NULL",
    ),
    (
        "ix_tickets_published",
        ["published_at", "unit_id", "area_id"],
        "published_at IS NOT NULL",
    ),
    (
        "ix_tickets_published_status",
        ["status", "unit_id", "area_id"],
        "published_at IS NOT NULL",
    ),
)

_OLD_WATCHED = (
    "status",
    "reporter_id",
    "category",
    "unit_id",
    "area_id",
    "urgent",
    "created_at",
    "first_response_at",
    "due_at",
    "resolved_at",
    "satisfaction",
    "accept_notified_at",
    "result_notified_at",
)
_NEW_WATCHED = (*_OLD_WATCHED, "sent_back_count", "callback_at")
_OLD_TIMES = ("created_at", "resolved_at")
_NEW_TIMES = ("created_at", "resolved_at", "due_at")

_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {})"


def _sqlite_hours(*values: str) -> str:
    union = " UNION ".join(f"SELECT {_HOUR.format(v)} AS h" for v in values)
    return f"INSERT INTO stats_dirty (hour) SELECT h FROM ({union}) WHERE h IS NOT NULL;"


def _sqlite_triggers(watched: Sequence[str], times: Sequence[str]) -> None:
    for trigger in ("tickets_stats_ai", "tickets_stats_au", "tickets_stats_ad"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in watched)
    op.execute(
        "CREATE TRIGGER tickets_stats_ai AFTER INSERT ON tickets BEGIN "
        + _sqlite_hours(*(f"new.{t}" for t in times))
        + " END"
    )
    op.execute(
        f"CREATE TRIGGER tickets_stats_au AFTER UPDATE OF {', '.join(watched)} "
        f"ON tickets WHEN {changed} BEGIN "
        + _sqlite_hours(*(f"{side}.{t}" for t in times for side in ("new", "old")))
        + " END"
    )
    op.execute(
        "CREATE TRIGGER tickets_stats_ad AFTER DELETE ON tickets BEGIN "
        + _sqlite_hours(*(f"old.{t}" for t in times))
        + " END"
    )


_PG_HOUR = "date_trunc('hour', {} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _pg_hours(*values: str) -> str:
    rows = ", ".join(f"({v})" for v in values)
    return (
        f"INSERT INTO stats_dirty (hour) SELECT DISTINCT {_PG_HOUR.format('h')} "
        f"FROM (VALUES {rows}) AS v(h) WHERE h IS NOT NULL;"
    )


def _postgresql_triggers(watched: Sequence[str], times: Sequence[str]) -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION stats_mark_ticket() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' THEN " + _pg_hours(*(f"NEW.{t}" for t in times)) + " "
        "ELSIF TG_OP = 'UPDATE' THEN "
        + _pg_hours(*(f"{side}.{t}" for t in times for side in ("NEW", "OLD")))
        + " ELSE "
        + _pg_hours(*(f"OLD.{t}" for t in times))
        + " "
        "END IF; RETURN NULL; END $$"
    )
    op.execute("DROP TRIGGER IF EXISTS tickets_stats_au ON tickets")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    op.execute(
        f"CREATE TRIGGER tickets_stats_au AFTER UPDATE OF {', '.join(watched)} ON tickets "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION stats_mark_ticket()"
    )


def _triggers(watched: Sequence[str], times: Sequence[str]) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_triggers(watched, times)
    elif dialect == "postgresql":
        _postgresql_triggers(watched, times)


def _forget_built_days() -> None:
    op.execute("DELETE FROM stats_daily")
    op.execute("DELETE FROM stats_days")


def upgrade() -> None:
    for name in FOLLOW_COLUMNS:
        op.add_column(
            "stats_daily", sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        )
    _forget_built_days()
    _triggers(_NEW_WATCHED, _NEW_TIMES)
    op.drop_index("ix_tickets_published_at", table_name="tickets")
    for name, columns, where in PARTIAL_INDEXES:
        op.create_index(
            name,
            "tickets",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    _analyze_new_indexes()


def _analyze_new_indexes() -> None:
    """On SQLite, give the planner the statistics of the new indexes when the database has any
    (``ANALYZE`` of one index reads that index only; without statistics for a partial index the
    planner may prefer a full scan of another). PostgreSQL's autovacuum analyzes by itself."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first():
        for name, _, _ in PARTIAL_INDEXES:
            op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    for name, _, _ in reversed(PARTIAL_INDEXES):
        op.drop_index(name, table_name="tickets")
    op.create_index("ix_tickets_published_at", "tickets", ["published_at"])
    _triggers(_OLD_WATCHED, _OLD_TIMES)
    _forget_built_days()
    with op.batch_alter_table("stats_daily") as batch_op:
        for name in reversed(FOLLOW_COLUMNS):
            batch_op.drop_column(name)
