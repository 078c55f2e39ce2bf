"""开票记录 keeps the name a document was issued to: `bill_receipts.payer_name`

A unit renamed after finance issued its 电子发票 or 电子财政收据 (单位名称变更) kept its old
name on the paper document, but 开票记录 and its export read the unit's current name, so
the record no longer matched the document. A confirmation now writes the unit's name as it
is then; documents registered before this revision have none (NULL) and show the unit's
current name, as before. Going back drops the column.

Revision ID: 0038
Revises: 0037
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bill_receipts") as batch:
        batch.add_column(sa.Column("payer_name", sa.String(200), nullable=True))


def downgrade() -> None:
    # SQLite rebuilds the table; its foreign keys' tables need no reflecting (accounts has an
    # expression index SQLAlchemy cannot reflect, and says so)
    with op.batch_alter_table("bill_receipts", reflect_kwargs={"resolve_fks": False}) as batch:
        batch.drop_column("payer_name")
