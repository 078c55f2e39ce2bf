"""单位信息 (manual 3.15): a unit's 工商信息 and its qualifications (资质), kept by its admins.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("registration", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("qualifications", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("qualifications")
        batch.drop_column("registration")
