"""background jobs: our `jobs` table (state, progress, result), and procrastinate's queue

Long work (large exports, certificate zips, the learning import) runs as a job. Its state
lives in `jobs` on every database, so pages show progress the same way everywhere. On
PostgreSQL the dispatch is procrastinate's: its tables, types and functions are created
here from the schema of the installed procrastinate (3.x). A later procrastinate release
that changes its schema comes with its own migration files
(`procrastinate.schema.SchemaManager.get_migrations_path()`); apply them in a new
migration of ours. SQLite needs no queue: the app's local worker thread reads `jobs`.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_LEFTOVERS = """
SELECT 'DROP FUNCTION IF EXISTS ' || p.oid::regprocedure || ' CASCADE'
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
UNION ALL
SELECT 'DROP TABLE IF EXISTS ' || quote_ident(c.relname) || ' CASCADE'
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'procrastinate%'
UNION ALL
SELECT 'DROP TYPE IF EXISTS ' || quote_ident(t.typname) || ' CASCADE'
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
   AND t.typtype IN ('e', 'c') AND NOT EXISTS (
       SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind = 'r')
"""


def _drop_procrastinate(bind) -> None:
    """Drop procrastinate's functions, tables and types (also leftovers of a dropped demo)."""
    for _ in range(3):  # types and functions depend on each other: until nothing is left
        statements = [row[0] for row in bind.execute(sa.text(_LEFTOVERS))]
        if not statements:
            return
        for statement in statements:
            bind.exec_driver_sql(statement)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_jobs_owner_id_accounts"),
            nullable=False,
        ),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("input_key", sa.String(64)),
        sa.Column("input_name", sa.String(200)),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(100)),
        sa.Column("error", sa.Text()),
        sa.Column("errors", sa.JSON()),
        sa.Column("summary", sa.JSON()),
        sa.Column("result_key", sa.String(64)),
        sa.Column("result_name", sa.String(200)),
        sa.Column("result_size", sa.Integer()),
        sa.Column("result_type", sa.String(100)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("heartbeat_at", sa.DateTime()),
        sa.Column("finished_at", sa.DateTime()),
        sa.Column("expires_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_expires_at", "jobs", ["expires_at"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        _drop_procrastinate(bind)
        bind.connection.driver_connection.execute(SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _drop_procrastinate(bind)
    op.drop_index("ix_jobs_expires_at", table_name="jobs")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.drop_table("jobs")
