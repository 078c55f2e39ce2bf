"""A done list's name-search total counted form by form

A name search of a done list counted its total by walking every task the caller had
completed, newest first, against the forms the name's persons list: at 100,000 forms the
association's reviewer has 80,000 such tasks, 19 ms to walk for a total of 2,000. The
forms are fewer (2,500 there), so the total is now counted by looking up, for each form,
the caller's completed tasks of it (`queue._counted_by_forms`): this index, the completer
and the form, holding on PostgreSQL the role and the scope columns too, so that each
lookup reads nothing else. A completion writes one index entry more.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NAME = "ix_user_tasks_completed_forms"
COMPLETED = "state = 'completed'"


def upgrade() -> None:
    op.create_index(
        NAME,
        "user_tasks",
        ["completed_by", "instance_id"],
        postgresql_where=sa.text(COMPLETED),
        sqlite_where=sa.text(COMPLETED),
        postgresql_include=["role", "unit_id", "agency_id", "member_id"],
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="user_tasks")
