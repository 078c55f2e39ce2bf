"""A receipt number (票号) is one in any letter case: an index on upper(receipt_number)

Finance's check that another form's bill holds a number, and the 缴费单 and 开票记录
searches, now compare `upper(bill_receipts.receipt_number)` (numbers stay as typed), which
the plain index on the column cannot serve. An index on the expression, on PostgreSQL and
SQLite alike, keeps those reads an index lookup. Going back drops the index.

Revision ID: 0039
Revises: 0038
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

INDEX = "ix_bill_receipts_receipt_number_upper"


def upgrade() -> None:
    op.create_index(INDEX, "bill_receipts", [sa.text("upper(receipt_number)")])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="bill_receipts")
