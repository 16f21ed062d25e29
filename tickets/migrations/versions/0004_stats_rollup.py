"""daily statistics rollup kept by triggers; indexes for hotspots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:00:00

- ``stats_days`` / ``stats_daily``: the dashboard's statistics per local day × category × unit × area
  (built and read by ``tickets/rollup.py``; empty here, days are built when first read).
- ``stats_dirty``: UTC hours whose days must be rebuilt, appended by triggers on ``tickets`` (any change
  of a column the statistics read, insert, delete) and on ``people`` (a reporter becoming reachable on
  Telegram or not). On PostgreSQL the triggers call two plpgsql functions.
- ``ix_tickets_case_created`` (case, filing time, scope columns) replaces ``ix_tickets_case_id`` and
  ``ix_cases_reports`` orders cases by reports: hotspots count a few candidate cases instead of grouping
  every ticket of the period (``tickets.stats.hotspots``).

NOTE for later migrations: on SQLite, ``batch_alter_table("tickets")`` (or ``"people"``) recreates the
table and drops its triggers: call ``create_sqlite_triggers()`` of this module again (copy it) after
such a batch operation, as for the search triggers of 0002.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Columns of tickets whose change can change a statistic (tickets.rollup.measures and its keys).
WATCHED = (
    "status", "reporter_id", "category", "unit_id", "area_id", "urgent", "created_at",
    "first_response_at", "due_at", "resolved_at", "satisfaction", "accept_notified_at",
    "result_notified_at",
)
_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {})"


def _sqlite_hours(*values: str) -> str:
    union = " UNION ".join(f"SELECT {_HOUR.format(v)} AS h" for v in values)
    return f"INSERT INTO stats_dirty (hour) SELECT h FROM ({union}) WHERE h IS NOT NULL;"


def create_sqlite_triggers() -> None:
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in WATCHED)
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_stats_ai AFTER INSERT ON tickets BEGIN "
        + _sqlite_hours("new.created_at", "new.resolved_at")
        + " END"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS tickets_stats_au AFTER UPDATE OF {', '.join(WATCHED)} "
        f"ON tickets WHEN {changed} BEGIN "
        + _sqlite_hours("new.created_at", "old.created_at", "new.resolved_at", "old.resolved_at")
        + " END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_stats_ad AFTER DELETE ON tickets BEGIN "
        + _sqlite_hours("old.created_at", "old.resolved_at")
        + " END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS people_stats_au AFTER UPDATE OF telegram_user_id ON people "
        "WHEN (old.telegram_user_id IS NULL) <> (new.telegram_user_id IS NULL) BEGIN "
        f"INSERT INTO stats_dirty (hour) SELECT DISTINCT {_HOUR.format('created_at')} "
        "FROM tickets WHERE reporter_id = new.id; END"
    )


_PG_HOUR = "date_trunc('hour', {} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _pg_hours(*values: str) -> str:
    rows = ", ".join(f"({v})" for v in values)
    return (
        f"INSERT INTO stats_dirty (hour) SELECT DISTINCT {_PG_HOUR.format('h')} "
        f"FROM (VALUES {rows}) AS v(h) WHERE h IS NOT NULL;"
    )


def create_postgresql_triggers() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION stats_mark_ticket() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' THEN " + _pg_hours("NEW.created_at", "NEW.resolved_at") + " "
        "ELSIF TG_OP = 'UPDATE' THEN "
        + _pg_hours("NEW.created_at", "OLD.created_at", "NEW.resolved_at", "OLD.resolved_at")
        + " ELSE " + _pg_hours("OLD.created_at", "OLD.resolved_at") + " "
        "END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION stats_mark_reporter() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN INSERT INTO stats_dirty (hour) SELECT DISTINCT {_PG_HOUR.format('created_at')} "
        "FROM tickets WHERE reporter_id = NEW.id; RETURN NULL; END $$"
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    op.execute(
        "CREATE TRIGGER tickets_stats_ai AFTER INSERT ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION stats_mark_ticket()"
    )
    op.execute(
        f"CREATE TRIGGER tickets_stats_au AFTER UPDATE OF {', '.join(WATCHED)} ON tickets "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION stats_mark_ticket()"
    )
    op.execute(
        "CREATE TRIGGER tickets_stats_ad AFTER DELETE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION stats_mark_ticket()"
    )
    op.execute(
        "CREATE TRIGGER people_stats_au AFTER UPDATE OF telegram_user_id ON people FOR EACH ROW "
        "WHEN ((OLD.telegram_user_id IS NULL) <> (NEW.telegram_user_id IS NULL)) "
        "EXECUTE FUNCTION stats_mark_reporter()"
    )


def upgrade() -> None:
    op.create_table(
        "stats_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("config", sa.String(length=120), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "stats_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("area_id", sa.Integer(), nullable=True),
        *[
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "filed", "accepted", "responded", "responded_in_time", "done", "done_on_time",
                "rated", "satisfied", "reachable_done", "told",
            )
        ],
        sa.Column("response_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolution_ms", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stats_daily_day", "stats_daily", ["day"])
    op.create_table(
        "stats_dirty",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stats_dirty_hour", "stats_dirty", ["hour"])
    # Not batch_alter_table: on SQLite that would recreate tickets and drop the search triggers.
    op.drop_index("ix_tickets_case_id", table_name="tickets")
    op.create_index(
        "ix_tickets_case_created", "tickets", ["case_id", "created_at", "area_id", "unit_id"]
    )
    op.create_index("ix_cases_reports", "cases", ["report_count", "last_report_at", "id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        create_sqlite_triggers()
    elif dialect == "postgresql":
        create_postgresql_triggers()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger, table in (
        ("tickets_stats_ai", "tickets"),
        ("tickets_stats_au", "tickets"),
        ("tickets_stats_ad", "tickets"),
        ("people_stats_au", "people"),
    ):
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS stats_mark_ticket()")
        op.execute("DROP FUNCTION IF EXISTS stats_mark_reporter()")
    op.drop_index("ix_cases_reports", table_name="cases")
    op.drop_index("ix_tickets_case_created", table_name="tickets")
    op.create_index("ix_tickets_case_id", "tickets", ["case_id"])
    op.drop_index("ix_stats_dirty_hour", table_name="stats_dirty")
    op.drop_table("stats_dirty")
    op.drop_index("ix_stats_daily_day", table_name="stats_daily")
    op.drop_table("stats_daily")
    op.drop_table("stats_days")
