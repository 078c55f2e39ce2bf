"""workbench: queues filter, sort and count from user_tasks and its indexes alone

Every task now carries its instance's unit, agency and submission time (the role still
says which organisation scopes it), so the queues never read process_instances to
filter or sort. The open queues get partial indexes in waiting order that, on
PostgreSQL, include every column a queue filters or counts by (index-only scans);
held tasks (mine, the secretariat's claimed list) and done lists get one each; the
search gets a person's name within a form and the last four characters of an ID number.
On PostgreSQL the queue table is vacuumed sooner, so its visibility map stays fresh.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUEUE_COLUMNS = [
    "claimed_by",  # first: the held index has it as its key
    "process_key",
    "task_name",
    "submitted_at",
    "instance_id",
    "unit_id",
    "agency_id",
    "member_id",
]
OPEN_QUEUES = {
    "ix_user_tasks_open_role": ["role"],
    "ix_user_tasks_open_agency": ["role", "agency_id"],
    "ix_user_tasks_open_unit": ["role", "unit_id"],
}
# index-only scans skip the heap only on pages the visibility map marks all-visible, so
# PostgreSQL vacuums the (small, often updated) queue table after 2% of it changed, not 20%
AUTOVACUUM = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor")
HELD = "state = 'open' AND claimed_by IS NOT NULL"
# the expression service.db.search.last_four() writes, so the planners match it
LAST_FOUR = "substr(id_number, length(id_number) - 3)"


def _from_instance(column: str) -> str:
    return f"(SELECT p.{column} FROM process_instances p WHERE p.id = user_tasks.instance_id)"


def upgrade() -> None:
    with op.batch_alter_table("user_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_user_tasks_queue_unit")
        batch_op.drop_index("ix_user_tasks_queue_agency")
        batch_op.drop_index("ix_user_tasks_claimed")
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE user_tasks SET "
        f"submitted_at = {_from_instance('submitted_at')}, "
        f"unit_id = {_from_instance('unit_id')}, "
        f"agency_id = {_from_instance('agency_id')}"
    )
    with op.batch_alter_table("user_tasks", schema=None) as batch_op:
        batch_op.alter_column("submitted_at", existing_type=sa.DateTime(), nullable=False)
    for name, scope in OPEN_QUEUES.items():
        op.create_index(
            name,
            "user_tasks",
            [*scope, "created_at", "id"],
            postgresql_where=sa.text("state = 'open'"),
            sqlite_where=sa.text("state = 'open'"),
            postgresql_include=[c for c in QUEUE_COLUMNS if c not in scope],
        )
    op.create_index(
        "ix_user_tasks_held",
        "user_tasks",
        ["claimed_by", "created_at", "id"],
        postgresql_where=sa.text(HELD),
        sqlite_where=sa.text(HELD),
        postgresql_include=["role", *QUEUE_COLUMNS[1:]],
    )
    op.create_index(
        "ix_user_tasks_done",
        "user_tasks",
        ["completed_by", "completed_at", "id"],
        postgresql_where=sa.text("completed_by IS NOT NULL"),
        sqlite_where=sa.text("completed_by IS NOT NULL"),
        postgresql_include=["role", "state", *QUEUE_COLUMNS],
    )
    op.create_index(
        "ix_instance_persons_instance_name", "instance_persons", ["instance_id", "name"]
    )
    op.create_index("ix_instance_persons_id_last4", "instance_persons", [sa.text(LAST_FOUR)])
    if op.get_bind().dialect.name == "postgresql":
        settings = ", ".join(f"{name} = 0.02" for name in AUTOVACUUM)
        op.execute(f"ALTER TABLE user_tasks SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE user_tasks RESET ({', '.join(AUTOVACUUM)})")
    op.drop_index("ix_instance_persons_id_last4", table_name="instance_persons")
    op.drop_index("ix_instance_persons_instance_name", table_name="instance_persons")
    op.drop_index("ix_user_tasks_done", table_name="user_tasks")
    op.drop_index("ix_user_tasks_held", table_name="user_tasks")
    for name in OPEN_QUEUES:
        op.drop_index(name, table_name="user_tasks")
    # back to "the organisation that may act": only the scoping role's column is kept
    op.execute(
        "UPDATE user_tasks SET "
        "unit_id = CASE WHEN role = 'unit_admin' THEN unit_id END, "
        "agency_id = CASE WHEN role = 'agency_reviewer' THEN agency_id END"
    )
    with op.batch_alter_table("user_tasks", schema=None) as batch_op:
        batch_op.drop_column("submitted_at")
        batch_op.create_index("ix_user_tasks_claimed", ["claimed_by", "state"])
        batch_op.create_index("ix_user_tasks_queue_agency", ["role", "state", "agency_id", "id"])
        batch_op.create_index("ix_user_tasks_queue_unit", ["role", "state", "unit_id", "id"])
