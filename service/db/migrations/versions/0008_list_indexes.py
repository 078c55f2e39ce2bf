"""lists: instances found by name through trigrams, filtered and paged by index; done counted narrow

The instance list filters by status, business type and submitted date and pages newest
first (by id): each filter (and the unit's and agency's scope with a status) gets an index
ending in id, so a page's ids are read in order and the total counted from an index alone.
The name search (part of the subject's or a listed person's name) looks names up in
trigram indexes on PostgreSQL (pg_trgm, GIN), which LIKE '%…%' uses; SQLite has no
trigrams and keeps scanning. A done list's total counts a narrow partial index of
completed tasks instead of the wide covering one its filters use.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# a unit's and an agency's lists by status, paged by id (they replace the same without id)
WIDENED = {
    "ix_process_instances_unit_status": ["unit_id", "status"],
    "ix_process_instances_agency_status": ["agency_id", "status"],
}
BY_FILTER = {
    "ix_process_instances_unit_status_id": ["unit_id", "status", "id"],
    "ix_process_instances_agency_status_id": ["agency_id", "status", "id"],
    "ix_process_instances_status_id": ["status", "id"],
    "ix_process_instances_key_id": ["process_key", "id"],
    "ix_process_instances_submitted_at": ["submitted_at", "id"],
}
TRIGRAMS = {
    "ix_process_instances_subject_name_trgm": ("process_instances", "subject_name"),
    "ix_instance_persons_name_trgm": ("instance_persons", "name"),
}
COMPLETED = "state = 'completed'"


def upgrade() -> None:
    for name, columns in BY_FILTER.items():
        op.create_index(name, "process_instances", columns)
    for name in WIDENED:
        op.drop_index(name, table_name="process_instances")
    op.create_index(
        "ix_user_tasks_completed",
        "user_tasks",
        ["completed_by", "role", "completed_at", "id"],
        postgresql_where=sa.text(COMPLETED),
        sqlite_where=sa.text(COMPLETED),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, column) in TRIGRAMS.items():
            op.create_index(
                name,
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, (table, _column) in TRIGRAMS.items():
            op.drop_index(name, table_name=table)
        # the extension stays: it may have been there before us, and others may use it
    op.drop_index("ix_user_tasks_completed", table_name="user_tasks")
    for name, columns in WIDENED.items():
        op.create_index(name, "process_instances", columns)
    for name in BY_FILTER:
        op.drop_index(name, table_name="process_instances")
