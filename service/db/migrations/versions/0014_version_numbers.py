"""Versions numbered per process key (1, 2, 3 …) and who deployed each.

Existing versions are numbered in the order they were recorded.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("definition_versions") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("deployed_by", sa.String(200), nullable=True))
    op.execute(
        """
        UPDATE definition_versions SET number = (
            SELECT COUNT(*) FROM definition_versions AS earlier
            WHERE earlier.process_key = definition_versions.process_key
              AND earlier.id <= definition_versions.id
        ), deployed_by = '服务器启动'
        """
    )
    with op.batch_alter_table("definition_versions") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            "uq_definition_versions_key_number", ["process_key", "number"]
        )


def downgrade() -> None:
    with op.batch_alter_table("definition_versions") as batch:
        batch.drop_constraint("uq_definition_versions_key_number", type_="unique")
        batch.drop_column("deployed_by")
        batch.drop_column("number")
