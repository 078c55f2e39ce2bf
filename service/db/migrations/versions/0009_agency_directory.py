"""服务机构信息: each agency's address, phone, QQ work group and website (manual 四.4).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("address", 200),
    ("phone", 100),
    ("qq_group", 20),
    ("website", 200),
)


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        for name, _length in reversed(COLUMNS):
            batch.drop_column(name)
