"""注师继教 batches record the Wednesday publication and the Friday opening (manual 2.11.2.2).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cpd_batches") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "published_by",
                sa.Integer(),
                sa.ForeignKey("accounts.id", name="fk_cpd_batches_published_by"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("opened_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "opened_by",
                sa.Integer(),
                sa.ForeignKey("accounts.id", name="fk_cpd_batches_opened_by"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("cpd_batches") as batch:
        batch.drop_column("opened_by")
        batch.drop_column("opened_at")
        batch.drop_column("published_by")
        batch.drop_column("published_at")
