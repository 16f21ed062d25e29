"""ticket full-text search and list indexes for the console

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:10:00

Adds ``tickets.search_text`` (character bigrams of the redacted text, see ``tickets/search.py``) and
- on SQLite an external-content FTS5 table ``tickets_fts`` kept in sync by three triggers;
- on PostgreSQL a GIN index ``ix_tickets_search`` on ``CAST(search_text AS tsvector)``.
Replaces the single-column indexes on area_id and unit_id with (area_id|unit_id, status, category), adds
an index on updated_at and partial indexes for open tickets by due time (overdue), urgent tickets and
tickets flagged for review, each holding the scope columns, and a narrow index of the filter columns by
id (full-text matches are checked against the other filters there, not in the wide rows).
The search objects are not in the models; ``tickets.migrate.include_name`` keeps them out of comparisons.

NOTE for later migrations: on SQLite, ``batch_alter_table("tickets")`` recreates the table and drops its
triggers. A migration that batch-alters ``tickets`` must call ``create_sqlite_search()`` of this module
again (copy it) after the batch operation.
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RUN = re.compile(r"[^\W_]+")


def _search_text(value: str) -> str:
    # A frozen copy of tickets.search.search_text (migrations do not import application code).
    tokens: list[str] = []
    for run in _RUN.findall(unicodedata.normalize("NFKC", value).lower()):
        tokens += [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]
    return " ".join(tokens)


def _backfill(bind: sa.engine.Connection) -> None:
    tickets = sa.table(
        "tickets", sa.column("id", sa.Integer), sa.column("redacted_text", sa.Text),
        sa.column("search_text", sa.Text),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(tickets.c.id, tickets.c.redacted_text)
            .where(tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        bind.execute(
            tickets.update().where(tickets.c.id == sa.bindparam("tid")).values(search_text=sa.bindparam("st")),
            [{"tid": row.id, "st": _search_text(row.redacted_text)} for row in rows],
        )
        last = rows[-1].id


def create_sqlite_search() -> None:
    # The 'ascii' tokenizer splits on ASCII spaces and punctuation only: every bigram stays one token.
    op.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS tickets_fts USING fts5("
        "search_text, content='tickets', content_rowid='id', tokenize='ascii', detail='full')"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_fts_ai AFTER INSERT ON tickets BEGIN "
        "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_fts_ad AFTER DELETE ON tickets BEGIN "
        "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS tickets_fts_au AFTER UPDATE OF search_text ON tickets BEGIN "
        "INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute("INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')")


OPEN_STATUS_SQL = "status IN ('accepted', 'assigned', 'in_progress', 'new', 'reopened')"


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        # Scope (area or responsible unit) first, then the two most used filters.
        batch_op.drop_index("ix_tickets_area_id")
        batch_op.drop_index("ix_tickets_unit_id")
        batch_op.create_index("ix_tickets_area_status_category", ["area_id", "status", "category"])
        batch_op.create_index("ix_tickets_unit_status_category", ["unit_id", "status", "category"])
        batch_op.create_index("ix_tickets_category_scope", ["category", "area_id", "unit_id"])
        batch_op.create_index(
            "ix_tickets_filter_columns",
            ["id", "area_id", "unit_id", "status", "category", "urgent", "needs_review",
             "handling_mode", "source"],
        )
        batch_op.create_index("ix_tickets_updated_at", ["updated_at"])
        for name, columns, where in (
            ("ix_tickets_open_due", ["due_at", "area_id", "unit_id"], OPEN_STATUS_SQL),
            ("ix_tickets_urgent_scope", ["area_id", "unit_id"], "urgent"),
            ("ix_tickets_review_scope", ["area_id", "unit_id"], "needs_review"),
        ):
            batch_op.create_index(
                name, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
            )
    bind = op.get_bind()
    _backfill(bind)
    if bind.dialect.name == "sqlite":
        create_sqlite_search()
    elif bind.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_tickets_search ON tickets "
            "USING gin (CAST(search_text AS tsvector))"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("tickets_fts_ai", "tickets_fts_ad", "tickets_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS tickets_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tickets_search")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name in (
            "ix_tickets_review_scope",
            "ix_tickets_urgent_scope",
            "ix_tickets_open_due",
            "ix_tickets_updated_at",
            "ix_tickets_filter_columns",
            "ix_tickets_category_scope",
            "ix_tickets_unit_status_category",
            "ix_tickets_area_status_category",
        ):
            batch_op.drop_index(name)
        batch_op.create_index("ix_tickets_unit_id", ["unit_id"])
        batch_op.create_index("ix_tickets_area_id", ["area_id"])
        batch_op.drop_column("search_text")
