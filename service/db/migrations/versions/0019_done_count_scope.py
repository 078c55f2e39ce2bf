"""A done list's total counted from the narrow index alone, for every role

The narrow partial index of completed tasks (0008) had the completer, the role, the time
and the id: the association's done total was counted from it alone, but an agency's, a
unit's or a member's list also keeps to its agency, unit or member, which the index
lacked, so PostgreSQL counted those from the wide covering index, filtering each entry.
On PostgreSQL the index now carries the scope columns (INCLUDE), and is built under a
new name before the old one goes, so the lists are never without it. SQLite has no
INCLUDE: its index stays as it was.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

NAME = "ix_user_tasks_completed"
BUILDING = "ix_user_tasks_completed_next"
KEYS = ["completed_by", "role", "completed_at", "id"]
SCOPE = ["unit_id", "agency_id", "member_id"]
COMPLETED = "state = 'completed'"


def _replace(include: list[str]) -> None:
    op.create_index(
        BUILDING,
        "user_tasks",
        KEYS,
        postgresql_where=sa.text(COMPLETED),
        postgresql_include=include,
    )
    op.drop_index(NAME, table_name="user_tasks")
    op.execute(f"ALTER INDEX {BUILDING} RENAME TO {NAME}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace(SCOPE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _replace([])
