"""An Idempotency-Key replays only the request it came with

A start's row keeps the key, and now also a digest (SHA-256) of the form data sent with it,
so that the same key sent for another business type or with other data is refused instead
of answering with the first form. Forms saved before have no digest: their key is still
tied to their business type. Going back drops the column.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("idempotency_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("idempotency_digest")
