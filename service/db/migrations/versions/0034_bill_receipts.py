"""A bill's documents apart: one row per receipt finance issued

A bill that carries both a support fee and a membership fee (an education form with a
lapsed membership's fee added) gets two documents, each with its own number and date: an
电子发票 for the support fees and an 电子财政收据 for the membership fees (manual §3.5).
Each document is a row of `bill_receipts`, with the 票据代码 and 票据编码 the 开票记录
shows. Bills confirmed before keep their one receipt: each becomes one row of the bill's
whole amount, named and typed as the bill was (票据名称 "电子发票、电子财政收据" included),
so 开票记录 and its export show them as they did. Going back drops the table (the bills
still hold their first document's number and date).

Revision ID: 0034
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bill_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "bill_id",
            sa.Integer(),
            sa.ForeignKey("bills.id", name="fk_bill_receipts_bill_id_bills"),
            nullable=False,
        ),
        sa.Column("receipt_type", sa.String(20), nullable=False),
        sa.Column("fee_kind", sa.String(20), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("receipt_number", sa.String(50), nullable=True),
        sa.Column("receipt_code", sa.String(50), nullable=True),
        sa.Column("receipt_serial", sa.String(50), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bill_receipts"),
    )
    op.create_index("ix_bill_receipts_bill_id", "bill_receipts", ["bill_id"])
    op.create_index("ix_bill_receipts_receipt_number", "bill_receipts", ["receipt_number"])
    op.create_index("ix_bill_receipts_receipt_date", "bill_receipts", ["receipt_date"])
    op.execute(
        "INSERT INTO bill_receipts (bill_id, receipt_type, fee_kind, amount, receipt_number, "
        "receipt_date) SELECT id, receipt_type, kind, amount, receipt_number, receipt_date "
        "FROM bills WHERE status = 'confirmed' AND receipt_date IS NOT NULL ORDER BY id"
    )


def downgrade() -> None:
    op.drop_table("bill_receipts")
